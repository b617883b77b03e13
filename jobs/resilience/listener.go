package resilience

import "github.com/jetjobs/jetjobs/jobs"

// Listener hears what the policies decide, for metrics and logs. Every
// method must be quick and safe for concurrent use.
type Listener interface {
	// Retried: attempt (2, 3, …) of a stage is about to run after err.
	Retried(job string, stage jobs.Stage, attempt int, err error)
	// Rejected: a call was refused; reason is "circuit_open",
	// "rate_limited" or "bulkhead_full".
	Rejected(job string, stage jobs.Stage, reason string)
	// BreakerChanged: a job type's breaker moved to state ("closed",
	// "half-open", "open").
	BreakerChanged(job string, from, to string)
}

// NopListener ignores everything.
type NopListener struct{}

func (NopListener) Retried(string, jobs.Stage, int, error) {}
func (NopListener) Rejected(string, jobs.Stage, string)    {}
func (NopListener) BreakerChanged(string, string, string)  {}
