package bus_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/jobs"
)

// oldCommands makes the JOBS_COMMANDS of an engine before work-queue
// retention, with a job consumer for job "a".
func oldCommands(t *testing.T, js jetstream.JetStream) jetstream.Consumer {
	t.Helper()
	ctx := context.Background()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: bus.StreamCommands, Subjects: []string{"jobs.cmd.>"},
		Retention: jetstream.LimitsPolicy, MaxAge: 7 * 24 * time.Hour, Duplicates: 2 * time.Minute}); err != nil {
		t.Fatal(err)
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, bus.StreamCommands, jetstream.ConsumerConfig{Durable: bus.CommandConsumer("a"),
		FilterSubject: "jobs.cmd.a.*", AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatal(err)
	}
	return cons
}

func publish(t *testing.T, js jetstream.JetStream, subject, id string) {
	t.Helper()
	m := nats.NewMsg(subject)
	m.Header.Set(nats.MsgIdHdr, id)
	m.Data = []byte(`{}`)
	if _, err := js.PublishMsg(context.Background(), m); err != nil {
		t.Fatal(err)
	}
}

func handle(t *testing.T, cons jetstream.Consumer, n int) {
	t.Helper()
	for range n {
		m, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if err := m.DoubleAck(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCommandStreamMigration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		setup    func(t *testing.T, js jetstream.JetStream)
		wantErr  error
		wantRet  jetstream.RetentionPolicy
		wantMsgs uint64
	}{
		{"no stream: a work queue", func(*testing.T, jetstream.JetStream) {}, nil, jetstream.WorkQueuePolicy, 0},
		{"old stream, every command handled: recreated", func(t *testing.T, js jetstream.JetStream) {
			cons := oldCommands(t, js)
			publish(t, js, "jobs.cmd.a.start", "c1")
			publish(t, js, "jobs.cmd.a.check", "c2")
			handle(t, cons, 2)
		}, nil, jetstream.WorkQueuePolicy, 0},
		{"old stream, a command not yet delivered: refused", func(t *testing.T, js jetstream.JetStream) {
			cons := oldCommands(t, js)
			publish(t, js, "jobs.cmd.a.start", "c1")
			handle(t, cons, 1)
			publish(t, js, "jobs.cmd.a.start", "c2")
		}, bus.ErrCommandsNotMigrated, jetstream.LimitsPolicy, 2},
		{"old stream, a command delivered and not acknowledged: refused", func(t *testing.T, js jetstream.JetStream) {
			cons := oldCommands(t, js)
			publish(t, js, "jobs.cmd.a.start", "c1")
			if _, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second)); err != nil {
				t.Fatal(err)
			}
		}, bus.ErrCommandsNotMigrated, jetstream.LimitsPolicy, 1},
		{"old stream, a command no job consumer reads: refused", func(t *testing.T, js jetstream.JetStream) {
			oldCommands(t, js)
			publish(t, js, "jobs.cmd.b.start", "c1")
		}, bus.ErrCommandsNotMigrated, jetstream.LimitsPolicy, 1},
		{"old stream sealed by an interrupted migration, all handled: recreated", func(t *testing.T, js jetstream.JetStream) {
			cons := oldCommands(t, js)
			publish(t, js, "jobs.cmd.a.start", "c1")
			handle(t, cons, 1)
			s, err := js.Stream(context.Background(), bus.StreamCommands)
			if err != nil {
				t.Fatal(err)
			}
			cfg := s.CachedInfo().Config
			cfg.Sealed = true
			if _, err := js.UpdateStream(context.Background(), cfg); err != nil {
				t.Fatal(err)
			}
		}, nil, jetstream.WorkQueuePolicy, 0},
		{"already a work queue: its commands are kept", func(t *testing.T, js jetstream.JetStream) {
			if err := bus.EnsureStreams(context.Background(), js, bus.StreamsConfig{}); err != nil {
				t.Fatal(err)
			}
			publish(t, js, "jobs.cmd.a.start", "c1")
		}, nil, jetstream.WorkQueuePolicy, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, _, js := startAndConnect(t)
			tt.setup(t, js)
			ctx := context.Background()
			err := bus.EnsureStreams(ctx, js, bus.StreamsConfig{})
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("EnsureStreams: %v, want %v", err, tt.wantErr)
			}
			s, err := js.Stream(ctx, bus.StreamCommands)
			if err != nil {
				t.Fatal(err)
			}
			info, err := s.Info(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if info.Config.Retention != tt.wantRet || info.State.Msgs != tt.wantMsgs || info.Config.Sealed {
				t.Fatalf("retention %v with %d messages (sealed %v), want %v with %d",
					info.Config.Retention, info.State.Msgs, info.Config.Sealed, tt.wantRet, tt.wantMsgs)
			}
			if tt.wantRet != jetstream.WorkQueuePolicy {
				return
			}
			// Dedup still works on the work queue, and an acknowledged
			// command leaves it.
			publish(t, js, "jobs.cmd.z.start", "dup")
			publish(t, js, "jobs.cmd.z.start", "dup")
			cons, err := js.CreateOrUpdateConsumer(ctx, bus.StreamCommands, jetstream.ConsumerConfig{Durable: bus.CommandConsumer("z"),
				FilterSubject: "jobs.cmd.z.*", AckPolicy: jetstream.AckExplicitPolicy})
			if err != nil {
				t.Fatal(err)
			}
			handle(t, cons, 1)
			if info, err = s.Info(ctx); err != nil || info.State.Msgs != tt.wantMsgs {
				t.Fatalf("after a duplicate publish and its ack: %d messages (%v), want %d", info.State.Msgs, err, tt.wantMsgs)
			}
		})
	}
}

// The ids a Client picks are random UUIDs: consecutive ones share no
// prefix longer than chance allows and do not count up, where NUIDs shared
// their first 12 characters.
func TestClientIDsAreRandom(t *testing.T) {
	t.Parallel()
	_, nc, js := startAndConnect(t)
	if err := bus.EnsureStreams(context.Background(), js, bus.StreamsConfig{}); err != nil {
		t.Fatal(err)
	}
	c := bus.NewClient(nc, js)
	defer c.Close()
	var ids []string
	for range 20 {
		id, err := c.Send(context.Background(), "a", jobs.StageStart, &jobs.Request{}, bus.SendOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	for i := 1; i < len(ids); i++ {
		a, b := ids[i-1], ids[i]
		n := 0
		for n < len(a) && a[n] == b[n] {
			n++
		}
		// Random hex digits agree with p=1/16: 6 in a row is ~6e-8.
		if n >= 6 || len(a) != 36 || a[14] != '4' || jobs.ValidateExecutionID(a) != nil {
			t.Fatalf("ids %q then %q: %d characters in common, or not a valid UUID v4 execution id", a, b, n)
		}
	}
}
