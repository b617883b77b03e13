package samplejobs

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jetjobs/jetjobs/jobs"
)

// Import is an async job whose work runs on the clock: `records` records
// (default 1000) in batches of `batchSize` (default 100), one batch every
// `batchDelay` (default 500ms) from the execution's start; with
// `failAfterBatches` n it fails once n batches are in. Deriving progress
// from the start time lets an engine restart carry on with no memory in
// the job; only STOP is remembered (the count it froze at).
type Import struct {
	jobs.AsyncDefaults
	mu      sync.Mutex
	stopped map[string]int64 // executionId -> records imported when stopped
}

// NewImport returns an Import with no execution stopped.
func NewImport() *Import { return &Import{stopped: map[string]int64{}} }

type importPlan struct {
	dataset          string
	records, batch   int64
	batchDelay       time.Duration
	failAfterBatches int64 // 0 = never
}

func plan(req *jobs.Request) (importPlan, error) {
	var p importPlan
	var err error
	if p.dataset, err = req.String("datasetId"); err != nil {
		return p, err
	}
	if p.records, err = req.IntOr("records", 1000); err != nil {
		return p, err
	}
	if p.batch, err = req.IntOr("batchSize", 100); err != nil {
		return p, err
	}
	if p.records < 0 {
		return p, &jobs.ParamError{Name: "records", Problem: "must not be negative"}
	}
	if p.batch <= 0 {
		return p, &jobs.ParamError{Name: "batchSize", Problem: "must be positive"}
	}
	p.batchDelay = 500 * time.Millisecond
	if _, ok := req.Param("batchDelay"); ok {
		if p.batchDelay, err = req.Duration("batchDelay"); err != nil {
			return p, err
		}
	}
	if p.failAfterBatches, err = req.IntOr("failAfterBatches", 0); err != nil {
		return p, err
	}
	return p, nil
}

// imported is how many records are done at now.
func (p importPlan) imported(started, now time.Time) int64 {
	batches := int64(now.Sub(started) / max(p.batchDelay, time.Millisecond))
	return min(batches*p.batch, p.records)
}

// Start validates the parameters; the work runs on the clock.
func (j *Import) Start(_ context.Context, req *jobs.Request) (*jobs.Response, error) {
	p, err := plan(req)
	if err != nil {
		return nil, err
	}
	return jobs.Started(fmt.Sprintf("Importing %d customers of %s in batches of %d", p.records, p.dataset, p.batch)), nil
}

// Check reports progress, FAILED after failAfterBatches, and COMPLETED once
// every batch is in.
func (j *Import) Check(_ context.Context, req *jobs.Request) (*jobs.Response, error) {
	p, err := plan(req)
	if err != nil {
		return nil, jobs.Permanent(err)
	}
	done := p.imported(req.StartedAt, time.Now())
	if p.failAfterBatches > 0 && done >= p.failAfterBatches*p.batch {
		return jobs.Failed(fmt.Sprintf("dataset %s: batch %d was rejected by the CRM", p.dataset, p.failAfterBatches+1)), nil
	}
	if done >= p.records {
		return jobs.Completed("Import completed", map[string]any{"recordsProcessed": done}), nil
	}
	pct := 0
	if p.records > 0 {
		pct = int(done * 100 / p.records)
	}
	return jobs.Running(pct, fmt.Sprintf("Imported %d of %d customers", done, p.records)), nil
}

// Collect returns the count imported so far and the first few records.
func (j *Import) Collect(_ context.Context, req *jobs.Request) (*jobs.Response, error) {
	p, err := plan(req)
	if err != nil {
		return nil, jobs.Permanent(err)
	}
	done := j.done(req.ExecutionID, p, req.StartedAt)
	sample := []any{}
	for i := int64(1); i <= min(done, 5); i++ {
		sample = append(sample, map[string]any{"customerId": fmt.Sprintf("CUST-%06d", i), "dataset": p.dataset})
	}
	return jobs.OK(fmt.Sprintf("%d customers imported so far", done),
		map[string]any{"recordsImported": done, "sample": sample}), nil
}

// Result returns the totals: successCount is what was imported (all of it
// unless stopped), errorCount the rest.
func (j *Import) Result(_ context.Context, req *jobs.Request) (*jobs.Response, error) {
	p, err := plan(req)
	if err != nil {
		return nil, jobs.Permanent(err)
	}
	done := j.done(req.ExecutionID, p, req.StartedAt)
	return jobs.OK("Import result", map[string]any{
		"datasetId": p.dataset, "totalRecords": p.records, "successCount": done, "errorCount": p.records - done,
	}), nil
}

// Stop freezes the import where it is.
func (j *Import) Stop(_ context.Context, req *jobs.Request) (*jobs.Response, error) {
	p, _ := plan(req)
	done := p.imported(req.StartedAt, time.Now())
	j.mu.Lock()
	j.stopped[req.ExecutionID] = done
	j.mu.Unlock()
	return &jobs.Response{Success: true, Status: jobs.StatusStopped,
		Message: fmt.Sprintf("Import stopped after %d customers: %s", done, req.Reason)}, nil
}

func (j *Import) done(id string, p importPlan, started time.Time) int64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	if n, ok := j.stopped[id]; ok {
		return n
	}
	return p.imported(started, time.Now())
}
