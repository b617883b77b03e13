package bus_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/internal/testutil"
	"github.com/jetjobs/jetjobs/jobs"
	"github.com/jetjobs/jetjobs/jobs/jobstest"
)

// The work of an execution queued twice (a redelivered START) is stored
// once; JOBS_WORK is a bounded work queue; Cancel with nobody holding the
// work returns at once (no responders) without an error.
func TestWorkQueueEnqueuesOnce(t *testing.T) {
	t.Parallel()
	_, nc, js := startAndConnect(t)
	ctx := context.Background()
	if err := bus.EnsureStreams(ctx, js, bus.StreamsConfig{WorkMaxBytes: 1 << 20}); err != nil {
		t.Fatal(err)
	}
	q := bus.NewWorkQueue(nc, js, "jobs", time.Second)
	item := jobs.WorkItem{JobType: "report", ExecutionID: "e1", Parameters: map[string]any{"month": "2026-11"}}
	for range 2 {
		if err := q.Enqueue(ctx, item); err != nil {
			t.Fatal(err)
		}
	}
	s, err := js.Stream(ctx, bus.StreamWork)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		what      string
		got, want any
	}{
		{"messages", info.State.Msgs, uint64(1)},
		{"retention", info.Config.Retention, jetstream.WorkQueuePolicy},
		{"max bytes", info.Config.MaxBytes, int64(1 << 20)},
		{"subject", info.Config.Subjects[0], "jobs.work.>"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %v, want %v", tt.what, tt.got, tt.want)
		}
	}
	t0 := time.Now()
	if err := q.Cancel(ctx, "report", "e1"); err != nil || time.Since(t0) > 900*time.Millisecond {
		t.Fatalf("Cancel with no holder: %v after %s", err, time.Since(t0))
	}
}

// quickWork completes at once and counts its calls.
type quickWork struct{ runs *atomic.Int32 }

func (w quickWork) Work(context.Context, *jobs.Request, jobs.Progress) (*jobs.Response, error) {
	w.runs.Add(1)
	return jobs.Completed("done", nil), nil
}

// A Work run's writes are pipelined, and the work message is acknowledged
// only once they are all stored: while JOBS_EVENTS refuses JOB_COMPLETED
// (full, discard new) the item is handed back and tried again; once it
// takes it, JOB_COMPLETED is stored once, Work having run once, and the
// item is acknowledged.
func TestWorkRunnerAcksOnlyStoredRuns(t *testing.T) {
	t.Parallel()
	_, nc, js := startAndConnect(t)
	ctx := context.Background()
	if err := bus.EnsureStreams(ctx, js, bus.StreamsConfig{}); err != nil {
		t.Fatal(err)
	}
	runs := &atomic.Int32{}
	reg := jobs.NewRegistry()
	reg.MustRegister("w", quickWork{runs: runs})
	rt := jobs.NewRuntime(reg, &jobstest.MemoryStore{}, bus.NewEventPublisher(js, "jobs", ""), bus.NewTimers(js, "jobs"), jobs.RuntimeConfig{})
	rt.SetWork(bus.NewWorkQueue(nc, js, "jobs", time.Second), jobs.WorkConfig{MaxAttempts: 3})
	events, err := js.Stream(ctx, bus.StreamEvents)
	if err != nil {
		t.Fatal(err)
	}
	setMaxMsgs := func(n int64) {
		t.Helper()
		info, err := events.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		cfg := info.Config
		cfg.MaxMsgs, cfg.Discard = n, jetstream.DiscardNew
		if _, err := js.UpdateStream(ctx, cfg); err != nil {
			t.Fatal(err)
		}
	}
	setMaxMsgs(1) // JOB_STARTED fits, JOB_COMPLETED does not
	r := bus.NewWorkRunner(nc, js, rt, bus.WorkRunnerConfig{ErrorDelay: 20 * time.Millisecond}, zerolog.Nop())
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Stop(context.Background()) })
	if _, err := rt.Handle(ctx, &jobs.Command{ID: "e1", JobType: "w", Stage: jobs.StageStart, Delivery: 1}); err != nil {
		t.Fatal(err)
	}
	cons, err := js.Consumer(ctx, bus.StreamWork, bus.WorkConsumer("w"))
	if err != nil {
		t.Fatal(err)
	}
	consumer := func() *jetstream.ConsumerInfo {
		t.Helper()
		info, err := cons.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return info
	}
	testutil.Eventually(t, "the run whose JOB_COMPLETED was refused handed back", 10*time.Second,
		func() bool { return consumer().NumRedelivered > 0 })
	setMaxMsgs(-1)
	testutil.Eventually(t, "the item acknowledged once its writes were stored", 10*time.Second,
		func() bool { c := consumer(); return c.NumAckPending == 0 && c.NumPending == 0 })
	info, err := events.Info(ctx, jetstream.WithSubjectFilter("jobs.evt.w.JOB_COMPLETED"))
	if err != nil {
		t.Fatal(err)
	}
	if got := info.State.Subjects["jobs.evt.w.JOB_COMPLETED"]; got != 1 || runs.Load() != 1 {
		t.Fatalf("JOB_COMPLETED stored %d times, Work ran %d times; want 1 and 1", got, runs.Load())
	}
}
