package jobs

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// resultFrom says where finish gets a completed execution's result.
type resultFrom int

const (
	resultStored resultFrom = iota // look up the stored one, else ask the job
	resultFresh                    // it just ended here: nothing is stored yet, ask the job
	resultGiven                    // the caller has it (nil: there is none)
)

// caller is who runs a CHECK.
type caller int

const (
	byClient      caller = iota // a client's CHECK command, first delivery
	byRedelivered               // a client's CHECK command delivered again
	byTimer                     // the engine's own CHECK timer
)

// maxCASAttempts bounds the read-modify-write loop on a contended record.
const maxCASAttempts = 16

// update applies mutate to the latest record with compare-and-set, reloading
// and retrying on a revision conflict. mutate returns false when there is
// nothing to change; then the record is returned as read.
func (rt *Runtime) update(ctx context.Context, jobType, id string, exec *Execution, rev uint64,
	mutate func(e *Execution) bool) (*Execution, uint64, error) {
	for range maxCASAttempts {
		if exec == nil {
			var err error
			if exec, rev, err = rt.store.Get(ctx, jobType, id); err != nil {
				return nil, 0, err
			}
		}
		next := *exec
		if !mutate(&next) {
			return exec, rev, nil
		}
		next.UpdatedAt = rt.cfg.Clock.Now()
		newRev, err := rt.store.Update(ctx, &next, rev)
		if err == nil {
			return &next, newRev, nil
		}
		if !errors.Is(err, ErrRevisionConflict) {
			return nil, 0, err
		}
		exec = nil // someone else wrote: read again and re-decide
	}
	return nil, 0, Errorf(CodeUnavailable, "execution %q: too many concurrent updates", id)
}

// check runs CHECK and folds its answer into the record: status, progress,
// and the terminal event if the execution just ended. A terminal execution
// is answered from its record without calling the job.
//
// by says who asks: the engine's timer, a client's command, or a client's
// command delivered again (which may be finishing what a crashed engine
// started).
func (rt *Runtime) check(ctx context.Context, b *Batch, def *Definition, exec *Execution, rev uint64, req *Request, by caller) (*Execution, *Response, error) {
	if exec.Status.Terminal() {
		if by != byClient {
			if err := rt.finish(ctx, b, def, exec, rev, nil, resultStored, by != byTimer); err != nil {
				return nil, nil, err
			}
		}
		return exec, rt.respond(&Response{Success: true, Message: exec.Message}, nil, exec, StageCheck), nil
	}
	run := rt.invoke(ctx, def, StageCheck, req, exec)
	resp, stageErr := run.resp, run.err
	if CodeOf(stageErr).Refusal() {
		// Refused (breaker open, limiter, bulkhead): the execution goes on
		// and is checked again later.
		return exec, rt.respond(resp, stageErr, exec, StageCheck), rt.audit(ctx, b, run, exec)
	}
	if stageErr != nil && TransientCheckError(stageErr) {
		// The job could not tell (its orchestrator unreachable for a
		// while): the execution goes on and the next tick asks again, up
		// to its deadline. Only a permanent error ends it.
		rt.deferCheck(def, exec, stageErr, by)
		return exec, rt.respond(resp, stageErr, exec, StageCheck), rt.audit(ctx, b, run, exec)
	}
	exec, _, err := rt.apply(ctx, b, def, exec, rev, run, by)
	if err != nil {
		return nil, nil, err
	}
	return exec, rt.respond(resp, stageErr, exec, StageCheck), nil
}

// apply folds the answer of a CHECK, or of a pushed REPORT (run.stage),
// into the record with compare-and-set: status, progress, and the terminal
// event and result if the execution just ended. applied is false when the
// record was already terminal (then nothing changed).
func (rt *Runtime) apply(ctx context.Context, b *Batch, def *Definition, exec *Execution, rev uint64, run *stageRun, by caller) (_ *Execution, applied bool, _ error) {
	resp, stageErr, req := run.resp, run.err, run.req
	now := rt.cfg.Clock.Now()
	progressed, running := false, false
	exec, rev, err := rt.update(ctx, def.Name, exec.ExecutionID, exec, rev, func(e *Execution) bool {
		applied = !e.Status.Terminal()
		if !applied {
			return false
		}
		progressed, running = false, false
		e.LastStage = run.stage
		if run.stage == StageCheck {
			e.Checks, e.Attempts = e.Checks+1, e.Attempts+max(req.Attempt, 1)
		}
		switch {
		case stageErr != nil:
			e.Status, e.Error = StatusFailed, stageErr.Error()
		case !resp.Success && !resp.Status.Terminal():
			e.Status, e.Error = StatusFailed, firstNonEmpty(resp.ErrorText(), resp.Message, "CHECK answered success=false")
		default:
			if resp.Status.Valid() && resp.Status != e.Status && CanTransition(e.Status, resp.Status) {
				// The first move to RUNNING is announced even at 0%: a
				// client waiting for "it runs" hears it.
				running = resp.Status == StatusRunning
				e.Status = resp.Status
				if resp.Status == StatusFailed {
					e.Error = firstNonEmpty(resp.ErrorText(), resp.Message, "job reported FAILED")
				}
			}
			if p := clampPercent(resp.ProgressPercentage); p != e.ProgressPercentage || resp.Message != e.Message {
				progressed = p != e.ProgressPercentage
				e.ProgressPercentage, e.Message = p, resp.Message
			}
		}
		if e.Status == StatusCompleted {
			e.ProgressPercentage = 100
		}
		if e.Status.Terminal() {
			e.EndedAt = &now
		}
		return true
	})
	if err != nil {
		return nil, false, err
	}
	if err := rt.audit(ctx, b, run, exec); err != nil {
		return nil, false, err
	}
	if (progressed || running) && !exec.Status.Terminal() {
		if err := rt.publishProgress(ctx, b, exec); err != nil {
			return nil, false, err
		}
	}
	if exec.Status == StatusCompleted && !exec.TerminalEventSent {
		// Just completed: its result is fetched and stored once, here.
		result, err := rt.completedResult(ctx, b, def, exec, false, resp)
		if err != nil {
			return nil, false, err
		}
		if err := rt.finish(ctx, b, def, exec, rev, result, resultGiven, by != byTimer); err != nil {
			return nil, false, err
		}
	} else if err := rt.finish(ctx, b, def, exec, rev, nil, resultStored, by != byTimer); err != nil {
		return nil, false, err
	}
	return exec, applied, nil
}

// stop runs STOP: a conflict on a terminal execution, else the job's Stop and
// the transition to STOPPED. A failing Stop leaves the execution as it was.
func (rt *Runtime) stop(ctx context.Context, b *Batch, def *Definition, exec *Execution, rev uint64, req *Request) (*Response, error) {
	if exec.Status.Terminal() {
		return fail(rt.answer(&Response{}, exec, StageStop),
			Errorf(CodeConflict, "execution %q is already %s: it cannot be stopped", exec.ExecutionID, exec.Status)), nil
	}
	run := rt.invoke(ctx, def, StageStop, req, exec)
	resp, stageErr := run.resp, run.err
	if stageErr != nil {
		return rt.respond(resp, stageErr, exec, StageStop), rt.audit(ctx, b, run, exec)
	}
	now := rt.cfg.Clock.Now()
	reason := firstNonEmpty(req.Reason, "stopped by request")
	won := false
	exec, rev, err := rt.update(ctx, def.Name, exec.ExecutionID, exec, rev, func(e *Execution) bool {
		won = !e.Status.Terminal()
		if !won {
			return false
		}
		e.Status, e.LastStage, e.Message, e.EndedAt = StatusStopped, StageStop, reason, &now
		return true
	})
	if err != nil {
		return nil, err
	}
	if err := rt.audit(ctx, b, run, exec); err != nil {
		return nil, err
	}
	if !won {
		return fail(rt.answer(&Response{}, exec, StageStop),
			Errorf(CodeConflict, "execution %q ended %s before it could be stopped", exec.ExecutionID, exec.Status)), nil
	}
	if err := rt.finish(ctx, b, def, exec, rev, nil, resultFresh, true); err != nil {
		return nil, err
	}
	if resp.Message == "" {
		resp.Message = reason
	}
	return rt.respond(resp, nil, exec, StageStop), nil
}

// Tick is the engine-driven CHECK of an execution, called by the Timers
// adapter for the n-th time (n from 1). It returns done once the execution is
// terminal (or gone), else the delay before the next tick. An execution past
// its deadline is stopped and ends TIMED_OUT.
func (rt *Runtime) Tick(ctx context.Context, jobType, executionID string, n int) (done bool, next time.Duration, err error) {
	return rt.TickBatch(ctx, NewBatch(nil), jobType, executionID, n)
}

// TickBatch is Tick with the adapter's batch of writes for this tick (see
// Batch): a nil error means everything the tick wrote is stored.
func (rt *Runtime) TickBatch(ctx context.Context, b *Batch, jobType, executionID string, n int) (done bool, next time.Duration, err error) {
	ctx = WithScrubber(ctx, rt.scrub)
	done, next, err = rt.tick(ctx, b, jobType, executionID, n)
	if err == nil {
		err = rt.wait(ctx, b)
	}
	if err != nil {
		rt.writeFailed(err)
	}
	return done, next, err
}

func (rt *Runtime) tick(ctx context.Context, b *Batch, jobType, executionID string, n int) (done bool, next time.Duration, err error) {
	def, ok := rt.reg.Lookup(jobType)
	if !ok {
		return true, 0, nil // not ours any more: nothing can check it
	}
	exec, rev, err := rt.store.Get(ctx, jobType, executionID)
	if errors.Is(err, ErrNotFound) {
		return true, 0, nil
	}
	if err != nil {
		return false, 0, err
	}
	if exec.Status.Terminal() {
		return true, 0, rt.finish(ctx, b, def, exec, rev, nil, resultStored, false)
	}
	req := &Request{ExecutionID: exec.ExecutionID, Parameters: exec.Parameters, RequestID: exec.RequestID,
		Initiator: "engine", Metadata: exec.Metadata, JobType: def.Name, SagaID: exec.SagaID,
		StartedAt: exec.CreatedAt}
	req.progress = rt.progressFunc(b, def, exec.ExecutionID)
	now := rt.cfg.Clock.Now()
	if !now.Before(exec.Deadline) {
		return true, 0, rt.timeOut(ctx, b, def, exec, rev, req, false)
	}
	req.Stage = StageCheck
	exec, _, err = rt.check(ctx, b, def, exec, rev, req, byTimer)
	if err != nil {
		return false, 0, err
	}
	if exec.Status.Terminal() {
		return true, 0, nil
	}
	next = rt.checkDelay(def, n+1)
	if left := exec.Deadline.Sub(now); left < next {
		next = max(left, time.Millisecond)
	}
	return false, next, nil
}

// timeOut ends an execution that outlived its deadline: the job is asked to
// stop (its answer does not change the outcome) and the record ends
// TIMED_OUT. mark: see finish (the timer ending it does not mark; the
// reconciler does).
func (rt *Runtime) timeOut(ctx context.Context, b *Batch, def *Definition, exec *Execution, rev uint64, req *Request, mark bool) error {
	limit := exec.Deadline.Sub(exec.CreatedAt).Round(time.Millisecond)
	req.Stage, req.Reason = StageStop, fmt.Sprintf("timed out after %s", limit)
	run := rt.invoke(ctx, def, StageStop, req, exec)
	if run.err != nil {
		rt.log.Warn().Err(ScrubberFrom(ctx).Error(run.err)).Str("executionId", exec.ExecutionID).Str("jobType", def.Name).
			Msg("stop of a timed-out execution failed")
	}
	now := rt.cfg.Clock.Now()
	exec, rev, err := rt.update(ctx, def.Name, exec.ExecutionID, exec, rev, func(e *Execution) bool {
		if e.Status.Terminal() {
			return false
		}
		e.Status, e.LastStage, e.EndedAt = StatusTimedOut, StageStop, &now
		e.Error = fmt.Sprintf("execution exceeded its timeout of %s", limit)
		return true
	})
	if err != nil {
		return err
	}
	if err := rt.audit(ctx, b, run, exec); err != nil {
		return err
	}
	return rt.finish(ctx, b, def, exec, rev, nil, resultStored, mark)
}

// finish publishes the terminal event of a terminal execution once: the
// record's TerminalEventSent flag, set by compare-and-set after the publish,
// remembers it across crashes, and the event's dedup id covers a crash
// between the publish and the flag.
//
// A COMPLETED execution's event carries its result (when small enough):
// result if given, else the stored one, else the job's RESULT, stored now.
//
// rev is the record's revision when known (0: read it again); from says
// where the result of a COMPLETED execution comes from.
//
// mark records in the execution that the event went out. It is needed only
// where a CHECK timer may still find the execution later, long after the
// event stream's duplicate window: a client's CHECK or STOP ended it. When
// the timer itself or the creating command ended it, the message that owns
// the work is acknowledged right after, and a redelivery comes back within
// the ack wait, well inside the duplicate window that dedups the republish.
// A redelivery of the creating command and the timer reconciler mark too:
// they may come later. The flag is stored only once the batch, the event
// included, is stored.
func (rt *Runtime) finish(ctx context.Context, b *Batch, def *Definition, exec *Execution, rev uint64, result *Result, from resultFrom, mark bool) error {
	if !exec.Status.Terminal() || exec.TerminalEventSent {
		return nil
	}
	if from != resultGiven {
		var err error
		if result, err = rt.completedResult(ctx, b, def, exec, from == resultStored, nil); err != nil {
			return err
		}
	}
	var errText *string
	if exec.Error != "" {
		errText = strPtr(exec.Error)
	}
	if err := rt.publishData(ctx, b, exec, TerminalEventType(exec.Status), exec.Status, errText, rt.eventData(result)); err != nil {
		return err
	}
	if !mark {
		return nil
	}
	// The flag must never be stored before the event it stands for: wait
	// for the batch (the event may be pipelined) before writing it.
	if err := rt.wait(ctx, b); err != nil {
		return err
	}
	var known *Execution
	if rev > 0 {
		known = exec
	}
	_, _, err := rt.update(ctx, exec.JobType, exec.ExecutionID, known, rev, func(e *Execution) bool {
		if e.TerminalEventSent {
			return false
		}
		e.TerminalEventSent = true
		return true
	})
	if err == nil {
		exec.TerminalEventSent = true
	}
	return err
}

// publish sends a job event unless events are switched off. Its dedup id is
// fixed per execution and type, so a replay publishes nothing new.
func (rt *Runtime) publish(ctx context.Context, b *Batch, exec *Execution, eventType string, status Status, errText *string) error {
	return rt.publishData(ctx, b, exec, eventType, status, errText, nil)
}

func (rt *Runtime) publishData(ctx context.Context, b *Batch, exec *Execution, eventType string, status Status, errText *string, data map[string]any) error {
	if err := rt.flushAudit(ctx, b); err != nil {
		return err
	}
	if rt.cfg.DisableEvents {
		return nil
	}
	ev := rt.event(exec, eventType, status, errText)
	ev.Data.Data = data
	ev.ID = exec.JobType + "." + exec.ExecutionID + "." + eventType
	return rt.events.Publish(ctx, ev)
}

func (rt *Runtime) publishProgress(ctx context.Context, b *Batch, exec *Execution) error {
	if err := rt.flushAudit(ctx, b); err != nil {
		return err
	}
	if rt.cfg.DisableEvents {
		return nil
	}
	ev := rt.event(exec, EventProgress, exec.Status, nil)
	p := exec.ProgressPercentage
	ev.Data.ProgressPercentage = &p
	ev.ID = exec.JobType + "." + exec.ExecutionID + "." + EventProgress + "." + strconv.Itoa(p)
	return rt.events.Publish(ctx, ev)
}

func (rt *Runtime) event(exec *Execution, eventType string, status Status, errText *string) *Event {
	return &Event{Data: EventData{
		EventType: eventType, ExecutionID: exec.ExecutionID, JobType: exec.JobType,
		Success: status != StatusFailed && status != StatusTimedOut, Status: status, Error: errText,
		Timestamp: rt.cfg.Clock.Now(), SagaID: exec.SagaID, Message: exec.Message,
		RequestID: exec.RequestID, Initiator: exec.Initiator, Metadata: exec.Metadata,
	}}
}

// progressFunc backs Request.ReportProgress: it records progress on a live
// execution and publishes JOB_PROGRESS when the percentage moved.
func (rt *Runtime) progressFunc(b *Batch, def *Definition, id string) ProgressFunc {
	return func(ctx context.Context, percent int, message string) error {
		moved := false
		exec, _, err := rt.update(ctx, def.Name, id, nil, 0, func(e *Execution) bool {
			// A pending claim belongs to the START writing it: the START
			// response carries the progress instead.
			if e.Pending || e.Status.Terminal() || (e.ProgressPercentage == percent && e.Message == message) {
				return false
			}
			moved = e.ProgressPercentage != percent
			e.ProgressPercentage, e.Message = percent, message
			if e.Status == StatusStarted {
				e.Status, moved = StatusRunning, true // announced even at 0%
			}
			return true
		})
		if errors.Is(err, ErrNotFound) {
			// START reports progress before its record exists: the START
			// response carries it instead.
			return nil
		}
		if err != nil || !moved {
			return err
		}
		return rt.publishProgress(ctx, b, exec)
	}
}

// TransientCheckError reports whether a CHECK that answered err leaves the
// execution running (to be checked again) rather than failing it: any error
// but a permanent one (IsPermanent), a panic, or an engine bug
// (CodeInternal).
func TransientCheckError(err error) bool {
	if err == nil || IsPermanent(err) || CodeOf(err) == CodeInternal {
		return false
	}
	var pe *PanicError
	return !asPanic(err, &pe)
}

// deferCheck reports a transient CHECK error: a log line and the
// OnTransientCheck hook (a metric).
func (rt *Runtime) deferCheck(def *Definition, exec *Execution, err error, by caller) {
	next := "the next engine CHECK"
	if by != byTimer {
		next = "the engine's next CHECK"
	}
	rt.log.Warn().Str("jobType", def.Name).Str("executionId", exec.ExecutionID).Str("error", err.Error()).
		Str("errorType", string(CodeOf(err))).Time("deadline", exec.Deadline).
		Msg("CHECK failed on a transient error; the execution stays " + string(exec.Status) + " until " + next)
	if rt.cfg.OnTransientCheck != nil {
		rt.cfg.OnTransientCheck(def.Name, exec.ExecutionID, err)
	}
}
