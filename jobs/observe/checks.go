package observe

import (
	"context"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/jetjobs/jetjobs/jobs"
)

// transientChecks is the counter of CHECKs that failed on a transient error
// and left their execution running, created on first use.
type transientChecks struct {
	once    sync.Once
	counter metric.Int64Counter
}

// TransientCheck counts a CHECK that failed on a transient error and left
// the execution running (jobs.RuntimeConfig.OnTransientCheck): metric
// <metric-prefix>.check.transient_errors by job_type and error_type. The
// runtime writes the log line.
func (ob *Observer) TransientCheck(job, _ string, err error) {
	tc := &ob.transient
	tc.once.Do(func() {
		m := ob.o.MeterProvider.Meter("github.com/jetjobs/jetjobs/jobs")
		c, cerr := m.Int64Counter(ob.o.MetricPrefix+".check.transient_errors",
			metric.WithDescription("CHECKs that failed on a transient error; the execution stayed running"))
		if cerr != nil {
			ob.log.Warn().Err(cerr).Msg("check.transient_errors counter not available")
			return
		}
		tc.counter = c
	})
	if tc.counter == nil {
		return
	}
	tc.counter.Add(context.Background(), 1, metric.WithAttributes(attribute.String("job_type", job),
		attribute.String("error_type", string(jobs.CodeOf(err)))))
}
