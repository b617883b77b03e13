package httpadapter

import (
	"context"
	"sync"
	"time"

	"github.com/jetjobs/jetjobs/jobs/orchestrated"
)

// OrchestratorChecks is what GET /health/jobOrchestrator contacts: each
// configured orchestrator's HealthChecker, by orchestrator type, each
// within Timeout, the answers kept for Interval so that a probe hammering
// the endpoint does not hammer Airflow or AWS.
type OrchestratorChecks struct {
	checkers func() map[string]orchestrated.HealthChecker
	timeout  time.Duration
	interval time.Duration
	now      func() time.Time

	mu     sync.Mutex
	at     time.Time
	cached map[string]Component
}

// NewOrchestratorChecks checks the orchestrators checkers lists (by type,
// asked at every round: one built later joins); timeout bounds each call
// (default 5s), interval is how long answers are reused (0: never). now is
// the clock (nil: time.Now).
func NewOrchestratorChecks(checkers func() map[string]orchestrated.HealthChecker, timeout, interval time.Duration, now func() time.Time) *OrchestratorChecks {
	if timeout <= 0 {
		timeout = DefaultHealthTimeout
	}
	if now == nil {
		now = time.Now
	}
	return &OrchestratorChecks{checkers: checkers, timeout: timeout, interval: interval, now: now}
}

// Check answers the health of every orchestrator: UP, or DOWN with the
// reason. Callers share one round of calls while it is fresh.
func (c *OrchestratorChecks) Check(ctx context.Context) map[string]Component {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if c.cached != nil && now.Before(c.at.Add(c.interval)) {
		return clone(c.cached)
	}
	// Not the request's context: a client that hangs up must not cache a
	// "context canceled" DOWN for everybody else.
	ctx = context.WithoutCancel(ctx)
	checkers := c.checkers()
	out := make(map[string]Component, len(checkers))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for typ, hc := range checkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, c.timeout)
			defer cancel()
			start := time.Now()
			err := hc.Health(cctx)
			comp := up(map[string]any{"type": typ, "latencyMillis": float64(time.Since(start).Microseconds()) / 1000})
			if err != nil {
				comp = down(err.Error())
				comp.Details["type"] = typ
			}
			mu.Lock()
			out[typ] = comp
			mu.Unlock()
		}()
	}
	wg.Wait()
	c.cached, c.at = out, now
	return clone(out)
}

func clone(m map[string]Component) map[string]Component {
	out := make(map[string]Component, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// addOrchestrators puts each orchestrator's health in h as a component
// "orchestrator:<TYPE>"; one DOWN makes h DOWN.
func (a *adapter) addOrchestrators(ctx context.Context, h *Health) {
	if a.d.Orchestrators == nil {
		return
	}
	comps := a.d.Orchestrators.Check(ctx)
	if len(comps) == 0 {
		return
	}
	h.Components = map[string]Component{}
	for typ, c := range comps {
		if c.Status != StatusUp {
			h.Status = StatusDown
		}
		if !a.o.ShowDetails {
			c = Component{Status: c.Status}
		}
		h.Components["orchestrator:"+typ] = c
	}
}
