package jobs

import (
	"context"
	"errors"
	"time"
)

// executionIDFor derives the id of an execution from the command that
// creates it, so a redelivered START without a client id finds its own
// execution instead of creating a second one.
func executionIDFor(commandID string) string {
	if ValidateExecutionID(commandID) == nil {
		return commandID
	}
	return NewExecutionID()
}

// create runs START or EXECUTE: idempotent on the execution id.
//
// With an id the engine derived from the command, only a redelivery of the
// same command can bring the id back, never at the same moment (a message
// is with one consumer at a time), so a redelivery reads first and a first
// delivery goes straight to Create. With an id
// the client chose, two commands may carry it at once: the first one claims
// the id with a pending record before it runs the stage, so the job runs
// once.
func (rt *Runtime) create(ctx context.Context, b *Batch, def *Definition, cmd *Command, req *Request) (*Response, error) {
	now := rt.cfg.Clock.Now()
	exec := rt.newExecution(def, cmd, req, now)
	var rev uint64
	claimed := cmd.Request.ExecutionID != ""
	if claimed {
		var resp *Response
		var err error
		if exec, rev, resp, err = rt.claim(ctx, b, def, cmd, exec); resp != nil || err != nil {
			return resp, err
		}
	} else if cmd.Delivery > 1 {
		// A redelivery: this command may have created the execution before
		// it was lost. (On a first delivery nothing can have: the id is this
		// command's own, and a clash is still caught by Create.)
		cur, curRev, err := rt.store.Get(ctx, def.Name, req.ExecutionID)
		switch {
		case err == nil:
			return rt.existing(ctx, b, def, cmd, cur, curRev)
		case !errors.Is(err, ErrNotFound):
			return nil, err
		}
	}
	req.StartedAt = exec.CreatedAt
	run := rt.invoke(ctx, def, cmd.Stage, req, nil)
	resp, stageErr := run.resp, run.err
	if CodeOf(stageErr).Refusal() {
		// Refused before it ran: nothing is created, the caller may retry.
		if claimed {
			if err := rt.store.Delete(ctx, def.Name, exec.ExecutionID, rev); err != nil && !errors.Is(err, ErrRevisionConflict) {
				return nil, err
			}
		}
		return rt.reject(cmd, stageErr), rt.audit(ctx, b, run, nil)
	}
	exec.Attempts = max(req.Attempt, 1)
	exec.Pending = false
	// The stage's end, as the audit entry has it, is when the execution
	// ended or was last updated: one clock reading serves them all.
	applyOutcome(exec, cmd.Stage, resp, stageErr, run.end)
	var err error
	if claimed {
		exec.UpdatedAt = run.end
		rev, err = rt.store.Update(ctx, exec, rev)
	} else {
		rev, err = rt.store.Create(ctx, exec)
	}
	if errors.Is(err, ErrConflict) {
		// Another engine got there first (or, for a claim, taken over a
		// claim it found abandoned): answer from what is stored.
		cur, curRev, err := rt.store.Get(ctx, def.Name, req.ExecutionID)
		if err != nil {
			return nil, err
		}
		return rt.existing(ctx, b, def, cmd, cur, curRev)
	}
	if err != nil {
		return nil, err
	}
	rt.log.Debug().Str("executionId", exec.ExecutionID).Str("jobType", def.Name).Str("stage", string(cmd.Stage)).
		Str("status", string(exec.Status)).Msg("execution created")
	run.params = exec.Parameters // sanitized once, for the record and the audit entry
	if err := rt.audit(ctx, b, run, exec); err != nil {
		return nil, err
	}
	var result *Result
	note := ""
	if cmd.Stage == StageExecute && exec.Status == StatusCompleted {
		if result, note, err = rt.storeResult(ctx, exec, resp); err != nil {
			return nil, err
		}
	}
	from := resultFresh
	switch {
	case cmd.Stage == StageExecute:
		from = resultGiven
	case exec.Status == StatusCompleted:
		// A START that completed at once: its data is the result unless
		// the job keeps its own (see completedResult).
		if result, err = rt.completedResult(ctx, b, def, exec, false, resp); err != nil {
			return nil, err
		}
		from = resultGiven
	}
	if err := rt.afterCreate(ctx, b, def, exec, rev, result, from, false); err != nil {
		return nil, err
	}
	if err := rt.enqueueWork(ctx, def, exec, req.Parameters); err != nil {
		return nil, err
	}
	out := rt.respond(resp, stageErr, exec, cmd.Stage)
	if note != "" && out.Error == nil {
		out.Error = strPtr(note)
	}
	return out, nil
}

func (rt *Runtime) newExecution(def *Definition, cmd *Command, req *Request, now time.Time) *Execution {
	exec := &Execution{
		ExecutionID: req.ExecutionID, JobType: def.Name, Mode: def.Mode(), LastStage: cmd.Stage,
		Status: StatusStarted, Parameters: rt.cfg.Sanitizer.Map(req.Parameters),
		RequestID: req.RequestID, Initiator: req.Initiator, Metadata: req.Metadata,
		SagaID: req.SagaID, CommandID: cmd.ID,
		CreatedAt: now, UpdatedAt: now, Deadline: now.Add(rt.timeout(def)),
	}
	if rt.cfg.Sanitizer == nil {
		exec.Parameters = req.Parameters
	}
	return exec
}

// claim takes a client-chosen id with a pending record. It returns the
// claim to run the stage under, or the answer when the id is taken: an
// execution that exists, or one another command is starting right now. A
// claim of this same command (a redelivery after a crash) is run again; a
// claim abandoned longer than ClaimTimeout (its command was lost) is taken
// over.
func (rt *Runtime) claim(ctx context.Context, b *Batch, def *Definition, cmd *Command, exec *Execution) (*Execution, uint64, *Response, error) {
	exec.Pending = true
	rev, err := rt.store.Create(ctx, exec)
	if err == nil {
		return exec, rev, nil, nil
	}
	if !errors.Is(err, ErrAlreadyExists) {
		return nil, 0, nil, err
	}
	cur, curRev, err := rt.store.Get(ctx, def.Name, exec.ExecutionID)
	if errors.Is(err, ErrNotFound) { // released in between: the caller may try again
		return nil, 0, rt.reject(cmd, Errorf(CodeRejected, "execution %q is being started by another command", exec.ExecutionID)), nil
	}
	if err != nil {
		return nil, 0, nil, err
	}
	switch {
	case !cur.Pending:
		resp, err := rt.existing(ctx, b, def, cmd, cur, curRev)
		return nil, 0, resp, err
	case cur.CommandID == cmd.ID:
		return cur, curRev, nil, nil
	case rt.cfg.Clock.Now().Sub(cur.UpdatedAt) > rt.cfg.ClaimTimeout:
		exec.UpdatedAt = rt.cfg.Clock.Now()
		if rev, err = rt.store.Update(ctx, exec, curRev); err == nil {
			return exec, rev, nil, nil
		}
		if !errors.Is(err, ErrRevisionConflict) {
			return nil, 0, nil, err
		}
	}
	resp := rt.answer(&Response{Success: true, Message: "execution is being started by another command"}, cur, cmd.Stage)
	return nil, 0, resp, nil
}

// existing answers START/EXECUTE for an execution that is already there. If
// it was created by this very command (a redelivery after a crash), the side
// effects after the write are done again; they are idempotent.
func (rt *Runtime) existing(ctx context.Context, b *Batch, def *Definition, cmd *Command, exec *Execution, rev uint64) (*Response, error) {
	if exec.CommandID == cmd.ID {
		// A redelivery, which may come after the event stream's duplicate
		// window (its backoff): mark the terminal event, if any, as sent.
		if err := rt.afterCreate(ctx, b, def, exec, rev, nil, resultStored, true); err != nil {
			return nil, err
		}
		// The work may not have been queued before the command was lost
		// (queued again, it is stored once: WorkQueue.Enqueue).
		if err := rt.enqueueWork(ctx, def, exec, cmd.Request.Parameters); err != nil {
			return nil, err
		}
	}
	resp := rt.answer(&Response{Success: exec.Status != StatusFailed && exec.Status != StatusTimedOut,
		Message: "execution already exists"}, exec, cmd.Stage)
	if exec.Error != "" {
		resp.Error = strPtr(exec.Error)
	}
	return resp, nil
}

// afterCreate publishes what a new execution owes: JOB_STARTED for an async
// job, the terminal event if it already ended, else the CHECK timer. mark:
// see finish.
//
// An execution that completed at once has its result fetched before any
// event goes out, so the audit entries of START and RESULT are written
// together.
func (rt *Runtime) afterCreate(ctx context.Context, b *Batch, def *Definition, exec *Execution, rev uint64, result *Result, from resultFrom, mark bool) error {
	if exec.Status == StatusCompleted && from == resultFresh {
		var err error
		if result, err = rt.completedResult(ctx, b, def, exec, false, nil); err != nil {
			return err
		}
		from = resultGiven
	}
	if exec.Mode != "sync" && exec.Status != StatusFailed {
		if err := rt.publish(ctx, b, exec, EventStarted, StatusStarted, nil); err != nil {
			return err
		}
	}
	if exec.Status == StatusRunning {
		// START said it runs: announced at once, even at 0%.
		if err := rt.publishProgress(ctx, b, exec); err != nil {
			return err
		}
	}
	if exec.Status.Terminal() {
		return rt.finish(ctx, b, def, exec, rev, result, from, mark)
	}
	if def.Worker != nil {
		return nil // no CHECK timer: the work queue drives it (enqueueWork)
	}
	return rt.timers.Arm(ctx, def.Name, exec.ExecutionID, rt.checkDelay(def, 1))
}

// applyOutcome folds a stage's result into a new record.
func applyOutcome(exec *Execution, stage Stage, resp *Response, stageErr error, now time.Time) {
	status := StatusStarted
	if stage == StageExecute {
		status = StatusCompleted
	}
	switch {
	case stageErr != nil:
		status = StatusFailed
		exec.Error = stageErr.Error()
	case !resp.Success:
		status = StatusFailed
		exec.Error = firstNonEmpty(resp.ErrorText(), resp.Message, "stage answered success=false")
	case resp.Status.Valid():
		status = resp.Status
	}
	if stage == StageExecute && !status.Terminal() {
		status = StatusCompleted
	}
	exec.Status = status
	if resp != nil {
		exec.Message = resp.Message
		exec.ProgressPercentage = clampPercent(resp.ProgressPercentage)
	}
	if status == StatusCompleted {
		exec.ProgressPercentage = 100
	}
	if status.Terminal() {
		exec.EndedAt = &now
	}
}
