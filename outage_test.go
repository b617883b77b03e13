package jetjobs_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetjobs/jetjobs"
	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/jetjobstest"
	"github.com/jetjobs/jetjobs/jobs"
)

// runCounter counts the successful runs of a job per execution.
type runCounter struct {
	mu    sync.Mutex
	runs  map[string]int
	first time.Time
}

func (c *runCounter) ran(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.runs == nil {
		c.runs = map[string]int{}
	}
	if c.first.IsZero() {
		c.first = time.Now()
	}
	c.runs[id]++
}

func (c *runCounter) snapshot() (map[string]int, time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.runs))
	for k, v := range c.runs {
		out[k] = v
	}
	return out, c.first
}

// gateJob fails when asked to (to open its breaker) and counts the rest.
type gateJob struct{ c *runCounter }

func (j gateJob) Execute(_ context.Context, req *jobs.Request) (*jobs.Response, error) {
	if fail, _ := req.Parameters["fail"].(bool); fail {
		return nil, errors.New("downstream is down")
	}
	j.c.ran(req.ExecutionID)
	return jobs.Completed("ok", nil), nil
}

func dlqDepth(t *testing.T, h *jetjobstest.Harness) uint64 {
	t.Helper()
	s, err := h.JS.Stream(context.Background(), bus.StreamDLQ)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

// A breaker held open longer than the old ~3 s before dead-lettering
// (5 deliveries 200 ms ... 1.6 s apart; here max-deliver is 2): the
// commands it refuses wait, are never dead-lettered, and each runs once
// when it closes.
func TestBreakerHeldOpenCommandsWait(t *testing.T) {
	t.Parallel()
	runs := &runCounter{}
	h := jetjobstest.New(t, func(r *jobs.Registry) { r.MustRegister("gate", gateJob{c: runs}) },
		jetjobstest.WithConfig(func(c *jetjobs.Config) {
			r := &c.Orchestration.Resiliency
			r.RetryEnabled = false
			r.MinimumNumberOfCalls, r.SlidingWindowSize = 2, 4
			r.WaitDurationInOpenState = 4 * time.Second
			c.NATS.MaxDeliver = 2
			c.NATS.RedeliveryBackoff = []string{"100ms", "300ms", "500ms"}
		}))
	for range 2 {
		if resp := h.Call(t, "gate", jobs.StageExecute, &jobs.Request{Parameters: map[string]any{"fail": true}}); resp.Success {
			t.Fatalf("failing call succeeded: %+v", resp)
		}
	}
	opened := time.Now()
	if resp := h.Call(t, "gate", jobs.StageExecute, &jobs.Request{}); resp.Code != jobs.CodeUnavailable {
		t.Fatalf("breaker not open: %+v", resp)
	}
	ctx := context.Background()
	var ids []string
	for range 10 { // nobody waits for these: refused, they must wait
		id, err := h.Client.Send(ctx, "gate", jobs.StageExecute, &jobs.Request{}, bus.SendOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	waitFor(t, func() bool { got, _ := runs.snapshot(); return len(got) == len(ids) })
	got, first := runs.snapshot()
	if waited := first.Sub(opened); waited < 3*time.Second {
		t.Errorf("first command ran %s after the breaker opened, want the open state (4s) waited out", waited)
	}
	for _, id := range ids {
		if got[id] != 1 {
			t.Errorf("%s ran %d times, want 1", id, got[id])
		}
	}
	if n := dlqDepth(t, h); n != 0 {
		t.Errorf("%d dead letters, want 0", n)
	}
}

// A dead letter drops the original's Nats-* control headers: with
// Nats-Expected-Stream: JOBS_COMMANDS kept, JOBS_DLQ refused the copy and
// the command was retried forever. Both dead-letter paths: the worker's
// (unknown stage) and the sweeper's (unknown job).
func TestDeadLetterDropsNatsHeaders(t *testing.T) {
	t.Parallel()
	h := demoHarness(t)
	cases := []struct {
		subject, dlqSubject, reason string
	}{
		{"jobs.cmd.customer-import.launch", "jobs.dlq.customer-import._unknown", `unknown stage "launch"`},
		{"jobs.cmd.no-such-job.start", "jobs.dlq.no-such-job.start", `unknown job "no-such-job"`},
	}
	ctx := context.Background()
	for i, c := range cases {
		hd := binaryCommand("nh"+string(rune('a'+i)), "JOB_START")
		hd.Set(jetstream.ExpectedStreamHeader, bus.StreamCommands)
		if _, err := h.JS.PublishMsg(ctx, &nats.Msg{Subject: c.subject, Header: hd, Data: []byte(`{}`)}); err != nil {
			t.Fatalf("%s: publish: %v", c.subject, err)
		}
	}
	got := readDLQ(t, h, len(cases))
	for _, c := range cases {
		found := false
		for _, m := range got {
			if m.Subject() != c.dlqSubject {
				continue
			}
			found = true
			if r := m.Headers().Get(bus.HeaderDLQReason); !strings.Contains(r, c.reason) {
				t.Errorf("%s: reason %q, want %q", c.subject, r, c.reason)
			}
			for k := range m.Headers() {
				if strings.HasPrefix(k, "Nats-") && k != "Nats-Msg-Id" {
					t.Errorf("%s: dead letter kept control header %s", c.subject, k)
				}
			}
		}
		if !found {
			t.Errorf("%s: no dead letter on %s", c.subject, c.dlqSubject)
		}
	}
}

// slowStage takes longer than half the ack wait and counts its runs.
type slowStage struct{ c *runCounter }

func (j slowStage) Execute(_ context.Context, req *jobs.Request) (*jobs.Response, error) {
	time.Sleep(600 * time.Millisecond)
	j.c.ran(req.ExecutionID)
	return jobs.Completed("ok", nil), nil
}

// Stages slower than half the ack wait with four times more commands than
// slots: the worker pulls only what it can run, so none is redelivered and
// none dead-lettered.
func TestSlowStagesNoRedelivery(t *testing.T) {
	t.Parallel()
	runs := &runCounter{}
	h := jetjobstest.New(t, func(r *jobs.Registry) { r.MustRegister("slow", slowStage{c: runs}) },
		jetjobstest.WithConfig(func(c *jetjobs.Config) {
			c.NATS.AckWait = time.Second
			c.NATS.CommandConcurrency = 2
			c.Orchestration.Resiliency.TimeoutEnabled = false
		}))
	ctx := context.Background()
	var ids []string
	for range 8 {
		id, err := h.Client.Send(ctx, "slow", jobs.StageExecute, &jobs.Request{}, bus.SendOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	waitFor(t, func() bool { got, _ := runs.snapshot(); return len(got) == len(ids) })
	cons, err := h.JS.Consumer(ctx, bus.StreamCommands, bus.CommandConsumer("slow"))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		info, err := cons.Info(ctx)
		return err == nil && info.NumAckPending == 0 && info.NumPending == 0
	})
	info, err := cons.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.NumRedelivered != 0 {
		t.Errorf("%d commands redelivered, want 0", info.NumRedelivered)
	}
	got, _ := runs.snapshot()
	for _, id := range ids {
		if got[id] != 1 {
			t.Errorf("%s ran %d times, want 1", id, got[id])
		}
	}
	if n := dlqDepth(t, h); n != 0 {
		t.Errorf("%d dead letters, want 0", n)
	}
}
