package jetjobs

import (
	"context"
	"time"

	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/internal/config"
	"github.com/jetjobs/jetjobs/jobs"
	"github.com/jetjobs/jetjobs/kv"
)

const day = 24 * time.Hour

// startPersistence creates the audit stream and the result buckets from
// orchestration.persistence; their retention follows the configuration at
// every start.
func (e *Engine) startPersistence(ctx context.Context) error {
	p, n := e.cfg.Orchestration.Persistence, e.cfg.NATS
	e.audit = bus.NewAuditLog(e.js, n.SubjectPrefix)
	if p.AuditEnabled {
		if err := bus.EnsureAuditStream(ctx, e.js, n.SubjectPrefix, n.Replicas, time.Duration(p.AuditRetentionDays)*day,
			n.Limits.Audit.MaxBytes); err != nil {
			return err
		}
	}
	if !p.ResultPersistenceEnabled {
		return nil
	}
	rc := kv.ResultsConfig{Replicas: n.Replicas, TTL: time.Duration(p.ResultRetentionDays) * day,
		MaxBytes: n.Limits.Results.MaxBytes, ObjectsMaxBytes: n.Limits.ResultObjects.MaxBytes}
	if p.EnableResultCaching {
		rc.CacheTTL = time.Duration(p.ResultCacheTTLSeconds) * time.Second
	}
	var err error
	e.results, err = kv.NewResultStore(ctx, e.js, int(e.nc.MaxPayload()), rc)
	return err
}

func (e *Engine) auditSink() jobs.AuditSink {
	if !e.cfg.Orchestration.Persistence.AuditEnabled {
		return nil
	}
	return e.audit
}

func (e *Engine) resultStore() jobs.ResultStore {
	if e.results == nil {
		return nil
	}
	return e.results
}

// Audit reads executions' audit trails (after Start).
func (e *Engine) Audit() *bus.AuditLog { return e.audit }

// Results is the result store, nil when result persistence is off.
func (e *Engine) Results() *kv.ResultStore { return e.results }

// executionRetention is how long a terminal execution record is kept
// (orchestration.persistence.execution-retention-days; 0 = forever).
func executionRetention(p config.Persistence) time.Duration {
	return time.Duration(p.ExecutionRetentionDays) * day
}

// noAgeBound maps a nats.limits max-age of 0 (no bound) to
// bus.StreamsConfig's negative (no bound; its 0 takes the default).
func noAgeBound(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

// EngineStreams names every stream and bucket an engine (and its saga
// coordinator) may create, as JetStream names them: what /health's
// "storage" component watches.
func EngineStreams() []string {
	return []string{bus.StreamCommands, bus.StreamEvents, bus.StreamDLQ, bus.StreamTimers, bus.StreamAudit,
		"KV_" + kv.StateBucket, "KV_" + kv.ResultsBucket, "OBJ_" + kv.ObjectsBucket,
		"KV_SAGAS", "SAGA_COMMANDS", "SAGA_TIMERS",
		bus.StreamSchedules, bus.StreamWork}
}
