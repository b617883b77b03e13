package jobs

import (
	"context"
	"errors"
	"fmt"
)

// Resume finishes what a command replayed from the dead-letter queue
// (cmd.ReplayedBy set) could not do by running again, because its
// execution already existed: a START or EXECUTE answers "execution already
// exists" and does nothing more. The adapter calls it after Handle. For
// the command's execution, if there is one:
//
//   - live (STARTED or RUNNING): its JOB_STARTED (async jobs) is published
//     again and its CHECK timer re-armed, so the engine checks it again
//     and its deadline holds;
//   - terminal: its JOB_STARTED (async jobs) and terminal event are
//     published unless the record says the terminal event
//     was sent (TerminalEventSent), and the flag is then stored;
//   - being started (a pending claim): nothing; the START that holds it
//     does it.
//
// Both publishes carry the fixed event ids of the execution (jobs.Event),
// so inside the event stream's duplicate window a republish is dropped, and
// outside it a consumer that dedups on the CloudEvents id sees it once.
// An audit entry on the execution names who replayed the command.
// A command that is not a replay, or names no execution, is left alone.
func (rt *Runtime) Resume(ctx context.Context, cmd *Command) error {
	return rt.ResumeBatch(ctx, NewBatch(nil), cmd)
}

// ResumeBatch is Resume with the adapter's batch of writes for the command
// (see Batch): a nil error means everything it wrote is stored.
func (rt *Runtime) ResumeBatch(ctx context.Context, b *Batch, cmd *Command) error {
	ctx = WithScrubber(ctx, rt.scrub)
	err := rt.resume(ctx, b, cmd)
	if err == nil {
		err = rt.wait(ctx, b)
	}
	if err != nil {
		rt.writeFailed(err)
	}
	return err
}

func (rt *Runtime) resume(ctx context.Context, b *Batch, cmd *Command) error {
	if cmd.ReplayedBy == "" {
		return nil
	}
	def, ok := rt.reg.Lookup(cmd.JobType)
	if !ok {
		return nil
	}
	id := cmd.Request.ExecutionID
	if id == "" && (cmd.Stage == StageStart || cmd.Stage == StageExecute) && ValidateExecutionID(cmd.ID) == nil {
		id = cmd.ID
	}
	if ValidateExecutionID(id) != nil {
		return nil
	}
	exec, rev, err := rt.store.Get(ctx, def.Name, id)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if exec.Pending {
		return nil
	}
	did := "nothing left to do"
	switch {
	case exec.Status.Terminal() && !exec.TerminalEventSent:
		did = "events published up to " + TerminalEventType(exec.Status)
	case exec.Status.Terminal():
		did = "terminal event already sent"
	case def.Async != nil:
		did = "JOB_STARTED published and CHECK timer re-armed"
	}
	if err := rt.auditReplay(ctx, b, cmd, exec, did); err != nil {
		return err
	}
	if exec.TerminalEventSent {
		return nil // every event it owes went out
	}
	if def.Async != nil && exec.Status != StatusFailed { // as afterCreate
		if err := rt.publish(ctx, b, exec, EventStarted, StatusStarted, nil); err != nil {
			return err
		}
	}
	if exec.Status.Terminal() {
		// mark: the replay may come long after the event stream's
		// duplicate window, and so may the next one.
		return rt.finish(ctx, b, def, exec, rev, nil, resultStored, true)
	}
	if def.Async == nil {
		return nil
	}
	// The first arm's dedup id may still be in the duplicate window though
	// its timer was lost: a TimerRepair arms it under an id of its own.
	if r, ok := rt.timers.(TimerRepair); ok {
		return r.Rearm(ctx, def.Name, exec.ExecutionID, rt.checkDelay(def, 1))
	}
	return rt.timers.Arm(ctx, def.Name, exec.ExecutionID, rt.checkDelay(def, 1))
}

// auditReplay writes the audit entry of a replay, before anything is
// published (as every audit entry is).
func (rt *Runtime) auditReplay(ctx context.Context, b *Batch, cmd *Command, exec *Execution, did string) error {
	if rt.auditSink == nil {
		return nil
	}
	now := rt.cfg.Clock.Now()
	from := "the dead-letter queue"
	if cmd.ReplayOf != "" {
		from += " (entry " + cmd.ReplayOf + ")"
	}
	e := &AuditEntry{
		ExecutionID: exec.ExecutionID, JobType: exec.JobType, Stage: cmd.Stage, Status: exec.Status,
		Outcome: "success", StartedAt: now, EndedAt: now, Attempt: 1,
		RequestID: exec.RequestID, Initiator: cmd.ReplayedBy, Metadata: exec.Metadata, SagaID: exec.SagaID,
		Message: fmt.Sprintf("%s replayed from %s by %s as command %s: %s", cmd.Stage, from, cmd.ReplayedBy, cmd.ID, did),
	}
	b.add(e)
	return nil
}
