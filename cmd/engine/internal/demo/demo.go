// Package demo holds the demo jobs that `make run` registers: an async
// customer import, a sync customer validation and a worker report build.
package demo

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jetjobs/jetjobs/jobs"
)

// Register adds the demo jobs to reg.
func Register(reg *jobs.Registry) error {
	if err := reg.Register("customer-import", NewCustomerImport(),
		jobs.WithDescription("Imports the customers of a dataset in the background (demo, async)")); err != nil {
		return err
	}
	if err := reg.Register("report-build", ReportBuild{},
		jobs.WithDescription("Builds a report inside the engine, progress 0..100 over about 2s (demo, worker)")); err != nil {
		return err
	}
	return reg.Register("customer-validation", CustomerValidation,
		jobs.WithDescription("Validates one customer id (demo, sync)"))
}

// CustomerImport pretends to import `records` customers of a dataset in
// batches of `batchSize`, one batch every `batchDelay`. Progress is derived
// from the execution's start time, so the job needs no memory of its own and
// carries on across engine restarts; only STOP is remembered.
type CustomerImport struct {
	jobs.AsyncDefaults
	mu      sync.Mutex
	stopped map[string]int64 // executionId -> records imported when stopped
}

// NewCustomerImport returns the demo import job.
func NewCustomerImport() *CustomerImport { return &CustomerImport{stopped: map[string]int64{}} }

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

// Start validates the parameters; the "work" runs on the clock.
func (j *CustomerImport) Start(_ context.Context, req *jobs.Request) (*jobs.Response, error) {
	p, err := plan(req)
	if err != nil {
		return nil, err
	}
	return jobs.Started(fmt.Sprintf("Importing %d customers of %s in batches of %d", p.records, p.dataset, p.batch)), nil
}

// Check reports progress, and COMPLETED once every batch is in.
func (j *CustomerImport) Check(_ context.Context, req *jobs.Request) (*jobs.Response, error) {
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

// Collect returns the records imported so far.
func (j *CustomerImport) Collect(_ context.Context, req *jobs.Request) (*jobs.Response, error) {
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

// Result returns the totals of a finished import.
func (j *CustomerImport) Result(_ context.Context, req *jobs.Request) (*jobs.Response, error) {
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
func (j *CustomerImport) Stop(_ context.Context, req *jobs.Request) (*jobs.Response, error) {
	p, _ := plan(req)
	done := p.imported(req.StartedAt, time.Now())
	j.mu.Lock()
	j.stopped[req.ExecutionID] = done
	j.mu.Unlock()
	return &jobs.Response{Success: true, Status: jobs.StatusStopped,
		Message: fmt.Sprintf("Import stopped after %d customers: %s", done, req.Reason)}, nil
}

func (j *CustomerImport) done(id string, p importPlan, started time.Time) int64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	if n, ok := j.stopped[id]; ok {
		return n
	}
	return p.imported(started, time.Now())
}

// ValidationArgs are the typed parameters of customer-validation: Bind
// decodes them strictly (an unknown or mistyped parameter answers 422
// naming it) and the job's parameter schema in openapi.json is derived
// from them.
type ValidationArgs struct {
	CustomerID string `json:"customerId" validate:"required" description:"The customer id to validate, e.g. CUST-000042"`
	// APIKey shows a sensitive parameter: it is masked in the record, the
	// events and the logs (sanitize-sensitive-data).
	APIKey string `json:"apiKey,omitempty" description:"A credential of the CRM (demo: unused; always masked)"`
}

// CustomerValidation answers at once whether a customer id is valid: it
// must look like CUST-<digits>.
var CustomerValidation = jobs.SyncOf(validateCustomer)

// validateCustomer is the EXECUTE of customer-validation.
func validateCustomer(_ context.Context, _ *jobs.Request, args ValidationArgs) (*jobs.Response, error) {
	id := args.CustomerID
	digits, ok := strings.CutPrefix(id, "CUST-")
	valid := ok && digits != "" && strings.Trim(digits, "0123456789") == ""
	msg := "Valid customer"
	if !valid {
		msg = "Invalid customer"
	}
	return jobs.Completed(msg, map[string]any{"customerId": id, "valid": valid}), nil
}
