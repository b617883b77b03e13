package orchestrated

import (
	"context"
	"errors"
	"fmt"

	"github.com/jetjobs/jetjobs/jobs"
)

// Job is a jobs.AsyncJob whose work runs in an Orchestrator: START starts
// an execution of one definition, CHECK maps its status, COLLECT and
// RESULT answer its output, STOP stops it.
type Job struct {
	o            Orchestrator
	definitionID string
}

var _ jobs.AsyncJob = (*Job)(nil)

// New returns a job that runs definitionID (a DAG id, a state machine ARN)
// on o. It panics if o is nil: that is a bug in the caller's set-up.
func New(o Orchestrator, definitionID string) *Job {
	if o == nil {
		panic("orchestrated.New: nil Orchestrator")
	}
	return &Job{o: o, definitionID: definitionID}
}

// Orchestrator is the engine the job delegates to.
func (j *Job) Orchestrator() Orchestrator { return j.o }

// DefinitionID is the definition the job starts.
func (j *Job) DefinitionID() string { return j.definitionID }

// Definition is what START asks the orchestrator to start for req: the
// request's parameters as input, its executionId as the execution name.
func (j *Job) Definition(req *jobs.Request) JobDefinition {
	return JobDefinition{
		JobName: req.JobType, DefinitionID: j.definitionID, ExecutionName: req.ExecutionID,
		Input: req.Parameters, RequestID: req.RequestID, Initiator: req.Initiator,
	}
}

// ExecutionID is the orchestrator's id of req's execution, derived from the
// executionId (later stages do not see START's answer).
func (j *Job) ExecutionID(req *jobs.Request) string {
	if r, ok := j.o.(ExecutionIDResolver); ok {
		return r.ExecutionIDFor(j.Definition(req))
	}
	return req.ExecutionID
}

// Start starts the execution. A START delivered again finds the execution
// the first one started (the adapter treats "already exists" as success).
func (j *Job) Start(ctx context.Context, req *jobs.Request) (*jobs.Response, error) {
	ex, err := j.o.StartJob(ctx, j.Definition(req))
	if err != nil {
		return nil, err
	}
	if ex == nil {
		return nil, jobs.Errorf(jobs.CodeInternal, "%s StartJob answered no execution and no error", j.o.Type())
	}
	id := ex.ExecutionID
	if id == "" {
		id = j.ExecutionID(req)
	}
	var resp *jobs.Response
	switch {
	case ex.Status == StatusSucceeded:
		resp = jobs.Completed(j.describe(id, ex.Status), nil)
	case ex.Status.Terminal():
		resp = jobs.Failed(j.failure(id, ex))
	default:
		resp = jobs.Started(fmt.Sprintf("%s execution %s started (%s)", j.o.Type(), id, statusOr(ex.Status)))
	}
	resp.Data = j.data(id, ex.Status)
	if ex.DefinitionID != "" {
		resp.Data["definitionId"] = ex.DefinitionID
	}
	return resp, nil
}

// Check maps the orchestrator's status: QUEUED and RUNNING are RUNNING,
// SUCCEEDED is COMPLETED, FAILED, TIMED_OUT and ABORTED are FAILED with the
// orchestrator's error.
func (j *Job) Check(ctx context.Context, req *jobs.Request) (*jobs.Response, error) {
	id := j.ExecutionID(req)
	st, err := j.o.CheckJobStatus(ctx, id)
	if err != nil {
		return nil, err
	}
	var resp *jobs.Response
	switch st {
	case StatusQueued, StatusRunning:
		resp = j.running(ctx, id, st)
	case StatusSucceeded:
		resp = jobs.Completed(j.describe(id, st), nil)
	case StatusFailed, StatusTimedOut, StatusAborted:
		ex := &Execution{ExecutionID: id, Status: st}
		// Best effort: the status is known, the details may not be.
		if got, err := j.o.GetJobExecution(ctx, id); err == nil && got != nil {
			ex.Error = got.Error
		}
		resp = jobs.Failed(j.failure(id, ex))
	default:
		return nil, jobs.Permanent(fmt.Errorf("%s execution %s: unknown status %q", j.o.Type(), id, st))
	}
	resp.Data = j.data(id, st)
	return resp, nil
}

// running is CHECK's answer while the execution runs, with the
// orchestrator's progress when it reports any (best effort: an error is
// ignored, the status is what matters).
func (j *Job) running(ctx context.Context, id string, st Status) *jobs.Response {
	msg, pct := j.describe(id, st), 0
	if pr, ok := j.o.(ProgressReporter); ok {
		if p, err := pr.Progress(ctx, id); err == nil {
			pct = min(max(p.Percent, 0), 100)
			if p.Message != "" {
				msg += ": " + p.Message
			}
		}
	}
	return jobs.Running(pct, msg)
}

// Collect answers the execution's output so far, in any status.
func (j *Job) Collect(ctx context.Context, req *jobs.Request) (*jobs.Response, error) {
	id := j.ExecutionID(req)
	ex, err := j.get(ctx, id)
	if err != nil {
		return nil, err
	}
	return jobs.OK(j.describe(id, ex.Status), ex.Output), nil
}

// Result answers the execution's output once it has SUCCEEDED.
func (j *Job) Result(ctx context.Context, req *jobs.Request) (*jobs.Response, error) {
	id := j.ExecutionID(req)
	ex, err := j.get(ctx, id)
	if err != nil {
		return nil, err
	}
	if ex.Status != StatusSucceeded {
		return nil, jobs.Errorf(jobs.CodeNotReady, "%s execution %s is %s, not %s: no result", j.o.Type(), id, statusOr(ex.Status), StatusSucceeded)
	}
	return jobs.OK(j.describe(id, ex.Status), ex.Output), nil
}

// Stop stops the execution. One the orchestrator does not know (gone, or
// never started) has nothing left to stop, so that counts as stopped.
func (j *Job) Stop(ctx context.Context, req *jobs.Request) (*jobs.Response, error) {
	id := j.ExecutionID(req)
	st, err := j.o.StopJob(ctx, id, req.Reason)
	if errors.Is(err, jobs.ErrNotFound) {
		return &jobs.Response{Success: true, Message: fmt.Sprintf("%s execution %s does not exist: nothing to stop", j.o.Type(), id),
			Data: map[string]any{"orchestrator": j.o.Type(), "orchestratorExecutionId": id}}, nil
	}
	if err != nil {
		return nil, err
	}
	return &jobs.Response{Success: true, Message: fmt.Sprintf("%s execution %s stopped (%s)", j.o.Type(), id, statusOr(st)),
		Data: j.data(id, st)}, nil
}

func (j *Job) get(ctx context.Context, id string) (*Execution, error) {
	ex, err := j.o.GetJobExecution(ctx, id)
	if err != nil {
		return nil, err
	}
	if ex == nil {
		return nil, jobs.Errorf(jobs.CodeInternal, "%s GetJobExecution answered no execution and no error", j.o.Type())
	}
	return ex, nil
}

func (j *Job) describe(id string, st Status) string {
	return fmt.Sprintf("%s execution %s is %s", j.o.Type(), id, statusOr(st))
}

func (j *Job) failure(id string, ex *Execution) string {
	msg := fmt.Sprintf("%s execution %s ended %s", j.o.Type(), id, ex.Status)
	if ex.Error != "" {
		msg += ": " + ex.Error
	}
	return msg
}

func (j *Job) data(id string, st Status) map[string]any {
	d := map[string]any{"orchestrator": j.o.Type(), "orchestratorExecutionId": id}
	if st != "" {
		d["orchestratorStatus"] = string(st)
	}
	return d
}

func statusOr(s Status) string {
	if s == "" {
		return "UNKNOWN"
	}
	return string(s)
}
