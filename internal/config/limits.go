package config

import "time"

// Sizes of the default bounds.
const (
	mib = int64(1) << 20
	gib = int64(1) << 30
)

// Limits is `nats.limits:`, the bound of every stream and bucket the engine
// creates (docs/operations.md, "Retention and limits"). A max-bytes of 0
// and a max-age of 0 mean no bound. Streams whose age is set by another key
// (JOBS_AUDIT: orchestration.persistence.audit-retention-days, JOBS_DLQ:
// nats.dlq-max-age, JOBS_RESULTS: orchestration.persistence.result-retention-days,
// JOBS_STATE and SAGAS: their terminal records' retention) only take
// max-bytes here. The server reserves every max-bytes (times the replicas)
// against its JetStream storage when it creates the stream, so the sum must
// fit in the server's max_file_store.
type Limits struct {
	Commands      StreamLimits `yaml:"commands"`       // JOBS_COMMANDS: default max-age 168h, max-bytes 256 MiB
	Events        StreamLimits `yaml:"events"`         // JOBS_EVENTS: default max-age 720h, max-bytes 1 GiB
	Audit         SizeLimit    `yaml:"audit"`          // JOBS_AUDIT: default max-bytes 1 GiB
	DLQ           SizeLimit    `yaml:"dlq"`            // JOBS_DLQ: default max-bytes 256 MiB
	Timers        StreamLimits `yaml:"timers"`         // JOBS_TIMERS: default max-age 0 (none), max-bytes 128 MiB
	State         SizeLimit    `yaml:"state"`          // KV JOBS_STATE: default max-bytes 1 GiB
	Results       SizeLimit    `yaml:"results"`        // KV JOBS_RESULTS: default max-bytes 512 MiB
	ResultObjects SizeLimit    `yaml:"result-objects"` // object store JOBS_RESULTS_OBJECTS: default max-bytes 1 GiB
	Sagas         SizeLimit    `yaml:"sagas"`          // KV SAGAS: default max-bytes 256 MiB
	SagaCommands  StreamLimits `yaml:"saga-commands"`  // SAGA_COMMANDS: default max-age 168h, max-bytes 128 MiB
	SagaTimers    StreamLimits `yaml:"saga-timers"`    // SAGA_TIMERS: default max-age 0 (none), max-bytes 128 MiB
	Work          StreamLimits `yaml:"work"`           // JOBS_WORK (worker jobs' queue): default max-age 0 (none), max-bytes 256 MiB
	// JOBS_SCHEDULES: default max-bytes 64 MiB. No age bound: a schedule
	// stays until deleted; its ticks expire after 7 days (docs/schedules.md).
	Schedules SizeLimit `yaml:"schedules"`
}

// StreamLimits bounds a stream by age and size.
type StreamLimits struct {
	MaxAge   time.Duration `yaml:"max-age"`   // default: per stream (Limits); 0 = no age bound
	MaxBytes int64         `yaml:"max-bytes"` // default: per stream (Limits); 0 = no size bound
}

// SizeLimit bounds a stream or bucket whose age another key sets.
type SizeLimit struct {
	MaxBytes int64 `yaml:"max-bytes"` // default: per stream (Limits); 0 = no size bound
}

// DefaultLimits are the bounds of Default(): about 4.6 GiB in all, reserved
// on the server at R1.
func DefaultLimits() Limits {
	return Limits{
		Commands:      StreamLimits{MaxAge: 7 * 24 * time.Hour, MaxBytes: 256 * mib},
		Events:        StreamLimits{MaxAge: 30 * 24 * time.Hour, MaxBytes: gib},
		Audit:         SizeLimit{MaxBytes: gib},
		DLQ:           SizeLimit{MaxBytes: 256 * mib},
		Timers:        StreamLimits{MaxBytes: 128 * mib},
		State:         SizeLimit{MaxBytes: gib},
		Results:       SizeLimit{MaxBytes: 512 * mib},
		ResultObjects: SizeLimit{MaxBytes: gib},
		Sagas:         SizeLimit{MaxBytes: 256 * mib},
		SagaCommands:  StreamLimits{MaxAge: 7 * 24 * time.Hour, MaxBytes: 128 * mib},
		SagaTimers:    StreamLimits{MaxBytes: 128 * mib},
		Work:          StreamLimits{MaxBytes: 256 * mib},
		Schedules:     SizeLimit{MaxBytes: 64 * mib},
	}
}

func (c Config) validateLimits(k *checker) {
	const p = "nats.limits."
	l := c.NATS.Limits
	streams := []struct {
		name string
		s    StreamLimits
	}{{"commands", l.Commands}, {"events", l.Events}, {"timers", l.Timers}, {"saga-commands", l.SagaCommands}, {"saga-timers", l.SagaTimers}, {"work", l.Work}}
	for _, s := range streams {
		k.nonNegative(p+s.name+".max-age", s.s.MaxAge)
		k.maxBytes(p+s.name+".max-bytes", s.s.MaxBytes)
	}
	sizes := []struct {
		name string
		s    SizeLimit
	}{{"audit", l.Audit}, {"dlq", l.DLQ}, {"state", l.State}, {"results", l.Results}, {"result-objects", l.ResultObjects}, {"sagas", l.Sagas}, {"schedules", l.Schedules}}
	for _, s := range sizes {
		k.maxBytes(p+s.name+".max-bytes", s.s.MaxBytes)
	}
	if d := l.Commands.MaxAge; d > 0 && d < c.NATS.DuplicateWindow {
		k.add(p+"commands.max-age", "must be 0 or >= nats.duplicate-window (%s), got %s",
			formatDuration(c.NATS.DuplicateWindow), formatDuration(d))
	}
	r := c.Orchestration.Persistence
	const pp = "orchestration.persistence."
	k.atLeast(pp+"execution-retention-days", int64(r.ExecutionRetentionDays), 0)
	k.atLeast(pp+"saga-retention-days", int64(r.SagaRetentionDays), 0)
}

// minMaxBytes is the smallest bound accepted: below it a stream cannot hold
// one ordinary message.
const minMaxBytes = 1 << 10

func (c *checker) maxBytes(key string, v int64) {
	if v != 0 && v < minMaxBytes {
		c.add(key, "must be 0 (no bound) or >= %d bytes, got %d", minMaxBytes, v)
	}
}
