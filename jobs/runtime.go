package jobs

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/rs/zerolog"
)

// RuntimeConfig tunes a Runtime. Zero values take the defaults in comments.
type RuntimeConfig struct {
	DefaultTimeout   time.Duration // 24h: an execution older than this ends TIMED_OUT
	ClaimTimeout     time.Duration // 10m: a START's claim on a client-chosen id is abandoned after this (longer than a stage with its retries)
	CheckInterval    time.Duration // 2s: first engine-driven CHECK after START
	MaxCheckInterval time.Duration // 30s: cap of the CHECK backoff
	CheckBackoff     float64       // 1.5: growth of the CHECK interval per CHECK
	DisableEvents    bool          // false: publish-job-events
	Sanitizer        *Sanitizer    // masks secrets in all the runtime stores, publishes and answers (scrub_ports.go); nil stores as given
	Middleware       []Middleware  // around every stage, first = outermost
	Clock            Clock         // SystemClock
	Logger           zerolog.Logger
	Audit            AuditSink     // nil: no audit trail
	Results          ResultStore   // nil: results are not persisted (RESULT asks the job)
	Persist          PersistConfig // what the audit trail and results keep
	// OnTransientCheck is told of every CHECK that failed on a transient
	// error and left the execution running (see TransientCheckError); nil:
	// nobody is. It must not block.
	OnTransientCheck func(jobType, executionID string, err error)
	// OnWriteFailure is told when a command or tick failed because a port
	// was unavailable (a write may be missing: the engine runs a timer
	// reconciliation pass soon, see Reconciler.Kick); nil: nobody is. It
	// must not block.
	OnWriteFailure func(err error)
}

// WithDefaults fills the zero fields.
func (c RuntimeConfig) WithDefaults() RuntimeConfig {
	if c.DefaultTimeout <= 0 {
		c.DefaultTimeout = 24 * time.Hour
	}
	if c.CheckInterval <= 0 {
		c.CheckInterval = 2 * time.Second
	}
	if c.ClaimTimeout <= 0 {
		c.ClaimTimeout = 10 * time.Minute
	}
	if c.MaxCheckInterval <= 0 {
		c.MaxCheckInterval = 30 * time.Second
	}
	if c.MaxCheckInterval < c.CheckInterval {
		c.MaxCheckInterval = c.CheckInterval
	}
	if c.CheckBackoff < 1 {
		c.CheckBackoff = 1.5
	}
	if c.Clock == nil {
		c.Clock = SystemClock{}
	}
	if c.Persist.EventDataMaxBytes <= 0 {
		c.Persist.EventDataMaxBytes = 64 << 10
	}
	return c
}

// Runtime applies the lifecycle of docs/architecture.md to commands: it is
// what an adapter calls for every command and every timer.
type Runtime struct {
	reg     *Registry
	store   StateStore
	events  EventPublisher
	timers  Timers
	cfg     RuntimeConfig
	handler Handler
	log     zerolog.Logger

	auditSink AuditSink
	results   ResultStore
	persist   PersistConfig
	scrub     *Scrubber // masks sensitive keys only; nil when sanitizing is off

	work *workState // worker jobs' queue and retry policy (worker.go); nil: none wired
}

// NewRuntime wires a runtime to its ports.
func NewRuntime(reg *Registry, store StateStore, events EventPublisher, timers Timers, cfg RuntimeConfig) *Runtime {
	cfg = cfg.WithDefaults()
	rt := &Runtime{
		reg: reg, store: store, events: events, timers: timers, cfg: cfg,
		handler: Chain(callStage, cfg.Middleware...),
		log:     cfg.Logger, auditSink: cfg.Audit, results: cfg.Results, persist: cfg.Persist,
	}
	if cfg.Sanitizer != nil {
		rt.scrub = cfg.Sanitizer.Scrubber(nil, nil)
		rt.store = &scrubStore{StateStore: store, base: rt.scrub}
		if events != nil {
			rt.events = &scrubEvents{next: events, base: rt.scrub}
		}
		if cfg.Audit != nil {
			rt.auditSink = &scrubAudit{next: cfg.Audit, base: rt.scrub}
		}
		if cfg.Results != nil {
			rt.results = &scrubResults{ResultStore: cfg.Results, base: rt.scrub}
		}
	}
	return rt
}

// Registry returns the job types the runtime serves.
func (rt *Runtime) Registry() *Registry { return rt.reg }

// Handle runs one command and returns its JobStageResponse. A non-nil error
// means the command was not processed because a port failed (the state store
// or the event stream is unavailable): the adapter should redeliver it. Every
// other outcome, a failed stage included, is in the response.
//
// The values of the command's sensitive parameters and metadata are masked
// in everything it stores, publishes and answers, errors included (see
// Scrubber).
func (rt *Runtime) Handle(ctx context.Context, cmd *Command) (*Response, error) {
	return rt.HandleBatch(ctx, NewBatch(nil), cmd)
}

// HandleBatch is Handle with the adapter's batch of writes for this command
// (see Batch): a nil error means everything the command wrote is stored.
func (rt *Runtime) HandleBatch(ctx context.Context, b *Batch, cmd *Command) (*Response, error) {
	sc := rt.cfg.Sanitizer.Scrubber(cmd.Request.Parameters, cmd.Request.Metadata)
	ctx = WithScrubber(ctx, sc)
	resp, err := rt.handle(ctx, b, cmd)
	if err == nil {
		err = rt.wait(ctx, b)
	}
	if err != nil {
		rt.writeFailed(err)
		return nil, sc.Error(err)
	}
	return scrubResponse(sc, resp), nil
}

func (rt *Runtime) writeFailed(err error) {
	if rt.cfg.OnWriteFailure != nil && CodeOf(err) == CodeUnavailable {
		rt.cfg.OnWriteFailure(err)
	}
}

func (rt *Runtime) handle(ctx context.Context, b *Batch, cmd *Command) (*Response, error) {
	def, ok := rt.reg.Lookup(cmd.JobType)
	if !ok {
		return rt.reject(cmd, Errorf(CodeNotFound, "unknown job %q", cmd.JobType)), nil
	}
	if !def.Supports(cmd.Stage) {
		return rt.reject(cmd, Errorf(CodeInvalidArgument, "job %q is %s: it has no %s stage", def.Name, def.Mode(), cmd.Stage)), nil
	}
	req := cmd.Request
	req.JobType, req.Stage, req.SagaID = def.Name, cmd.Stage, cmd.SagaID
	if req.ExecutionID == "" {
		if cmd.Stage != StageStart && cmd.Stage != StageExecute {
			return rt.reject(cmd, Errorf(CodeInvalidArgument, "executionId is required for %s", cmd.Stage)), nil
		}
		req.ExecutionID = executionIDFor(cmd.ID)
	}
	if err := ValidateExecutionID(req.ExecutionID); err != nil {
		return rt.reject(cmd, err), nil
	}
	if cmd.Stage != StageReport && req.hasReportFields() {
		return rt.reject(cmd, Errorf(CodeInvalidArgument,
			"progressPercentage, message, status, data and error belong to a REPORT, not to %s", cmd.Stage)), nil
	}
	if cmd.Stage == StageStart || cmd.Stage == StageExecute {
		return rt.handleCreate(ctx, b, def, cmd, req)
	}
	return rt.handleExisting(ctx, b, def, cmd, req)
}

// creating is what a START or EXECUTE keeps while it runs: its request and
// the gate of its progress reports, in one allocation.
type creating struct {
	req  Request
	gate progressGate
}

// handleCreate runs START or EXECUTE (create). Progress reported before the
// record exists is held, not lost.
func (rt *Runtime) handleCreate(ctx context.Context, b *Batch, def *Definition, cmd *Command, req Request) (*Response, error) {
	c := &creating{req: req}
	c.gate.next = rt.progressFunc(b, def, req.ExecutionID)
	c.req.progress = c.gate.report
	resp, err := rt.create(ctx, b, def, cmd, &c.req)
	if err == nil {
		err = c.gate.release(ctx)
	}
	return resp, err
}

// handleExisting runs a stage of an execution that exists.
func (rt *Runtime) handleExisting(ctx context.Context, b *Batch, def *Definition, cmd *Command, req Request) (*Response, error) {
	req.progress = rt.progressFunc(b, def, req.ExecutionID)
	exec, rev, err := rt.store.Get(ctx, def.Name, req.ExecutionID)
	if errors.Is(err, ErrNotFound) {
		return rt.reject(cmd, Errorf(CodeNotFound, "execution %q of job %q not found", req.ExecutionID, def.Name)), nil
	}
	if err != nil {
		return nil, err
	}
	if exec.Pending {
		// START is still running for it: nothing else may touch the job yet.
		return fail(rt.answer(&Response{Message: "execution is being started"}, exec, cmd.Stage),
			Errorf(CodeRejected, "execution %q is being started; try again", exec.ExecutionID)), nil
	}
	req.StartedAt = exec.CreatedAt
	if len(req.Parameters) == 0 {
		// Later stages see the parameters START was given (as stored, so
		// sensitive ones are masked).
		req.Parameters = exec.Parameters
	}
	if req.SagaID == "" {
		req.SagaID = exec.SagaID
	}
	if def.Worker != nil && cmd.Stage != StageResult {
		return rt.workerStage(ctx, b, def, exec, rev, &req, cmd.Stage)
	}
	switch cmd.Stage {
	case StageCheck:
		by := byClient
		if cmd.Delivery > 1 {
			by = byRedelivered
		}
		_, resp, err := rt.check(ctx, b, def, exec, rev, &req, by)
		return resp, err
	case StageStop:
		return rt.stop(ctx, b, def, exec, rev, &req)
	case StageReport:
		return rt.report(ctx, b, def, exec, rev, &req)
	case StageResult:
		if exec.Status != StatusCompleted {
			resp := rt.answer(&Response{}, exec, StageResult)
			return fail(resp, Errorf(CodeNotReady, "execution %q is %s: not yet completed", exec.ExecutionID, exec.Status)), nil
		}
		if resp, err := rt.storedResult(ctx, exec); resp != nil || err != nil {
			return resp, err
		}
		if def.Async == nil {
			return fail(rt.answer(&Response{}, exec, StageResult),
				Errorf(CodeNotFound, "no stored result for execution %q (result persistence off or retention passed)", exec.ExecutionID)), nil
		}
	}
	// COLLECT and RESULT read; they never move the state machine.
	run := rt.invoke(ctx, def, cmd.Stage, &req, exec)
	if err := rt.audit(ctx, b, run, exec); err != nil {
		return nil, err
	}
	return rt.respond(run.resp, run.err, exec, cmd.Stage), nil
}

// storedResult answers RESULT from the result store; nil when there is no
// stored result (the job is asked instead).
func (rt *Runtime) storedResult(ctx context.Context, exec *Execution) (*Response, error) {
	if rt.results == nil {
		return nil, nil
	}
	r, err := rt.results.Get(ctx, exec.JobType, exec.ExecutionID)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, err
	case r.Refused != "":
		return fail(rt.answer(&Response{Message: r.Message}, exec, StageResult), Errorf(CodeFailed, "%s", r.Refused)), nil
	}
	return rt.answer(&Response{Success: true, Message: r.Message, Data: r.TransformedOutput}, exec, StageResult), nil
}

// invoke runs a stage through the middleware chain, timed for the audit.
func (rt *Runtime) invoke(ctx context.Context, def *Definition, stage Stage, req *Request, exec *Execution) *stageRun {
	if req.Attempt == 0 {
		req.Attempt = 1
	}
	c := &invocationRun{run: stageRun{stage: stage, req: req, start: rt.cfg.Clock.Now()},
		inv: Invocation{Job: def, Stage: stage, Request: req, Execution: exec}}
	run := &c.run
	run.resp, run.err = rt.handler(ctx, &c.inv)
	run.end = rt.cfg.Clock.Now()
	return run
}

// invocationRun is a stage run and the invocation the chain sees, in one
// allocation: both live as long as the stage's audit entry is being made.
type invocationRun struct {
	run stageRun
	inv Invocation
}

// respond builds the JobStageResponse of a stage from the handler's answer
// and the record after the stage.
func (rt *Runtime) respond(resp *Response, stageErr error, exec *Execution, stage Stage) *Response {
	if resp == nil {
		resp = &Response{}
	} else {
		cp := *resp
		resp = &cp
	}
	resp = rt.answer(resp, exec, stage)
	if stageErr != nil {
		return fail(resp, stageErr)
	}
	if exec.Status == StatusFailed || exec.Status == StatusTimedOut {
		resp.Success = false
		if resp.Error == nil {
			resp.Error = strPtr(firstNonEmpty(exec.Error, "execution failed"))
		}
		resp.Code = CodeFailed
	}
	return resp
}

// answer stamps a response with the execution's identity and state.
func (rt *Runtime) answer(resp *Response, exec *Execution, stage Stage) *Response {
	resp.ExecutionID = exec.ExecutionID
	resp.Stage = stage
	resp.Status = exec.Status
	resp.Timestamp = rt.cfg.Clock.Now()
	if resp.ProgressPercentage == 0 {
		resp.ProgressPercentage = exec.ProgressPercentage
	}
	if resp.Metadata == nil {
		resp.Metadata = exec.Metadata
	}
	return resp
}

// reject answers a command that never reached a stage.
func (rt *Runtime) reject(cmd *Command, err error) *Response {
	resp := &Response{ExecutionID: cmd.Request.ExecutionID, Stage: cmd.Stage, Timestamp: rt.cfg.Clock.Now(),
		Metadata: cmd.Request.Metadata}
	return fail(resp, err)
}

func fail(resp *Response, err error) *Response {
	resp.Success = false
	resp.Error = strPtr(err.Error())
	resp.Code = CodeOf(err)
	return resp
}

func (rt *Runtime) timeout(def *Definition) time.Duration {
	if def.Options.DefaultTimeout > 0 {
		return def.Options.DefaultTimeout
	}
	return rt.cfg.DefaultTimeout
}

// checkDelay is the wait before the n-th engine-driven CHECK (n from 1):
// check-interval growing by the backoff factor up to max-check-interval.
func (rt *Runtime) checkDelay(def *Definition, n int) time.Duration {
	first, limit := rt.cfg.CheckInterval, rt.cfg.MaxCheckInterval
	if def.Options.CheckInterval > 0 {
		first = def.Options.CheckInterval
	}
	if def.Options.MaxCheckInterval > 0 {
		limit = def.Options.MaxCheckInterval
	}
	d := float64(first) * math.Pow(rt.cfg.CheckBackoff, float64(max(n-1, 0)))
	if d > float64(limit) {
		return max(limit, first)
	}
	return time.Duration(d)
}

func clampPercent(p int) int { return min(max(p, 0), 100) }

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// String makes a command readable in logs.
func (c *Command) String() string {
	return fmt.Sprintf("%s.%s(%s)", c.JobType, c.Stage.Token(), c.Request.ExecutionID)
}
