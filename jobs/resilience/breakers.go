package resilience

import (
	"slices"
	"strings"

	"github.com/sony/gobreaker/v2"
)

// BreakerWatcher is a Listener that also wants to hear of each breaker
// when it is created (in state "closed"), so that a gauge of its state
// exists before the first call (docs/operations.md). Optional: a Listener
// without it is told of transitions only.
type BreakerWatcher interface {
	BreakerCreated(job string, state string)
}

// Declare creates the breakers of these job types now, closed, instead of
// at their first call, so that their state is reported from start-up. It
// does nothing when the circuit breaker is disabled.
func (p *Policies) Declare(jobs ...string) {
	if !p.cfg.CircuitBreakerEnabled {
		return
	}
	for _, j := range jobs {
		p.breakerFor(j)
	}
}

// BreakerStatus is a breaker's state and counters, named as Resilience4j's
// actuator shows them.
type BreakerStatus struct {
	JobType string `json:"jobType"`
	// State is "closed", "half-open" or "open".
	State string `json:"state"`
	// FailureRate and SlowCallRate are percentages over the calls in the
	// window; -1 while the window has fewer than the minimum number of
	// calls (the breaker cannot open yet).
	FailureRate           float64 `json:"failureRate"`
	SlowCallRate          float64 `json:"slowCallRate"`
	FailureRateThreshold  float64 `json:"failureRateThreshold"`
	SlowCallRateThreshold float64 `json:"slowCallRateThreshold"`
	BufferedCalls         int     `json:"bufferedCalls"` // calls in the sliding window
	FailedCalls           int     `json:"failedCalls"`
	SlowCalls             int     `json:"slowCalls"`
	// NotPermittedCalls counts calls refused because the breaker was open
	// (or half-open and full), since start-up.
	NotPermittedCalls int64 `json:"notPermittedCalls"`
}

// Breakers lists every breaker, by job type.
func (p *Policies) Breakers() []BreakerStatus {
	p.mu.Lock()
	bs := make(map[string]*breaker, len(p.breakers))
	for j, b := range p.breakers {
		bs[j] = b
	}
	p.mu.Unlock()
	out := make([]BreakerStatus, 0, len(bs))
	for j, b := range bs {
		b.win.mu.Lock()
		calls, failed, slow := b.win.count, b.win.nFail, b.win.nSlw
		b.win.mu.Unlock()
		s := BreakerStatus{JobType: j, State: b.cb.State().String(), FailureRate: -1, SlowCallRate: -1,
			FailureRateThreshold: p.cfg.FailureRateThreshold, SlowCallRateThreshold: p.cfg.SlowCallRateThreshold,
			BufferedCalls: calls, FailedCalls: failed, SlowCalls: slow, NotPermittedCalls: b.notPermitted.Load()}
		if calls > 0 && calls >= p.cfg.MinimumNumberOfCalls {
			s.FailureRate = 100 * float64(failed) / float64(calls)
			s.SlowCallRate = 100 * float64(slow) / float64(calls)
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b BreakerStatus) int { return strings.Compare(a.JobType, b.JobType) })
	return out
}

// created tells the listener of a new breaker, if it wants to know.
func (p *Policies) created(job string) {
	if w, ok := p.listener.(BreakerWatcher); ok {
		w.BreakerCreated(job, gobreaker.StateClosed.String())
	}
}
