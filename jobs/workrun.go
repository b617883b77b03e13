package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// WorkOutcome tells the work queue's adapter what to do with a work item
// after RunWork.
type WorkOutcome struct {
	// Done: acknowledge the item; the execution ended (or never needs
	// the work again).
	Done bool
	// RetryAfter: when not Done, hand the item back to be run again after
	// this (0: at once, by any instance).
	RetryAfter time.Duration
	// Attempt is the attempt that ran (0: Work did not run).
	Attempt int
}

// RunWork runs one attempt of a worker job's Work and folds its outcome
// into the record, with compare-and-set, so that the execution ends once
// however many instances run it:
//
//   - a record already terminal (stopped, timed out, or finished by an
//     earlier attempt whose acknowledgement was lost): its terminal event is
//     published again (deduplicated) and the item is done, Work does not
//     run;
//   - past its deadline: TIMED_OUT;
//   - else RUNNING with Attempts+1, then Work with ctx bounded by the
//     deadline. Its response completes the execution at once (the result
//     stored, JOB_COMPLETED carrying it); a Permanent error, a panic, a
//     response with Success false, or a plain error on the last attempt
//     (WorkConfig.MaxAttempts) fail it; another error hands the item back
//     with the backoff.
//
// ctx is the adapter's: cancelling it cancels Work (STOP, shutdown). When
// Work returns on a cancelled ctx and the record is not terminal (the engine
// is shutting down), the item is handed back at once.
//
// A non-nil error means a port failed (state store, events): the item
// should be handed back after a short delay.
func (rt *Runtime) RunWork(ctx context.Context, item WorkItem) (WorkOutcome, error) {
	return rt.RunWorkBatch(ctx, NewBatch(nil), item)
}

// RunWorkBatch is RunWork with the adapter's batch, as HandleBatch is for
// a command: the run's writes may be pipelined, and it returns once they
// are all stored, so that the adapter may then acknowledge the item.
func (rt *Runtime) RunWorkBatch(ctx context.Context, b *Batch, item WorkItem) (WorkOutcome, error) {
	def, ok := rt.reg.Lookup(item.JobType)
	if !ok || def.Worker == nil {
		return WorkOutcome{Done: true}, nil
	}
	if rt.work == nil {
		return WorkOutcome{}, Errorf(CodeUnavailable, "job %q is a worker job and this runtime has no work queue (SetWork)", def.Name)
	}
	sc := rt.cfg.Sanitizer.Scrubber(item.Parameters, nil)
	ctx = WithScrubber(ctx, sc)
	out, err := rt.runWork(ctx, b, def, item)
	if err == nil {
		err = rt.wait(ctx, b)
	}
	if err != nil {
		rt.writeFailed(err)
		return WorkOutcome{}, sc.Error(err)
	}
	return out, nil
}

func (rt *Runtime) runWork(ctx context.Context, b *Batch, def *Definition, item WorkItem) (WorkOutcome, error) {
	exec, rev, err := rt.store.Get(ctx, def.Name, item.ExecutionID)
	if errors.Is(err, ErrNotFound) {
		return WorkOutcome{Done: true}, nil
	}
	if err != nil {
		return WorkOutcome{}, err
	}
	if exec.Status.Terminal() {
		return WorkOutcome{Done: true}, rt.finish(ctx, b, def, exec, rev, nil, resultStored, true)
	}
	if !rt.cfg.Clock.Now().Before(exec.Deadline) {
		return WorkOutcome{Done: true}, rt.workTimedOut(ctx, b, def, exec, rev, nil)
	}
	exec, rev, err = rt.update(ctx, def.Name, exec.ExecutionID, exec, rev, func(e *Execution) bool {
		if e.Status.Terminal() {
			return false
		}
		if e.LastStage != StageWork {
			e.Attempts = 0 // START counted itself; Attempts counts Work's runs
		}
		e.Status, e.LastStage, e.Attempts = StatusRunning, StageWork, e.Attempts+1
		return true
	})
	if err != nil {
		return WorkOutcome{}, err
	}
	if exec.Status.Terminal() { // stopped in between
		return WorkOutcome{Done: true}, rt.finish(ctx, b, def, exec, rev, nil, resultStored, true)
	}
	params := item.Parameters
	if params == nil {
		params = exec.Parameters
	}
	req := &Request{ExecutionID: exec.ExecutionID, Parameters: params, RequestID: exec.RequestID,
		Initiator: exec.Initiator, Metadata: exec.Metadata, JobType: def.Name, Stage: StageWork,
		SagaID: exec.SagaID, Attempt: exec.Attempts, StartedAt: exec.CreatedAt}
	progress := rt.progressFunc(b, def, exec.ExecutionID)
	req.progress = progress
	wctx, cancel := context.WithDeadline(ctx, exec.Deadline)
	run := &stageRun{stage: StageWork, req: req, start: rt.cfg.Clock.Now()}
	run.resp, run.err = callWork(wctx, def, req, progress)
	cancel()
	run.end = rt.cfg.Clock.Now()
	out := WorkOutcome{Done: true, Attempt: exec.Attempts}
	switch {
	case run.err == nil && (run.resp == nil || run.resp.Success):
		return out, rt.workCompleted(ctx, b, def, exec, rev, run)
	case ctx.Err() != nil:
		// Cancelled by the adapter: STOP (the record is terminal) or a
		// shutdown (it is not: another instance runs it again).
		cur, curRev, err := rt.store.Get(context.WithoutCancel(ctx), def.Name, exec.ExecutionID)
		if err != nil {
			return WorkOutcome{}, err
		}
		if cur.Status.Terminal() {
			return out, rt.finish(context.WithoutCancel(ctx), b, def, cur, curRev, nil, resultStored, true)
		}
		return WorkOutcome{Attempt: exec.Attempts}, nil
	case !rt.cfg.Clock.Now().Before(exec.Deadline) || errors.Is(wctx.Err(), context.DeadlineExceeded) && errors.Is(run.err, context.DeadlineExceeded):
		return out, rt.workTimedOut(ctx, b, def, exec, rev, run)
	}
	if run.err == nil {
		run.err = Permanent(Errorf(CodeFailed, "%s", firstNonEmpty(run.resp.ErrorText(), run.resp.Message, "Work answered success=false")))
	}
	var pe *PanicError
	if IsPermanent(run.err) || asPanic(run.err, &pe) || exec.Attempts >= rt.work.cfg.MaxAttempts {
		return out, rt.workFailed(ctx, b, def, exec, rev, run)
	}
	retry := rt.work.cfg.Backoff(exec.Attempts)
	msg := fmt.Sprintf("attempt %d of %d failed; retrying in %s", exec.Attempts, rt.work.cfg.MaxAttempts, retry.Round(time.Millisecond))
	exec, _, err = rt.update(ctx, def.Name, exec.ExecutionID, exec, rev, func(e *Execution) bool {
		if e.Status.Terminal() {
			return false
		}
		e.Message, e.Error = msg, run.err.Error()
		return true
	})
	if err != nil {
		return WorkOutcome{}, err
	}
	if err := rt.audit(ctx, b, run, exec); err != nil {
		return WorkOutcome{}, err
	}
	if exec.Status.Terminal() {
		return out, rt.finish(ctx, b, def, exec, 0, nil, resultStored, true)
	}
	rt.log.Info().Str("jobType", def.Name).Str("executionId", exec.ExecutionID).Str("error", ScrubberFrom(ctx).Text(run.err.Error())).
		Int("attempt", exec.Attempts).Dur("retryIn", retry).Msg("Work failed; it will be retried")
	return WorkOutcome{RetryAfter: retry, Attempt: exec.Attempts}, nil
}

// workCompleted ends the execution COMPLETED with Work's response as its
// result, unless it ended meanwhile (stopped, timed out): then the result
// is dropped.
func (rt *Runtime) workCompleted(ctx context.Context, b *Batch, def *Definition, exec *Execution, rev uint64, run *stageRun) error {
	resp := run.resp
	if resp == nil {
		resp = Completed("completed", nil)
		run.resp = resp
	}
	// The result is stored before the record says COMPLETED, so that a
	// crash in between leaves it for the redelivery's event; RESULT
	// answers only for a COMPLETED record, so one stored for an execution
	// stopped meanwhile is never read.
	done := *exec
	done.Status = StatusCompleted
	result, _, err := rt.storeResult(ctx, &done, resp)
	if err != nil {
		return err
	}
	if result != nil { // stored, not only sent, before the record changes
		if err := rt.wait(ctx, b); err != nil {
			return err
		}
	}
	now := rt.cfg.Clock.Now()
	won := false
	exec, rev, err = rt.update(ctx, def.Name, exec.ExecutionID, exec, rev, func(e *Execution) bool {
		won = !e.Status.Terminal()
		if !won {
			return false
		}
		e.Status, e.ProgressPercentage, e.Message, e.Error, e.EndedAt = StatusCompleted, 100, resp.Message, "", &now
		return true
	})
	if err != nil {
		return err
	}
	if err := rt.audit(ctx, b, run, exec); err != nil {
		return err
	}
	if !won {
		return rt.finish(ctx, b, def, exec, rev, nil, resultStored, true)
	}
	// The item is acknowledged right after; a redelivery (the ack lost)
	// comes within the ack wait, inside the events' duplicate window.
	return rt.finish(ctx, b, def, exec, rev, result, resultGiven, false)
}

// workFailed ends the execution FAILED with Work's error.
func (rt *Runtime) workFailed(ctx context.Context, b *Batch, def *Definition, exec *Execution, rev uint64, run *stageRun) error {
	now := rt.cfg.Clock.Now()
	exec, rev, err := rt.update(ctx, def.Name, exec.ExecutionID, exec, rev, func(e *Execution) bool {
		if e.Status.Terminal() {
			return false
		}
		e.Status, e.Error, e.EndedAt = StatusFailed, run.err.Error(), &now
		e.Message = fmt.Sprintf("Work failed on attempt %d", e.Attempts)
		return true
	})
	if err != nil {
		return err
	}
	if err := rt.audit(ctx, b, run, exec); err != nil {
		return err
	}
	return rt.finish(ctx, b, def, exec, rev, nil, resultStored, false)
}

// workTimedOut ends an execution past its deadline TIMED_OUT; run is the
// Work call cut short, nil when it did not run.
func (rt *Runtime) workTimedOut(ctx context.Context, b *Batch, def *Definition, exec *Execution, rev uint64, run *stageRun) error {
	ctx = context.WithoutCancel(ctx)
	limit := exec.Deadline.Sub(exec.CreatedAt).Round(time.Millisecond)
	now := rt.cfg.Clock.Now()
	exec, rev, err := rt.update(ctx, def.Name, exec.ExecutionID, exec, rev, func(e *Execution) bool {
		if e.Status.Terminal() {
			return false
		}
		e.Status, e.EndedAt = StatusTimedOut, &now
		e.Error = fmt.Sprintf("execution exceeded its timeout of %s", limit)
		return true
	})
	if err != nil {
		return err
	}
	if run != nil {
		if err := rt.audit(ctx, b, run, exec); err != nil {
			return err
		}
	}
	return rt.finish(ctx, b, def, exec, rev, nil, resultStored, false)
}

// WorkLive reports whether a worker job's execution still wants its Work:
// false once the record is terminal or gone. The adapter asks at every
// heartbeat and cancels Work when it is not (a missed STOP broadcast).
func (rt *Runtime) WorkLive(ctx context.Context, jobType, executionID string) (bool, error) {
	exec, _, err := rt.store.Get(ctx, jobType, executionID)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return !exec.Status.Terminal(), nil
}
