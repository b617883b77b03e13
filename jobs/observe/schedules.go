package observe

import (
	"context"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// scheduleTicks is the counter of schedule ticks, created on first use.
type scheduleTicks struct {
	once    sync.Once
	counter metric.Int64Counter
}

// ScheduleTick counts a tick of a job's schedule by outcome (fired: the
// server made it and an engine took it; started: its START is stored;
// failed: it could not become a START): metric
// <metric-prefix>.schedule.ticks by job_type, schedule and outcome
// (docs/schedules.md). A delayed start counts under its execution id.
func (ob *Observer) ScheduleTick(job, schedule, outcome string) {
	st := &ob.schedTicks
	st.once.Do(func() {
		m := ob.o.MeterProvider.Meter("github.com/jetjobs/jetjobs/jobs")
		c, err := m.Int64Counter(ob.o.MetricPrefix+".schedule.ticks",
			metric.WithDescription("Schedule ticks by outcome: fired (taken by an engine), started (START stored), failed (dropped)"))
		if err != nil {
			ob.log.Warn().Err(err).Msg("schedule.ticks counter not available")
			return
		}
		st.counter = c
	})
	if st.counter == nil {
		return
	}
	st.counter.Add(context.Background(), 1, metric.WithAttributes(attribute.String("job_type", job),
		attribute.String("schedule", schedule), attribute.String("outcome", outcome)))
}
