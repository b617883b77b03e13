package jetjobs

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/metric"

	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/jobs"
)

// DLQ manages the engine's dead letters (after Start): list, show,
// replay, delete, purge (docs/operations.md, "Dead letters"). Shown
// commands have their sensitive values masked.
func (e *Engine) DLQ() *bus.DLQ { return e.dlq.Load() }

// registerDLQGauge observes <metric-prefix>.dlq.messages, the number of
// dead letters in JOBS_DLQ (Prometheus: <prefix>_dlq_messages), read from
// the stream's state at each collection once the engine has started.
func (e *Engine) registerDLQGauge(mp metric.MeterProvider, prefix string) error {
	if prefix == "" {
		prefix = "firefly.data.job" // as jobs/observe
	}
	m := mp.Meter("github.com/jetjobs/jetjobs")
	_, err := m.Int64ObservableGauge(prefix+".dlq.messages",
		metric.WithDescription("Dead letters in JOBS_DLQ: commands that could not run, waiting for replay or purge (engine dlq)"),
		metric.WithInt64Callback(func(ctx context.Context, o metric.Int64Observer) error {
			d := e.dlq.Load()
			if d == nil {
				return nil
			}
			ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			if n, err := d.Depth(ctx); err == nil {
				o.Observe(int64(n))
			}
			return nil // NATS trouble: no reading this time, /health says why
		}))
	return err
}

// SanitizerOf is the secret masking cfg configures (Engine.Sanitizer),
// for tools that show stored commands without an engine (engine dlq show).
func SanitizerOf(cfg Config) *jobs.Sanitizer { return cfg.Orchestration.Persistence.Sanitizer() }
