package jobs

import (
	"context"
)

// ReportAnswer reads a pushed REPORT (the report fields of req) as the
// answer a CHECK would have given: progress (status RUNNING or none),
// COMPLETED with its data, or FAILED with its error. current is the
// progress kept when the report gives none. A malformed report is a
// CodeInvalidArgument error.
func ReportAnswer(req *Request, current int) (*Response, error) {
	pct := current
	if p := req.ProgressPercentage; p != nil {
		if *p < 0 || *p > 100 {
			return nil, Errorf(CodeInvalidArgument, "report: progressPercentage %d is outside 0..100", *p)
		}
		pct = *p
	}
	if req.Data != nil && req.Status != StatusCompleted {
		return nil, Errorf(CodeInvalidArgument, "report: data is the result of a COMPLETED report, not of status %q", req.Status)
	}
	if req.Error != "" && req.Status != StatusFailed {
		return nil, Errorf(CodeInvalidArgument, "report: error belongs to a FAILED report, not to status %q", req.Status)
	}
	switch req.Status {
	case "", StatusRunning:
		if req.ProgressPercentage == nil && req.Message == "" && req.Status == "" {
			return nil, Errorf(CodeInvalidArgument, "report: give progressPercentage, message or a final status")
		}
		return &Response{Success: true, Status: StatusRunning, ProgressPercentage: pct, Message: req.Message}, nil
	case StatusCompleted:
		return Completed(firstNonEmpty(req.Message, "completed"), req.Data), nil
	case StatusFailed:
		msg := firstNonEmpty(req.Error, req.Message, "reported FAILED")
		return &Response{Success: false, Status: StatusFailed, ProgressPercentage: pct,
			Message: firstNonEmpty(req.Message, msg), Error: &msg}, nil
	}
	return nil, Errorf(CodeInvalidArgument, "report: status %q: want RUNNING, COMPLETED or FAILED", req.Status)
}

// hasReportFields reports whether req carries any field of a REPORT.
func (r *Request) hasReportFields() bool {
	return r.ProgressPercentage != nil || r.Message != "" || r.Status != "" || r.Data != nil || r.Error != ""
}

// report applies a pushed REPORT with the rules of a CHECK that answered
// it (Runtime.apply): progress moves the record and publishes
// JOB_PROGRESS; COMPLETED or FAILED ends the execution at once, its result
// stored and its one terminal event published. The job is not called,
// except for its RESULT when the execution completes (see
// completedResult). A report on an execution that has ended is a
// conflict.
func (rt *Runtime) report(ctx context.Context, b *Batch, def *Definition, exec *Execution, rev uint64, req *Request) (*Response, error) {
	resp, err := ReportAnswer(req, exec.ProgressPercentage)
	if err != nil { // a malformed report is refused first, whatever the execution
		return fail(rt.answer(&Response{}, exec, StageReport), err), nil
	}
	if exec.Status.Terminal() {
		return fail(rt.answer(&Response{}, exec, StageReport),
			Errorf(CodeConflict, "execution %q is already %s: a report cannot change it", exec.ExecutionID, exec.Status)), nil
	}
	now := rt.cfg.Clock.Now()
	run := &stageRun{stage: StageReport, req: req, resp: resp, start: now, end: now}
	exec, applied, err := rt.apply(ctx, b, def, exec, rev, run, byClient)
	if err != nil {
		return nil, err
	}
	if !applied {
		return fail(rt.answer(&Response{}, exec, StageReport),
			Errorf(CodeConflict, "execution %q ended %s before the report could be applied", exec.ExecutionID, exec.Status)), nil
	}
	out := rt.respond(resp, nil, exec, StageReport)
	out.Data = nil // the caller sent it; the answer says what became of the execution
	return out, nil
}
