package jetjobs_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetjobs/jetjobs"
	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/jetjobstest"
	"github.com/jetjobs/jetjobs/jobs"
)

// A live execution whose CHECK timer is lost gets its clock back from the
// timer reconciler: re-armed while its deadline is ahead (it then ends as
// the job says), or ended TIMED_OUT by the reconciler itself once its
// deadline (plus max-check-interval) has passed.
func TestReconcilerGivesALostTimerBack(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name           string
		timeout        time.Duration // the job's deadline
		after          time.Duration // the job completes once this has passed
		reconcileAfter time.Duration // first reconciliation pass
		wantEvent      string
		wantStatus     jobs.Status
		wantMarked     bool // TerminalEventSent: the reconciler ended it, not the timer
		// planted: the record is written with its deadline an hour ago and
		// no timer at all (an engine that died between the two writes),
		// rather than started and its timer purged, which a loaded machine
		// may do only after the timer has already timed it out.
		planted bool
	}{
		// The first pass comes 3s after start-up: the START and the purge
		// must be done by then (a loaded machine took over 300ms), as only
		// that pass runs (the interval is an hour).
		{"re-armed, completes", time.Minute, time.Second, 3 * time.Second, jobs.EventCompleted, jobs.StatusCompleted, false, false},
		{"re-armed, times out", 5 * time.Second, time.Hour, 3 * time.Second, jobs.EventFailed, jobs.StatusTimedOut, false, false},
		{"past its deadline: ended by the reconciler", time.Minute, time.Hour, 300 * time.Millisecond, jobs.EventFailed, jobs.StatusTimedOut, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var checks atomic.Int32
			h := jetjobstest.New(t, func(r *jobs.Registry) {
				r.MustRegister("lossy", &clockJob{after: tc.after, checks: &checks}, jobs.WithTimeout(tc.timeout))
			}, jetjobstest.WithConfig(func(c *jetjobs.Config) {
				c.Orchestration.CheckInterval = 50 * time.Millisecond
				c.Orchestration.TimerReconcileInterval = time.Hour // only the first pass counts here
			}), jetjobstest.WithEngineOptions(jetjobs.WithReconcileAfter(tc.reconcileAfter)))
			var id string
			if tc.planted {
				id = plantLostExecution(t, h, "lossy")
			} else {
				id = startAndLoseTimer(t, h, "lossy")
			}
			ev := h.WaitEvent(t, "lossy", id, tc.wantEvent)
			if ev.Data.Status != tc.wantStatus {
				t.Fatalf("event %+v, want status %s", ev.Data, tc.wantStatus)
			}
			// The flag, if any, is stored right after the event's ack.
			for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				exec := h.Execution(t, "lossy", id)
				if exec.Status == tc.wantStatus && exec.TerminalEventSent == tc.wantMarked {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("record %s terminalEventSent=%t, want %s %t", exec.Status, exec.TerminalEventSent, tc.wantStatus, tc.wantMarked)
				}
			}
			if n := h.CountEvents(t, h.Subjects.Event("lossy", tc.wantEvent), func(e jetjobstest.Event) bool {
				return e.Data.ExecutionID == id
			}); n != 1 {
				t.Fatalf("%d %s events, want 1", n, tc.wantEvent)
			}
		})
	}
}

// startAndLoseTimer starts an execution and purges its CHECK timer, as a
// dead-lettered arm or a purge would.
func startAndLoseTimer(t *testing.T, h *jetjobstest.Harness, job string) string {
	t.Helper()
	resp := h.Call(t, job, jobs.StageStart, &jobs.Request{})
	if !resp.Success {
		t.Fatalf("start: %+v", resp)
	}
	// Lose the timer, as a dead-lettered arm or a purge would.
	ctx, cancel := context.WithTimeout(context.Background(), jetjobstest.DefaultTimeout)
	defer cancel()
	st, err := h.JS.Stream(ctx, bus.StreamTimers)
	if err != nil {
		t.Fatal(err)
	}
	subj := h.Subjects.TimerOf(job, resp.ExecutionID)
	if _, err := st.GetLastMsgForSubject(ctx, subj); err != nil {
		t.Fatalf("timer of a new execution on %s: %v", subj, err)
	}
	if err := st.Purge(ctx, jetstream.WithPurgeSubject(subj)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.GetLastMsgForSubject(ctx, subj); !errors.Is(err, jetstream.ErrMsgNotFound) {
		t.Fatalf("timer still there after the purge: %v", err)
	}
	return resp.ExecutionID
}

// plantLostExecution writes a RUNNING record whose deadline passed an hour
// ago and arms no timer.
func plantLostExecution(t *testing.T, h *jetjobstest.Harness, job string) string {
	t.Helper()
	now := time.Now().UTC()
	exec := &jobs.Execution{ExecutionID: jobs.NewExecutionID(), JobType: job, Mode: "async", Status: jobs.StatusRunning,
		LastStage: jobs.StageStart, CreatedAt: now.Add(-2 * time.Hour), UpdatedAt: now.Add(-2 * time.Hour),
		Deadline: now.Add(-time.Hour)}
	ctx, cancel := context.WithTimeout(context.Background(), jetjobstest.DefaultTimeout)
	defer cancel()
	if _, err := h.Engine.State().Create(ctx, exec); err != nil {
		t.Fatal(err)
	}
	return exec.ExecutionID
}

// A timer armed by an engine before issue 13, on P.timer.<job> with the
// execution id in a header, still drives its execution.
func TestOlderTimerSubjectStillTicks(t *testing.T) {
	t.Parallel()
	var checks atomic.Int32
	h := jetjobstest.New(t, func(r *jobs.Registry) {
		r.MustRegister("older", &clockJob{after: 200 * time.Millisecond, checks: &checks})
	}, jetjobstest.WithEngineOptions(jetjobs.WithReconcileAfter(time.Hour)))
	resp := h.Call(t, "older", jobs.StageStart, &jobs.Request{})
	ctx, cancel := context.WithTimeout(context.Background(), jetjobstest.DefaultTimeout)
	defer cancel()
	st, err := h.JS.Stream(ctx, bus.StreamTimers)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Purge(ctx, jetstream.WithPurgeSubject(h.Subjects.TimerOf("older", resp.ExecutionID))); err != nil {
		t.Fatal(err)
	}
	msg := nats.NewMsg(h.Subjects.Timer("older"))
	msg.Header.Set("Jobs-Execution-Id", resp.ExecutionID)
	if _, err := h.JS.PublishMsg(ctx, msg); err != nil {
		t.Fatal(err)
	}
	h.WaitEvent(t, "older", resp.ExecutionID, jobs.EventCompleted)
}
