package jetjobs

import (
	"context"
	"time"

	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/jobs"
	"github.com/jetjobs/jetjobs/jobs/resilience"
)

// Worker jobs (docs/jobs.md, "Worker jobs"): the runtime queues their work
// on JOBS_WORK and a bus.WorkRunner runs it (bus/work.go,
// bus/workrunner.go).

// workCancelWait bounds how long a STOP of a running worker job waits for
// its Work to return before it answers.
const workCancelWait = 5 * time.Second

// wireWork gives the runtime its work queue and the retry policy of
// orchestration.resiliency (retry-max-attempts, retry-wait-duration
// doubling with jitter; retry-enabled false: one attempt).
func (e *Engine) wireWork() {
	n, r := e.cfg.NATS, e.cfg.Orchestration.Resiliency
	attempts := r.RetryMaxAttempts
	if !r.RetryEnabled {
		attempts = 1
	}
	wait := r.RetryWaitDuration
	e.rt.SetWork(bus.NewWorkQueue(e.nc, e.js, n.SubjectPrefix, workCancelWait), jobs.WorkConfig{
		MaxAttempts: max(attempts, 1),
		Backoff:     func(attempt int) time.Duration { return resilience.Backoff(wait, attempt) },
	})
}

// startWork starts the worker jobs' runner, after the command pool; the
// per-job concurrency of jobs.<name>.concurrency applies where the job's
// registration (jobs.WithConcurrency) set none.
func (e *Engine) startWork(ctx context.Context) error {
	for name, jc := range e.cfg.Jobs {
		if def, ok := e.reg.Lookup(name); ok && jc.Concurrency > 0 && def.Options.Concurrency == 0 {
			def.Options.Concurrency = jc.Concurrency
		}
	}
	n := e.cfg.NATS
	e.work = bus.NewWorkRunner(e.nc, e.js, e.rt, bus.WorkRunnerConfig{
		Prefix: n.SubjectPrefix, Concurrency: e.cfg.Orchestration.WorkerConcurrency, AckWait: n.AckWait,
	}, e.log)
	return e.work.Start(ctx)
}

// stopWork lets Work calls in flight finish until ctx (the shutdown
// timeout) ends, then cancels the rest: unacknowledged, they run again on
// another instance.
func (e *Engine) stopWork(ctx context.Context) {
	if e.work != nil {
		e.work.Stop(ctx)
	}
}
