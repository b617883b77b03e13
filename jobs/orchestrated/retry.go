package orchestrated

import (
	"context"
	"fmt"
	"time"

	"github.com/jetjobs/jetjobs/jobs"
)

// RetryPolicy is orchestration.max-retries and orchestration.retry-delay:
// how often a call to the orchestrator that failed on a transient error is
// made again, and how long apart.
type RetryPolicy struct {
	MaxRetries int           // default 3 (orchestration.max-retries); 0: no retries
	Delay      time.Duration // default 5s (orchestration.retry-delay)
	// Sleep waits d or until ctx ends (tests make it instant). Default: a
	// timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// OnRetry is told of every retry (attempt from 1); default: nobody.
	OnRetry func(op string, attempt int, err error)
}

// Retrying is an Orchestrator whose calls are retried under a RetryPolicy:
// an error that is not permanent (jobs.IsPermanent) is tried again up to
// MaxRetries times, Delay apart, while the caller's context lasts. It keeps
// the wrapped orchestrator's ExecutionIDResolver and HealthChecker (Health
// is not retried: a health check reports what it sees).
type Retrying struct {
	o Orchestrator
	p RetryPolicy
}

var (
	_ Orchestrator        = (*Retrying)(nil)
	_ ExecutionIDResolver = (*Retrying)(nil)
	_ HealthChecker       = (*Retrying)(nil)
	_ ProgressReporter    = (*Retrying)(nil)
)

// WithRetry wraps o in p. MaxRetries 0 still wraps (and makes one call).
func WithRetry(o Orchestrator, p RetryPolicy) *Retrying {
	if p.MaxRetries < 0 {
		p.MaxRetries = 0
	}
	if p.Sleep == nil {
		p.Sleep = sleep
	}
	return &Retrying{o: o, p: p}
}

// Unwrap is the wrapped orchestrator.
func (r *Retrying) Unwrap() Orchestrator { return r.o }

// Type is the wrapped orchestrator's.
func (r *Retrying) Type() string { return r.o.Type() }

// ExecutionIDFor is the wrapped orchestrator's, or the execution name.
func (r *Retrying) ExecutionIDFor(def JobDefinition) string {
	if res, ok := r.o.(ExecutionIDResolver); ok {
		return res.ExecutionIDFor(def)
	}
	return def.ExecutionName
}

// Health is the wrapped orchestrator's, called once; nil when it has none.
func (r *Retrying) Health(ctx context.Context) error {
	if h, ok := r.o.(HealthChecker); ok {
		return h.Health(ctx)
	}
	return nil
}

// Progress is the wrapped orchestrator's, called once (progress is best
// effort); none when it has no ProgressReporter.
func (r *Retrying) Progress(ctx context.Context, executionID string) (Progress, error) {
	if p, ok := r.o.(ProgressReporter); ok {
		return p.Progress(ctx, executionID)
	}
	return Progress{}, nil
}

// StartJob retries; the adapter's idempotency on the execution name makes
// a retried start safe.
func (r *Retrying) StartJob(ctx context.Context, def JobDefinition) (*Execution, error) {
	return retry(ctx, r, "StartJob", func() (*Execution, error) { return r.o.StartJob(ctx, def) })
}

// CheckJobStatus retries.
func (r *Retrying) CheckJobStatus(ctx context.Context, executionID string) (Status, error) {
	return retry(ctx, r, "CheckJobStatus", func() (Status, error) { return r.o.CheckJobStatus(ctx, executionID) })
}

// StopJob retries.
func (r *Retrying) StopJob(ctx context.Context, executionID, reason string) (Status, error) {
	return retry(ctx, r, "StopJob", func() (Status, error) { return r.o.StopJob(ctx, executionID, reason) })
}

// GetJobExecution retries.
func (r *Retrying) GetJobExecution(ctx context.Context, executionID string) (*Execution, error) {
	return retry(ctx, r, "GetJobExecution", func() (*Execution, error) { return r.o.GetJobExecution(ctx, executionID) })
}

func retry[T any](ctx context.Context, r *Retrying, op string, call func() (T, error)) (T, error) {
	for attempt := 1; ; attempt++ {
		v, err := call()
		if err == nil || jobs.IsPermanent(err) || attempt > r.p.MaxRetries || ctx.Err() != nil {
			if err != nil && attempt > 1 {
				err = fmt.Errorf("%w (after %d attempts)", err, attempt)
			}
			return v, err
		}
		if r.p.OnRetry != nil {
			r.p.OnRetry(op, attempt, err)
		}
		if serr := r.p.Sleep(ctx, r.p.Delay); serr != nil {
			return v, err
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
