package resilience

import (
	"context"
	"sync"
	"time"

	"github.com/jetjobs/jetjobs/jobs"
)

// timeout cancels the stage's context after the job's stage timeout
// (JobOptions.StageTimeout, else StageTimeout) and answers at once with a
// timeout error, even if the stage method ignores its context; its late
// result is dropped.
//
// The stage runs on its own goroutine (that is what lets the call answer
// while a stage that ignores its context runs on), under a context of the
// call's own (timedCall) that does what context.WithTimeout's would, in
// one allocation with the rest of the call instead of five.
func (p *Policies) timeout(next jobs.Handler) jobs.Handler {
	return func(ctx context.Context, inv *jobs.Invocation) (*jobs.Response, error) {
		limit := p.cfg.StageTimeout
		if d := inv.Job.Options.StageTimeout; d > 0 {
			limit = d
		}
		c := newTimedCall(ctx, limit, inv)
		go c.run(next)
		for {
			select {
			case <-c.wake:
			case <-ctx.Done():
				// The caller went away (or its own, earlier deadline
				// passed): the stage's context ends with it.
				c.cancel(ctx.Err())
				return nil, ctx.Err()
			}
			c.mu.Lock()
			returned, ctxErr := c.returned, c.ctxErr
			c.mu.Unlock()
			switch {
			case returned:
				c.cancel(context.Canceled) // the stage is over: its context too
				if c.stageErr != nil && ctxErr == context.DeadlineExceeded && ctx.Err() == nil {
					return c.resp, timeoutError(inv, limit)
				}
				return c.resp, c.stageErr
			case ctxErr != nil:
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				return nil, timeoutError(inv, limit)
			}
		}
	}
}

// timedCall is one stage call under a timeout, and the context.Context the
// stage gets: it has the deadline, ends when the deadline passes, when the
// caller's context ends while the call waits, or when the stage has
// returned (as a context.WithTimeout cancelled on return would), and reads
// the caller's values. It implements the AfterFunc method the context
// package looks for, so a context derived from it is cancelled with it
// without a goroutine of its own.
//
// The stage may outlive the call (it can ignore its context), while the
// retry outside rewrites inv.Request.Attempt for the next attempt, so the
// stage gets its own copy of the invocation and request.
type timedCall struct {
	parent   context.Context
	deadline time.Time
	timer    *time.Timer
	wake     chan struct{} // the stage returned or the deadline passed; capacity 1, the caller reads the state

	mu       sync.Mutex
	done     chan struct{} // made when first asked for
	ctxErr   error         // set once: the context is done
	afters   map[*afterFunc]struct{}
	returned bool // resp and stageErr are set
	resp     *jobs.Response
	stageErr error

	inv jobs.Invocation
	req jobs.Request
}

var _ context.Context = (*timedCall)(nil)

type afterFunc struct{ f func() }

// closedChan is the Done of a context that ended before anyone asked.
var closedChan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

func newTimedCall(ctx context.Context, limit time.Duration, inv *jobs.Invocation) *timedCall {
	c := &timedCall{parent: ctx, deadline: time.Now().Add(limit), wake: make(chan struct{}, 1), inv: *inv}
	if inv.Request != nil {
		c.req = *inv.Request
		c.inv.Request = &c.req
	}
	if d, ok := ctx.Deadline(); !ok || !d.Before(c.deadline) {
		// An earlier deadline of the caller's is the caller's to enforce
		// (the call sees its context end), as context.WithDeadline leaves it.
		c.mu.Lock() // cancel reads timer, and the timer may fire before AfterFunc returns
		c.timer = time.AfterFunc(limit, c.expire)
		c.mu.Unlock()
	}
	return c
}

func (c *timedCall) run(next jobs.Handler) {
	resp, err := next(c, &c.inv)
	c.mu.Lock()
	c.resp, c.stageErr, c.returned = resp, err, true
	c.mu.Unlock()
	c.signal()
}

func (c *timedCall) expire() {
	c.cancel(context.DeadlineExceeded)
	c.signal()
}

func (c *timedCall) signal() {
	select {
	case c.wake <- struct{}{}:
	default: // a signal is already waiting: the caller reads the state anyway
	}
}

// cancel ends the context with err, once, and runs what AfterFunc
// registered (each cancels a derived context: quick, never blocking).
func (c *timedCall) cancel(err error) {
	c.mu.Lock()
	if c.ctxErr != nil {
		c.mu.Unlock()
		return
	}
	c.ctxErr = err
	if c.timer != nil {
		c.timer.Stop()
	}
	if c.done != nil {
		close(c.done)
	}
	afters := c.afters
	c.afters = nil
	c.mu.Unlock()
	for a := range afters {
		a.f()
	}
}

// Deadline is the stage's deadline, or the caller's if that is earlier.
func (c *timedCall) Deadline() (time.Time, bool) {
	if d, ok := c.parent.Deadline(); ok && d.Before(c.deadline) {
		return d, true
	}
	return c.deadline, true
}

// Done is closed when the context ends.
func (c *timedCall) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		if c.ctxErr != nil {
			return closedChan
		}
		c.done = make(chan struct{})
	}
	return c.done
}

// Err is context.DeadlineExceeded after the deadline, the caller's error if
// the caller's context ended first, context.Canceled once the stage has
// returned; nil before.
func (c *timedCall) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ctxErr
}

// Value is the caller's.
func (c *timedCall) Value(key any) any { return c.parent.Value(key) }

// AfterFunc calls f once the context ends (at once, on its own goroutine,
// if it has); stop unregisters f and reports whether it did so before f
// ran. The context package uses it to cancel contexts derived from this
// one.
func (c *timedCall) AfterFunc(f func()) (stop func() bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctxErr != nil {
		go f()
		return func() bool { return false }
	}
	a := &afterFunc{f: f}
	if c.afters == nil {
		c.afters = map[*afterFunc]struct{}{}
	}
	c.afters[a] = struct{}{}
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		_, ok := c.afters[a]
		delete(c.afters, a)
		return ok
	}
}

// String names the context as context.WithDeadline's would.
func (c *timedCall) String() string {
	return "resilience.timeout(" + c.deadline.String() + ")"
}
