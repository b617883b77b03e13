package demo

import (
	"context"
	"time"

	"github.com/jetjobs/jetjobs/jobs"
)

// ReportBuild pretends to build a report inside the engine (a worker job,
// docs/jobs.md "Worker jobs"): ten steps of `stepDelay` (default 200ms),
// reporting progress 10..100, then the report's summary as its result. A
// STOP cancels ctx between steps.
type ReportBuild struct{}

var _ jobs.WorkerJob = ReportBuild{}

// Work builds the report.
func (ReportBuild) Work(ctx context.Context, req *jobs.Request, progress jobs.Progress) (*jobs.Response, error) {
	name, err := req.StringOr("report", "monthly-sales")
	if err != nil {
		return nil, jobs.Permanent(err)
	}
	step, err := req.IntOr("stepDelayMs", 200)
	if err != nil {
		return nil, jobs.Permanent(err)
	}
	const steps = 10
	for i := 1; i <= steps; i++ {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Duration(step) * time.Millisecond):
		}
		if err := progress(ctx, i*100/steps, "building "+name); err != nil {
			return nil, err
		}
	}
	return jobs.Completed("report built", map[string]any{"report": name, "pages": 12, "attempt": req.Attempt}), nil
}
