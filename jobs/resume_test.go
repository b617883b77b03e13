package jobs_test

import (
	"context"
	"slices"
	"testing"

	"github.com/jetjobs/jetjobs/jobs"
)

// startsOnly answers STARTED to START and RUNNING to CHECK.
type startsOnly struct{ jobs.AsyncDefaults }

func (startsOnly) Start(context.Context, *jobs.Request) (*jobs.Response, error) {
	return jobs.Started("started"), nil
}
func (startsOnly) Check(context.Context, *jobs.Request) (*jobs.Response, error) {
	return jobs.Running(50, "half"), nil
}
func (startsOnly) Stop(context.Context, *jobs.Request) (*jobs.Response, error) {
	return &jobs.Response{Success: true}, nil
}

// A replayed command resumes its existing execution: a terminal one whose
// events were lost gets them, a live one its timer; anything else is left
// alone.
func TestResume(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		job        any
		failFirst  int    // publishes the first delivery loses
		replayedBy string // "": not a replay
		wantEvents []string
		wantArms   int
	}{
		{"terminal, its events lost", instant{}, 1, "ops",
			[]string{jobs.EventStarted, jobs.EventCompleted}, 0},
		{"live, timer re-armed", startsOnly{}, 0, "ops", []string{jobs.EventStarted}, 2},
		{"not a replay", instant{}, 1, "", nil, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			rt, store, ev, tm := newRuntime(t, c.job)
			ctx := context.Background()
			ev.failNext = c.failFirst
			_, err := rt.Handle(ctx, &jobs.Command{ID: "cmd-1", JobType: "j", Stage: jobs.StageStart, Delivery: 1})
			if (err != nil) != (c.failFirst > 0) {
				t.Fatalf("first delivery: %v", err)
			}
			replay := &jobs.Command{ID: "replay-1", JobType: "j", Stage: jobs.StageStart, Delivery: 1,
				Request: jobs.Request{ExecutionID: "cmd-1"}, ReplayedBy: c.replayedBy, ReplayOf: "7"}
			if _, err := rt.Handle(ctx, replay); err != nil {
				t.Fatal(err)
			}
			if err := rt.Resume(ctx, replay); err != nil {
				t.Fatal(err)
			}
			if err := rt.Resume(ctx, replay); err != nil { // twice: nothing more
				t.Fatal(err)
			}
			if got := ev.types(); !slices.Equal(got, c.wantEvents) {
				t.Fatalf("events %v, want %v", got, c.wantEvents)
			}
			tm.mu.Lock()
			arms := tm.armed["j.cmd-1"]
			tm.mu.Unlock()
			if c.wantArms > 0 && arms < c.wantArms {
				t.Fatalf("timer armed %d times, want %d or more", arms, c.wantArms)
			}
			exec, _, err := store.Get(ctx, "j", "cmd-1")
			if err != nil || exec.TerminalEventSent != (len(c.wantEvents) == 2) {
				t.Fatalf("record %+v %v: the terminal flag is stored once the event is", exec, err)
			}
		})
	}
}
