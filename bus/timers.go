package bus

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetjobs/jetjobs/jobs"
)

var _ jobs.TimerRepair = (*Timers)(nil)

// timersStream caches the handle of JOBS_TIMERS: looking it up is a
// stream-info request, too much to repeat per execution.
type timersStream struct {
	mu sync.Mutex
	s  jetstream.Stream
}

// Armed reports whether the CHECK timer of an execution is stored: the
// work queue keeps it until the execution ends, so a live execution
// without one has lost its clock (see jobs.Reconciler, which lists them
// all with ArmedSet and asks Armed only about an execution not listed).
func (t *Timers) Armed(ctx context.Context, jobType, executionID string) (bool, error) {
	s, err := t.stream(ctx)
	if err != nil {
		return false, err
	}
	_, err = s.GetLastMsgForSubject(ctx, t.subjects.TimerOf(jobType, executionID))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, jetstream.ErrMsgNotFound):
		return false, nil
	}
	return false, &jobs.Error{Code: jobs.CodeUnavailable, Msg: "look up CHECK timer", Err: err}
}

// Rearm arms a lost timer again: with a dedup id of its own, since the
// first arm's may still be in the duplicate window (the timer was stored,
// then lost). JOBS_TIMERS keeps one message per subject, so if the timer
// was not lost after all, the new one replaces it.
func (t *Timers) Rearm(ctx context.Context, jobType, executionID string, delay time.Duration) error {
	return t.arm(ctx, jobType, executionID, delay, "timer."+jobType+"."+executionID+".re."+strconv.FormatInt(time.Now().UnixNano(), 36))
}

func (t *Timers) stream(ctx context.Context) (jetstream.Stream, error) {
	t.ts.mu.Lock()
	defer t.ts.mu.Unlock()
	if t.ts.s != nil {
		return t.ts.s, nil
	}
	s, err := t.js.Stream(ctx, StreamTimers)
	if err != nil {
		return nil, &jobs.Error{Code: jobs.CodeUnavailable, Msg: "timers stream", Err: err}
	}
	t.ts.s = s
	return s, nil
}
