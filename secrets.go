package jetjobs

import (
	"time"

	"github.com/jetjobs/jetjobs/jobs"
)

// Sanitizer is the engine's secret masking, from orchestration.persistence
// (sanitize-sensitive-data, excluded-parameter-keys); nil when it is off.
// The runtime, the observability middleware and the saga coordinator all
// use it, so one setting covers every place a value can land
// (docs/operations.md, Security); internal/config builds it, for Masked too.
func (e *Engine) Sanitizer() *jobs.Sanitizer { return e.cfg.Orchestration.Persistence.Sanitizer() }

// dlqMaxAge maps nats.dlq-max-age (0 = keep until removed) to
// bus.StreamsConfig.DLQMaxAge (negative = keep until removed).
func dlqMaxAge(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}
