package bus_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetjobs/jetjobs/bus"
)

// A JOBS_TIMERS made by an engine before issue 13 (timers on P.timer.<job>)
// is updated in place to one message per subject; timers on the new
// subjects are then found (Armed), re-armed without a second message
// (Rearm), and a plain Arm inside the duplicate window stays one.
func TestTimersOnePerExecution(t *testing.T) {
	t.Parallel()
	_, _, js := startAndConnect(t)
	ctx := context.Background()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: bus.StreamTimers, Subjects: []string{"jobs.timer.>"},
		Retention: jetstream.WorkQueuePolicy, Duplicates: time.Minute}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "jobs.timer.old", nil); err != nil {
		t.Fatal(err)
	}
	if err := bus.EnsureStreams(ctx, js, bus.StreamsConfig{}); err != nil {
		t.Fatalf("update in place: %v", err)
	}
	st, err := js.Stream(ctx, bus.StreamTimers)
	if err != nil {
		t.Fatal(err)
	}
	if c := st.CachedInfo().Config; c.MaxMsgsPerSubject != 1 {
		t.Fatalf("max msgs per subject %d, want 1", c.MaxMsgsPerSubject)
	}
	timers := bus.NewTimers(js, "jobs")
	for _, tc := range []struct {
		name   string
		do     func() error
		id     string
		armed  bool
		stored uint64 // messages on the execution's subject after
	}{
		{"none yet", func() error { return nil }, "e-1", false, 0},
		{"armed", func() error { return timers.Arm(ctx, "j", "e-1", time.Hour) }, "e-1", true, 1},
		{"armed again in the window", func() error { return timers.Arm(ctx, "j", "e-1", time.Hour) }, "e-1", true, 1},
		{"re-armed", func() error { return timers.Rearm(ctx, "j", "e-1", time.Hour) }, "e-1", true, 1},
		{"another execution", func() error { return timers.Rearm(ctx, "j", "e-2", time.Hour) }, "e-2", true, 1},
	} {
		if err := tc.do(); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		armed, err := timers.Armed(ctx, "j", tc.id)
		if err != nil || armed != tc.armed {
			t.Fatalf("%s: armed %t, %v; want %t", tc.name, armed, err, tc.armed)
		}
		subj := bus.Subjects{Prefix: "jobs"}.TimerOf("j", tc.id)
		info, err := st.Info(ctx, jetstream.WithSubjectFilter(subj))
		if err != nil {
			t.Fatal(err)
		}
		if n := info.State.Subjects[subj]; n != tc.stored {
			t.Fatalf("%s: %d timer messages, want %d", tc.name, n, tc.stored)
		}
	}
}
