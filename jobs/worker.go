package jobs

import (
	"context"
	"runtime/debug"
	"time"
)

// WorkerJob is a job whose work runs inside the engine (docs/jobs.md,
// "Worker jobs"): START stores the execution and queues the work; an engine
// instance calls Work with the execution's context; its return completes
// the execution at once (JOB_COMPLETED carries the response's Data), an
// error is retried with backoff, a Permanent one fails it.
//
// Work runs at least once: an instance that dies mid-work leaves the work
// to another one, which calls Work again for the same req.ExecutionID with a
// higher req.Attempt. It should therefore be idempotent, or check what an
// earlier attempt did. ctx is cancelled by STOP (wherever Work runs), at the
// execution's deadline (it then ends TIMED_OUT) and when the engine gives up
// waiting for it at shutdown (it is then run again elsewhere).
//
// The response is the result: jobs.Completed(message, data), or nil for no
// data. A response with Success false fails the execution without retry.
type WorkerJob interface {
	Work(ctx context.Context, req *Request, p Progress) (*Response, error)
}

// Progress records a worker job's progress (0..100) and a message in its
// execution record and publishes JOB_PROGRESS when the percentage moved.
type Progress = ProgressFunc

// StageWork names a run of a worker job's Work in the audit trail and the
// record's lastStage. It is no command: nobody sends it.
const StageWork Stage = "WORK"

// WithConcurrency sets how many Work calls of this worker job one engine
// instance runs at once (default orchestration.worker-concurrency).
func WithConcurrency(n int) Option { return func(o *JobOptions) { o.Concurrency = n } }

// WorkItem is the queued work of one execution of a worker job.
type WorkItem struct {
	JobType     string
	ExecutionID string
	// Parameters are the execution's parameters as START got them, secrets
	// included (the record keeps them masked): Work needs them. The queue
	// drops the item once the work is done.
	Parameters map[string]any
}

// WorkQueue is where worker jobs' work waits for an engine instance (the
// bus adapter's JOBS_WORK stream).
type WorkQueue interface {
	// Enqueue stores the work durably. Enqueueing an execution again while
	// its first item is recent stores it once.
	Enqueue(ctx context.Context, item WorkItem) error
	// Cancel asks the instance running the execution's Work, wherever it
	// is, to cancel its context, and returns once Work has returned or after
	// a bounded wait (nobody may hold it).
	Cancel(ctx context.Context, jobType, executionID string) error
}

// WorkConfig is how the runtime retries worker jobs.
type WorkConfig struct {
	// MaxAttempts is how many times Work runs before a plain error fails
	// the execution; default 3 (orchestration.resiliency.retry-max-attempts).
	MaxAttempts int
	// Backoff is the wait before attempt n+1 after attempt n failed;
	// default 5s doubling.
	Backoff func(attempt int) time.Duration
}

// workState is the runtime's worker-job wiring (SetWork).
type workState struct {
	queue WorkQueue
	cfg   WorkConfig
}

// SetWork wires the work queue of worker jobs; call it before the runtime
// handles anything. Without it, START of a worker job fails.
func (rt *Runtime) SetWork(q WorkQueue, cfg WorkConfig) {
	if cfg.MaxAttempts < 1 {
		cfg.MaxAttempts = 3
	}
	if cfg.Backoff == nil {
		cfg.Backoff = func(n int) time.Duration { return 5 * time.Second << min(max(n-1, 0), 10) }
	}
	rt.work = &workState{queue: q, cfg: cfg}
}

// enqueueWork queues the work of a worker job's execution that is still
// waiting for it (STARTED).
func (rt *Runtime) enqueueWork(ctx context.Context, def *Definition, exec *Execution, params map[string]any) error {
	if def.Worker == nil || exec.Status != StatusStarted || exec.Pending {
		return nil
	}
	if rt.work == nil {
		return Errorf(CodeUnavailable, "job %q is a worker job and this engine has no work queue", def.Name)
	}
	return rt.work.queue.Enqueue(ctx, WorkItem{JobType: def.Name, ExecutionID: exec.ExecutionID, Parameters: params})
}

// callWork runs Work with panics recovered into a permanent *PanicError.
func callWork(ctx context.Context, def *Definition, req *Request, p Progress) (resp *Response, err error) {
	defer func() {
		if r := recover(); r != nil {
			resp, err = nil, Permanent(&PanicError{Value: r, Stack: debug.Stack()})
		}
	}()
	return def.Worker.Work(ctx, req, p)
}

// workerStage answers CHECK, COLLECT and STOP of a worker job from its
// record: no job method runs (Work is the only one).
func (rt *Runtime) workerStage(ctx context.Context, b *Batch, def *Definition, exec *Execution, rev uint64, req *Request, stage Stage) (*Response, error) {
	switch stage {
	case StageCheck:
		return rt.respond(&Response{Success: true, Message: exec.Message}, nil, exec, StageCheck), nil
	case StageCollect:
		return rt.respond(OK("nothing to collect", nil), nil, exec, StageCollect), nil
	case StageStop:
		return rt.workerStop(ctx, b, def, exec, rev, req)
	}
	return rt.respond(&Response{}, Errorf(CodeInvalidArgument, "job %q is worker: it has no %s stage", def.Name, stage), exec, stage), nil
}

// workerStop ends a worker job's execution STOPPED, then cancels its Work
// wherever it runs and waits (bounded) for it to return before the
// terminal event and the answer. Work returning in between finds the record
// terminal and its result is dropped.
func (rt *Runtime) workerStop(ctx context.Context, b *Batch, def *Definition, exec *Execution, rev uint64, req *Request) (*Response, error) {
	if exec.Status.Terminal() {
		return fail(rt.answer(&Response{}, exec, StageStop),
			Errorf(CodeConflict, "execution %q is already %s: it cannot be stopped", exec.ExecutionID, exec.Status)), nil
	}
	now := rt.cfg.Clock.Now()
	reason := firstNonEmpty(req.Reason, "stopped by request")
	run := &stageRun{stage: StageStop, req: req, start: now, resp: &Response{Success: true, Message: reason}}
	won, wasRunning := false, false
	exec, rev, err := rt.update(ctx, def.Name, exec.ExecutionID, exec, rev, func(e *Execution) bool {
		won = !e.Status.Terminal()
		if !won {
			return false
		}
		wasRunning = e.Status == StatusRunning
		e.Status, e.LastStage, e.Message, e.EndedAt = StatusStopped, StageStop, reason, &now
		return true
	})
	if err != nil {
		return nil, err
	}
	run.end = rt.cfg.Clock.Now()
	if err := rt.audit(ctx, b, run, exec); err != nil {
		return nil, err
	}
	if !won {
		return fail(rt.answer(&Response{}, exec, StageStop),
			Errorf(CodeConflict, "execution %q ended %s before it could be stopped", exec.ExecutionID, exec.Status)), nil
	}
	if wasRunning && rt.work != nil {
		// Not yet picked up (STARTED): the runner finds the record
		// terminal and acknowledges the work without running it.
		if err := rt.work.queue.Cancel(ctx, def.Name, exec.ExecutionID); err != nil {
			rt.log.Warn().Err(err).Str("jobType", def.Name).Str("executionId", exec.ExecutionID).
				Msg("cancelling a stopped worker job's Work failed; its heartbeat will see the record stopped")
		}
	}
	if err := rt.finish(ctx, b, def, exec, rev, nil, resultFresh, true); err != nil {
		return nil, err
	}
	return rt.respond(&Response{Success: true, Message: reason}, nil, exec, StageStop), nil
}

// workerStageAnswer is the stage a worker job answers through the
// middleware: START (the work is queued after the record is stored);
// every other stage is answered from the record before it gets here.
func workerStageAnswer(inv *Invocation) (*Response, error) {
	if inv.Stage == StageStart {
		if c, ok := inv.Job.Worker.(ParamsChecker); ok {
			if err := c.CheckParams(inv.Request); err != nil {
				return nil, Permanent(err)
			}
		}
		return Started("work queued"), nil
	}
	return nil, Permanent(Errorf(CodeInvalidArgument, "job %q is worker: it has no %s stage", inv.Job.Name, inv.Stage))
}
