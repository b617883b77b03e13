package bus_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/jobs"
	"github.com/jetjobs/jetjobs/jobs/jobstest"
)

// failingStore fails Create as its plan says for each call (nil: store).
type failingStore struct {
	*jobstest.MemoryStore
	calls atomic.Int32
	plan  func(call int) error
}

func (s *failingStore) Create(ctx context.Context, e *jobs.Execution) (uint64, error) {
	if err := s.plan(int(s.calls.Add(1))); err != nil {
		return 0, err
	}
	return s.MemoryStore.Create(ctx, e)
}

type echoJob struct{}

func (echoJob) Execute(context.Context, *jobs.Request) (*jobs.Response, error) {
	return jobs.Completed("ok", nil), nil
}

// workerOn starts a server, the streams and a worker with max-deliver 2
// whose runtime stores records in store.
func workerOn(t *testing.T, store jobs.StateStore, cfg bus.WorkerConfig) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	_, nc, js := startAndConnect(t)
	ctx := context.Background()
	if err := bus.EnsureStreams(ctx, js, bus.StreamsConfig{}); err != nil {
		t.Fatal(err)
	}
	reg := jobs.NewRegistry()
	reg.MustRegister("echo", echoJob{})
	rt := jobs.NewRuntime(reg, store, bus.NewEventPublisher(js, "jobs", ""), bus.NewTimers(js, "jobs"), jobs.RuntimeConfig{})
	w := bus.NewWorker(nc, js, rt, cfg, zerolog.Nop())
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Stop(context.Background()) })
	return nc, js
}

func streamMsgs(t *testing.T, js jetstream.JetStream, name string) uint64 {
	t.Helper()
	s, err := js.Stream(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

// An outage (a port error, however many deliveries it lasts) is waited
// out; only poison (an engine error, a panic, a message too large) counts
// towards max-deliver and is dead-lettered.
func TestOutagesWaitedOutPoisonDeadLettered(t *testing.T) {
	t.Parallel()
	tooLarge := &jetstream.APIError{Code: 400, ErrorCode: jetstream.JSErrCodeStreamMessageExceedsMaximum, Description: "message size exceeds maximum allowed"}
	cases := []struct {
		name       string
		plan       func(call int) error
		wantReason string // "" = processed, not dead-lettered
	}{
		{"unavailable 5 times", func(n int) error {
			if n <= 5 {
				return jobs.Errorf(jobs.CodeUnavailable, "state bucket unavailable")
			}
			return nil
		}, ""},
		{"port timeout 4 times", func(n int) error {
			if n <= 4 {
				return fmt.Errorf("kv put: %w", nats.ErrTimeout)
			}
			return nil
		}, ""},
		{"revision conflicts", func(n int) error {
			if n <= 3 {
				return fmt.Errorf("kv: %w", errors.New("wrong last sequence"))
			}
			return nil
		}, ""},
		{"internal error", func(int) error { return jobs.Errorf(jobs.CodeInternal, "record cannot be encoded") },
			"failed on 2 deliveries: record cannot be encoded"},
		{"panic", func(int) error { panic("store bug") }, "failed on 2 deliveries: panic: store bug"},
		{"too large", func(int) error { return tooLarge }, "message size exceeds maximum allowed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			store := &failingStore{MemoryStore: jobstest.NewMemoryStore(), plan: c.plan}
			nc, js := workerOn(t, store, bus.WorkerConfig{MaxDeliver: 2,
				RedeliveryBackoff: []time.Duration{20 * time.Millisecond, 50 * time.Millisecond}})
			ctx := context.Background()
			cons, err := js.Consumer(ctx, bus.StreamCommands, bus.CommandConsumer("echo"))
			if err != nil {
				t.Fatal(err)
			}
			if md := cons.CachedInfo().Config.MaxDeliver; md != -1 {
				t.Fatalf("command consumer max-deliver %d, want -1 (unlimited)", md)
			}
			client := bus.NewClient(nc, js)
			t.Cleanup(client.Close)
			id, err := client.Send(ctx, "echo", jobs.StageExecute, &jobs.Request{}, bus.SendOptions{})
			if err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(15 * time.Second)
			if c.wantReason == "" {
				for {
					if _, _, err := store.MemoryStore.Get(ctx, "echo", id); err == nil && streamMsgs(t, js, bus.StreamCommands) == 0 {
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("command not processed after %d store calls", store.calls.Load())
					}
					time.Sleep(20 * time.Millisecond)
				}
				if n := streamMsgs(t, js, bus.StreamDLQ); n != 0 {
					t.Fatalf("%d dead letters, want 0", n)
				}
				return
			}
			dlq, err := js.OrderedConsumer(ctx, bus.StreamDLQ, jetstream.OrderedConsumerConfig{})
			if err != nil {
				t.Fatal(err)
			}
			msg, err := dlq.Next(jetstream.FetchMaxWait(time.Until(deadline)))
			if err != nil {
				t.Fatalf("no dead letter: %v", err)
			}
			if r := msg.Headers().Get(bus.HeaderDLQReason); !strings.Contains(r, c.wantReason) {
				t.Fatalf("reason %q, want %q", r, c.wantReason)
			}
			for time.Now().Before(deadline) && streamMsgs(t, js, bus.StreamCommands) != 0 {
				time.Sleep(20 * time.Millisecond)
			}
			if n := streamMsgs(t, js, bus.StreamCommands); n != 0 {
				t.Fatalf("dead-lettered command still in the command stream (%d)", n)
			}
		})
	}
}
