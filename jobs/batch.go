package jobs

import (
	"context"
	"sync"
)

// Writes is an adapter's group of writes made on behalf of one command (or
// one timer tick): the adapter may send them without waiting for each
// acknowledgement (the bus pipelines a command's JetStream publishes), and
// Wait returns once every write so far is stored, or with the first
// failure. A Writes that writes synchronously has nothing to wait for.
type Writes interface {
	Wait(ctx context.Context) error
}

// Batch is everything one command (or one timer tick) writes, as the
// runtime sees it: the audit entries it gathers so that they cost one write,
// and the adapter's pipelined writes (records, events, timers, results). The
// adapter creates it (NewBatch) and hands it to Runtime.HandleBatch or
// Runtime.TickBatch; the runtime appends to it and waits on it:
//
//   - before any event is published, the audit entries so far are written
//     (the trail is stored before anyone hears of the outcome);
//   - before the terminal flag (Execution.TerminalEventSent) is stored, the
//     whole batch is waited on, so the flag never stands for an event that
//     was not stored;
//   - before HandleBatch or TickBatch returns, the whole batch is waited on,
//     so a nil error means everything is stored and the adapter may
//     acknowledge the command.
//
// A Batch is safe for concurrent use: a stage abandoned by its timeout may
// still report progress.
type Batch struct {
	writes Writes

	mu    sync.Mutex
	audit []*AuditEntry
}

// NewBatch starts the batch of one command over w; nil: every write is
// stored before its port method returns.
func NewBatch(w Writes) *Batch { return &Batch{writes: w} }

// add gathers an audit entry.
func (b *Batch) add(e *AuditEntry) {
	b.mu.Lock()
	b.audit = append(b.audit, e)
	b.mu.Unlock()
}

// takeAudit returns the gathered audit entries and forgets them.
func (b *Batch) takeAudit() []*AuditEntry {
	b.mu.Lock()
	defer b.mu.Unlock()
	entries := b.audit
	b.audit = nil
	return entries
}

// Wait returns once every write of the batch so far is stored (the audit
// entries gathered are written first), or with the first failure.
func (rt *Runtime) wait(ctx context.Context, b *Batch) error {
	if err := rt.flushAudit(ctx, b); err != nil {
		return err
	}
	if b.writes == nil {
		return nil
	}
	if err := b.writes.Wait(ctx); err != nil {
		return &Error{Code: CodeUnavailable, Msg: "writes not stored", Err: err}
	}
	return nil
}
