package jobs

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jetjobs/jetjobs/internal/fastjson"
)

// AuditEntry is one stage of one execution, as the audit trail keeps it.
type AuditEntry struct {
	ExecutionID string            `json:"executionId"`
	JobType     string            `json:"jobType"`
	Stage       Stage             `json:"stage"`
	Status      Status            `json:"status,omitempty"` // the execution's status after the stage
	Outcome     string            `json:"outcome"`          // success | unsuccessful | failure | rejected | timeout | invalid
	StartedAt   time.Time         `json:"startedAt"`
	EndedAt     time.Time         `json:"endedAt"`
	DurationMs  float64           `json:"durationMs"`
	Attempt     int               `json:"attempt"`
	Parameters  map[string]any    `json:"parameters,omitempty"` // sanitized; only with persist-input-parameters
	Message     string            `json:"message,omitempty"`
	Error       string            `json:"error,omitempty"`
	ErrorType   Code              `json:"errorType,omitempty"`
	StackTrace  string            `json:"stackTrace,omitempty"` // only with include-stack-traces, for panics
	RequestID   string            `json:"requestId,omitempty"`
	Initiator   string            `json:"initiator,omitempty"`
	Metadata    map[string]string `json:"metadata,omitempty"`
	SagaID      string            `json:"sagaId,omitempty"`
}

// AuditSink appends audit entries, all of one execution, in order. An
// error means they are not stored; the runtime then does not acknowledge
// the command, so it is retried.
type AuditSink interface {
	Append(ctx context.Context, entries ...*AuditEntry) error
}

// Result is the final result of a COMPLETED execution (or a sync EXECUTE).
type Result struct {
	ExecutionID       string            `json:"executionId"`
	JobType           string            `json:"jobType"`
	Status            Status            `json:"status"`
	Message           string            `json:"message,omitempty"`
	RawOutput         any               `json:"rawOutput,omitempty"`         // Response.Raw, with persist-raw-output
	TransformedOutput map[string]any    `json:"transformedOutput,omitempty"` // Response.Data, with persist-transformed-output
	CompletedAt       time.Time         `json:"completedAt"`
	RequestID         string            `json:"requestId,omitempty"`
	Initiator         string            `json:"initiator,omitempty"`
	Metadata          map[string]string `json:"metadata,omitempty"`
	SagaID            string            `json:"sagaId,omitempty"`
	// SizeBytes is the encoded size; over max-data-size-bytes the outputs
	// are dropped, Refused says why, and the rest is still stored.
	SizeBytes int64  `json:"sizeBytes"`
	Refused   string `json:"refused,omitempty"`
}

// ResultStore keeps final results. Get fails with ErrNotFound when there is
// none.
type ResultStore interface {
	Put(ctx context.Context, r *Result) error
	Get(ctx context.Context, jobType, executionID string) (*Result, error)
}

// PersistConfig is orchestration.persistence as the runtime applies it.
type PersistConfig struct {
	AuditParameters   bool  // persist-input-parameters
	AuditStackTraces  bool  // include-stack-traces
	PersistRaw        bool  // persist-raw-output
	PersistTrans      bool  // persist-transformed-output
	MaxDataSizeBytes  int64 // max-data-size-bytes; 0 = unlimited
	EventDataMaxBytes int   // results up to this size also ride in JOB_COMPLETED's data (default 64 KiB)
}

// stageRun is one call of a stage, timed, for the audit trail.
type stageRun struct {
	stage      Stage
	req        *Request
	resp       *Response
	err        error
	start, end time.Time
	// params are req's parameters already sanitized, when the caller has
	// them (the record of the execution the stage created); nil: sanitize.
	params map[string]any
}

// audit appends the entry of a stage run, with the execution's status after
// it; exec may be nil when nothing was created.
func (rt *Runtime) audit(ctx context.Context, b *Batch, run *stageRun, exec *Execution) error {
	if rt.auditSink == nil || run == nil {
		return nil
	}
	e := &AuditEntry{
		ExecutionID: run.req.ExecutionID, JobType: run.req.JobType, Stage: run.stage,
		Outcome: Outcome(run.resp, run.err), StartedAt: run.start, EndedAt: run.end,
		DurationMs: float64(run.end.Sub(run.start).Microseconds()) / 1000, Attempt: max(run.req.Attempt, 1),
		RequestID: run.req.RequestID, Initiator: run.req.Initiator, Metadata: run.req.Metadata, SagaID: run.req.SagaID,
	}
	if exec != nil {
		e.Status = exec.Status
	}
	if run.resp != nil {
		e.Message = run.resp.Message
		if run.err == nil && run.resp.Error != nil {
			e.Error = *run.resp.Error
		}
	}
	if rt.persist.AuditParameters {
		e.Parameters = run.params
		if e.Parameters == nil {
			e.Parameters = rt.sanitize(run.req.Parameters)
		}
	}
	if run.err != nil {
		e.Error, e.ErrorType = run.err.Error(), CodeOf(run.err)
		if pe := (*PanicError)(nil); rt.persist.AuditStackTraces && asPanic(run.err, &pe) {
			e.StackTrace = string(pe.Stack)
		}
	}
	b.add(e)
	return nil
}

func (rt *Runtime) appendAudit(ctx context.Context, entries ...*AuditEntry) error {
	if err := rt.auditSink.Append(ctx, entries...); err != nil {
		return &Error{Code: CodeUnavailable, Msg: "audit entries not stored", Err: err}
	}
	return nil
}

// flushAudit writes the audit entries gathered in the batch, as one
// append. It runs before any event is published, so the trail is stored
// before anyone hears of the outcome, and when the command is done.
func (rt *Runtime) flushAudit(ctx context.Context, b *Batch) error {
	if rt.auditSink == nil {
		return nil
	}
	entries := b.takeAudit()
	if len(entries) == 0 {
		return nil
	}
	return rt.appendAudit(ctx, entries...)
}

// Outcome names how a stage call ended, for the audit trail, metrics and
// logs: success, unsuccessful (answered success=false), invalid (a caller's
// mistake), rejected (refused by a policy), timeout or failure.
func Outcome(resp *Response, err error) string {
	switch {
	case err == nil && resp != nil && !resp.Success:
		return "unsuccessful"
	case err == nil:
		return "success"
	}
	switch CodeOf(err) {
	case CodeRejected, CodeUnavailable:
		return "rejected"
	case CodeTimeout:
		return "timeout"
	case CodeInvalidParameter, CodeInvalidArgument:
		return "invalid"
	}
	return "failure"
}

func (rt *Runtime) sanitize(m map[string]any) map[string]any {
	if rt.cfg.Sanitizer == nil {
		return m
	}
	return rt.cfg.Sanitizer.Map(m)
}

// storeResult persists the final result of a completed execution from the
// response that carries it. An oversized result is stored without its
// outputs and with the reason, so RESULT can say why; the returned note is
// that reason ("" when all was stored).
func (rt *Runtime) storeResult(ctx context.Context, exec *Execution, resp *Response) (r *Result, note string, err error) {
	if rt.results == nil || resp == nil {
		return nil, "", nil
	}
	r = &Result{ExecutionID: exec.ExecutionID, JobType: exec.JobType, Status: exec.Status, Message: resp.Message,
		CompletedAt: rt.cfg.Clock.Now(), RequestID: exec.RequestID, Initiator: exec.Initiator,
		Metadata: exec.Metadata, SagaID: exec.SagaID}
	if rt.persist.PersistRaw {
		r.RawOutput = resp.Raw
	}
	if rt.persist.PersistTrans {
		r.TransformedOutput = rt.sanitize(resp.Data)
	}
	if r.RawOutput == nil && len(r.TransformedOutput) == 0 && exec.Mode == "async" {
		// Nothing to keep: RESULT asks the job, which has nothing either.
		// (A sync job has no RESULT stage to ask: its result is kept.)
		return nil, "", nil
	}
	size, err := encodedSize(r)
	if err != nil {
		return nil, "", Errorf(CodeFailed, "result of %s is not JSON-encodable: %v", exec.ExecutionID, err)
	}
	r.SizeBytes = size
	if limit := rt.persist.MaxDataSizeBytes; limit > 0 && size > limit {
		note = fmt.Sprintf("result not persisted: %d bytes exceeds max-data-size-bytes %d", size, limit)
		r.RawOutput, r.TransformedOutput, r.Refused = nil, nil, note
	}
	if err := rt.results.Put(ctx, r); err != nil {
		return nil, "", &Error{Code: CodeUnavailable, Msg: "result not stored", Err: err}
	}
	return r, note, nil
}

// completedResult finds the result a COMPLETED execution's event carries:
// the stored one, else (async jobs) the job's RESULT stage, stored now. nil
// when results are not persisted or the job has none to give.
//
// done is the answer that completed the execution (a CHECK, a START, a
// pushed REPORT; nil when unknown): when the job's RESULT is the one of
// AsyncDefaults, which keeps nothing, done's data is the result.
func (rt *Runtime) completedResult(ctx context.Context, b *Batch, def *Definition, exec *Execution, lookup bool, done *Response) (*Result, error) {
	if rt.results == nil || exec.Status != StatusCompleted {
		return nil, nil
	}
	if lookup {
		r, err := rt.results.Get(ctx, exec.JobType, exec.ExecutionID)
		if err == nil {
			return r, nil
		}
		if !errors.Is(err, ErrNotFound) {
			return nil, err
		}
	}
	if def == nil || def.Async == nil {
		return nil, nil // a sync result is the EXECUTE answer: nothing to ask again
	}
	req := &Request{ExecutionID: exec.ExecutionID, Parameters: exec.Parameters, RequestID: exec.RequestID,
		Initiator: "engine", Metadata: exec.Metadata, JobType: exec.JobType, Stage: StageResult,
		SagaID: exec.SagaID, StartedAt: exec.CreatedAt}
	run := rt.invoke(ctx, def, StageResult, req, exec)
	if err := rt.audit(ctx, b, run, exec); err != nil {
		return nil, err
	}
	if run.err != nil || run.resp == nil || !run.resp.Success {
		return nil, nil // RESULT will ask the job again
	}
	resp := run.resp
	if resp.defaulted && done != nil && (len(done.Data) > 0 || done.Raw != nil) {
		resp = &Response{Success: true, Message: firstNonEmpty(done.Message, resp.Message), Data: done.Data, Raw: done.Raw}
	}
	r, _, err := rt.storeResult(ctx, exec, resp)
	return r, err
}

// eventData is the part of a result that rides in JOB_COMPLETED.
func (rt *Runtime) eventData(r *Result) map[string]any {
	if r == nil || r.Refused != "" || r.SizeBytes > int64(rt.persist.EventDataMaxBytes) {
		return nil
	}
	return r.TransformedOutput
}

// encodedSize is the length of r as encoding/json writes it (as the
// result store writes it too), counted without keeping the bytes.
func encodedSize(r *Result) (int64, error) {
	w := sizeBufs.Get().(*[]byte)
	b, ok := r.AppendJSON((*w)[:0])
	if ok {
		n := len(b)
		if cap(b) <= 64<<10 {
			*w = b
			sizeBufs.Put(w)
		}
		return int64(n), nil
	}
	sizeBufs.Put(w)
	n, err := fastjson.Size(r, r.RawOutput, r.TransformedOutput)
	return int64(n), err
}

// sizeBufs are the buffers encodedSize writes results into, to count them.
var sizeBufs = sync.Pool{New: func() any { return new([]byte) }}
