package resilience

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/jetjobs/jetjobs/jobs"
)

// breaker is one job type's circuit breaker: gobreaker for the states, and
// a count-based window of the last calls for the decision to trip.
type breaker struct {
	cb           *gobreaker.CircuitBreaker[*jobs.Response]
	win          *window
	trips        func() bool  // the window's rates call for opening
	notPermitted atomic.Int64 // calls refused while open
}

// window keeps the outcomes of the last n calls made in the closed state.
type window struct {
	mu          sync.Mutex
	failed      []bool
	slow        []bool
	next, count int
	nFail, nSlw int
}

func newWindow(n int) *window { return &window{failed: make([]bool, n), slow: make([]bool, n)} }

func (w *window) record(failed, slow bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.count == len(w.failed) { // full: the oldest call leaves
		w.nFail -= b2i(w.failed[w.next])
		w.nSlw -= b2i(w.slow[w.next])
	} else {
		w.count++
	}
	w.failed[w.next], w.slow[w.next] = failed, slow
	w.nFail += b2i(failed)
	w.nSlw += b2i(slow)
	w.next = (w.next + 1) % len(w.failed)
}

func (w *window) reset() {
	w.mu.Lock()
	defer w.mu.Unlock()
	clear(w.failed)
	clear(w.slow)
	w.next, w.count, w.nFail, w.nSlw = 0, 0, 0, 0
}

// rates returns the calls in the window and their failure and slow rates in
// percent.
func (w *window) rates() (calls int, failure, slow float64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.count == 0 {
		return 0, 0, 0
	}
	return w.count, 100 * float64(w.nFail) / float64(w.count), 100 * float64(w.nSlw) / float64(w.count)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// errSlow marks a successful call that gobreaker must see as a failure,
// because it only asks ReadyToTrip after a failure: a slow call, or (in the
// closed state) one after which the window's rates call for opening, as
// Resilience4j decides after every call. The caller still gets the response.
var errSlow = errors.New("slow call")

// excluded are outcomes the breaker ignores: the caller's own mistakes, a
// refusal by another policy, a caller that went away.
func excluded(err error) bool {
	if errors.Is(err, context.Canceled) {
		return true
	}
	switch jobs.CodeOf(err) {
	case jobs.CodeInvalidArgument, jobs.CodeInvalidParameter, jobs.CodeNotFound, jobs.CodeConflict,
		jobs.CodeNotReady, jobs.CodeRejected, jobs.CodeUnavailable:
		return true
	}
	return false
}

func (p *Policies) breakerFor(job string) *breaker {
	if b, ok := p.breakerOf.Load(job); ok {
		return b.(*breaker) // every call but a job type's first: no lock shared by all the workers
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if b, ok := p.breakers[job]; ok {
		return b
	}
	b := &breaker{win: newWindow(p.cfg.SlidingWindowSize)}
	b.trips = func() bool {
		calls, failure, slow := b.win.rates()
		return calls >= p.cfg.MinimumNumberOfCalls &&
			(failure >= p.cfg.FailureRateThreshold || slow >= p.cfg.SlowCallRateThreshold)
	}
	b.cb = gobreaker.NewCircuitBreaker[*jobs.Response](gobreaker.Settings{
		Name:        job,
		MaxRequests: uint32(p.cfg.PermittedCallsInHalfOpenState),
		Timeout:     p.cfg.WaitDurationInOpenState,
		ReadyToTrip: func(gobreaker.Counts) bool { return b.trips() },
		IsExcluded:  func(err error) bool { return err != errSlow && excluded(err) },
		OnStateChange: func(name string, from, to gobreaker.State) {
			if to == gobreaker.StateClosed || to == gobreaker.StateOpen {
				b.win.reset() // a new closed period starts from an empty window
			}
			p.listener.BreakerChanged(name, from.String(), to.String())
		},
	})
	p.breakers[job] = b
	p.breakerOf.Store(job, b)
	p.created(job)
	return b
}

// BreakerState is the state of a job type's breaker: "closed",
// "half-open" or "open" ("closed" before its first call).
func (p *Policies) BreakerState(job string) string {
	p.mu.Lock()
	b, ok := p.breakers[job]
	p.mu.Unlock()
	if !ok {
		return gobreaker.StateClosed.String()
	}
	return b.cb.State().String()
}

// circuitBreaker refuses calls while the job type's breaker is open and
// records each call's outcome in its window.
func (p *Policies) circuitBreaker(next jobs.Handler) jobs.Handler {
	return func(ctx context.Context, inv *jobs.Invocation) (*jobs.Response, error) {
		b := p.breakerFor(inv.Job.Name)
		var stageErr error
		resp, err := b.cb.Execute(func() (*jobs.Response, error) {
			start := time.Now()
			resp, err := next(ctx, inv)
			stageErr = err
			if excluded(err) {
				return resp, err
			}
			slow := time.Since(start) > p.cfg.SlowCallDurationThreshold
			b.win.record(err != nil, slow)
			// trips before State: it is false on a healthy window, and
			// State takes gobreaker's lock and reads the clock.
			if err == nil && (slow || b.trips() && b.cb.State() == gobreaker.StateClosed) {
				return resp, errSlow
			}
			return resp, err
		})
		switch {
		case errors.Is(err, gobreaker.ErrOpenState), errors.Is(err, gobreaker.ErrTooManyRequests):
			b.notPermitted.Add(1)
			p.listener.Rejected(inv.Job.Name, inv.Stage, "circuit_open")
			return nil, jobs.Errorf(jobs.CodeUnavailable, "circuit breaker of job %q is %s: call not permitted",
				inv.Job.Name, b.cb.State())
		case err == errSlow:
			return resp, nil
		}
		return resp, stageErr
	}
}
