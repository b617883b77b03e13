package bus_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/jobs"
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
