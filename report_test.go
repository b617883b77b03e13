package jetjobs_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jetjobs/jetjobs/internal/samplejobs"
	"github.com/jetjobs/jetjobs/jetjobstest"
	"github.com/jetjobs/jetjobs/jobs"
)

// trackedJob tracks external work that pushes its reports: its CHECK is
// counted, and must not be needed.
type trackedJob struct {
	jobs.AsyncDefaults
	checks atomic.Int32
}

func (j *trackedJob) Start(context.Context, *jobs.Request) (*jobs.Response, error) {
	return jobs.Started("triggered"), nil
}

func (j *trackedJob) Check(context.Context, *jobs.Request) (*jobs.Response, error) {
	j.checks.Add(1)
	return jobs.Running(1, "polled"), nil
}

func (j *trackedJob) Stop(context.Context, *jobs.Request) (*jobs.Response, error) {
	return &jobs.Response{Success: true}, nil
}

// importArgs are typed parameters of an async job.
type importArgs struct {
	DatasetID string `json:"datasetId" validate:"required"`
	BatchSize int    `json:"batchSize" validate:"min=1"`
}

// typedImport is an async job with typed parameters (jobs.Params).
type typedImport struct {
	jobs.AsyncDefaults
	jobs.Params[importArgs]
}

func (j *typedImport) Start(_ context.Context, req *jobs.Request) (*jobs.Response, error) {
	a, err := j.Args(req)
	if err != nil {
		return nil, err
	}
	return jobs.Completed("imported", map[string]any{"datasetId": a.DatasetID, "batchSize": a.BatchSize}), nil
}
func (j *typedImport) Check(context.Context, *jobs.Request) (*jobs.Response, error) {
	return jobs.Running(0, ""), nil
}
func (j *typedImport) Stop(context.Context, *jobs.Request) (*jobs.Response, error) {
	return &jobs.Response{Success: true}, nil
}

type typedWorkArgs struct {
	A int `json:"a" validate:"required"`
	B int `json:"b" validate:"required"`
}

// Typed parameters refused over REST (422 naming the parameter) and over
// NATS (success=false, invalid_parameter), for a sync, an async and a
// worker job (refused at START, before any work is queued).
func TestTypedParametersRefused(t *testing.T) {
	t.Parallel()
	h := jetjobstest.New(t, func(r *jobs.Registry) {
		r.MustRegister("customer-validation", samplejobs.Validation)
		r.MustRegister("typed-import", &typedImport{})
		r.MustRegister("typed-work", jobs.WorkerOf(func(_ context.Context, _ *jobs.Request, a typedWorkArgs, _ jobs.Progress) (*jobs.Response, error) {
			return jobs.Completed("summed", map[string]any{"sum": a.A + a.B}), nil
		}))
	})
	srv := serve(t, h)
	tests := []struct {
		name, path, body string
		wantStatus       int
		wantErr          string // "" for success
	}{
		{"sync ok", "/api/v1/customer-validation/execute", `{"parameters":{"customerId":"CUST-1"}}`, 200, ""},
		{"sync wrong type", "/api/v1/customer-validation/execute", `{"parameters":{"customerId":42}}`, 422, `parameter "customerId" must be a string, got number`},
		{"sync missing", "/api/v1/customer-validation/execute", `{"parameters":{}}`, 422, `parameter "customerId" is required`},
		{"sync unknown", "/api/v1/customer-validation/execute", `{"parameters":{"customerId":"CUST-1","colour":"red"}}`, 422, `parameter "colour" is not a parameter of this job`},
		{"async ok", "/api/v1/typed-import/start", `{"parameters":{"datasetId":"d","batchSize":10}}`, 200, ""},
		{"async fraction for int", "/api/v1/typed-import/start", `{"parameters":{"datasetId":"d","batchSize":1.5}}`, 422, `parameter "batchSize" must be an integer, got number 1.5`},
		{"async string for int", "/api/v1/typed-import/start", `{"parameters":{"datasetId":"d","batchSize":"10"}}`, 422, `parameter "batchSize" must be an integer, got string`},
		{"async missing", "/api/v1/typed-import/start", `{"parameters":{"batchSize":10}}`, 422, `parameter "datasetId" is required`},
		{"worker ok", "/api/v1/typed-work/start", `{"parameters":{"a":1,"b":2}}`, 200, ""},
		{"worker refused at START", "/api/v1/typed-work/start", `{"parameters":{"a":1,"b":"2"}}`, 422, `parameter "b" must be an integer, got string`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			status, resp := post(t, srv, tt.path, tt.body)
			if status != tt.wantStatus || resp.Success != (tt.wantErr == "") || !strings.Contains(resp.ErrorText(), tt.wantErr) {
				t.Fatalf("%s: %d %+v (error %q), want %d and error %q", tt.path, status, resp, resp.ErrorText(), tt.wantStatus, tt.wantErr)
			}
		})
	}
	t.Run("over NATS", func(t *testing.T) {
		t.Parallel()
		resp := h.Call(t, "typed-import", jobs.StageStart, &jobs.Request{Parameters: map[string]any{"datasetId": "d", "batchSize": "x"}})
		if resp.Success || resp.Code != jobs.CodeInvalidParameter || !strings.Contains(resp.ErrorText(), `parameter "batchSize"`) {
			t.Fatalf("START with a string batchSize: %+v (error %q)", resp, resp.ErrorText())
		}
	})
}

// A pushed report completes an external-tracking execution before any
// CHECK ran: progress first (JOB_PROGRESS), then COMPLETED with its data
// (JOB_COMPLETED carries it, once); a report after the end is a conflict.
func TestPushedReportCompletesBeforeAnyCheck(t *testing.T) {
	t.Parallel()
	job := &trackedJob{}
	h := jetjobstest.New(t, func(r *jobs.Registry) {
		r.MustRegister("tracked", job, jobs.WithCheckInterval(time.Hour, time.Hour))
		r.MustRegister("customer-validation", samplejobs.Validation)
	})
	srv := serve(t, h)
	status, start := post(t, srv, "/api/v1/tracked/start", `{}`)
	if status != 200 || !start.Success {
		t.Fatalf("start: %d %+v", status, start)
	}
	id := start.ExecutionID
	base := "/api/v1/tracked/" + id + "/report"

	status, resp := post(t, srv, base, `{"progressPercentage":30,"message":"task 3 of 10"}`)
	if status != 200 || !resp.Success || resp.Status != jobs.StatusRunning || resp.ProgressPercentage != 30 {
		t.Fatalf("progress report: %d %+v", status, resp)
	}
	if ev := h.WaitForProgress(t, "tracked", id, 30); ev.Type != jobs.EventProgress || ev.Data.Message != "task 3 of 10" {
		t.Fatalf("progress event: %s %+v", ev.Type, ev.Data)
	}

	status, resp = post(t, srv, base, `{"status":"COMPLETED","message":"DAG run succeeded","data":{"rows":7}}`)
	if status != 200 || !resp.Success || resp.Status != jobs.StatusCompleted {
		t.Fatalf("completion report: %d %+v", status, resp)
	}
	ev := h.WaitFor(t, "tracked", id, jobs.StatusCompleted)
	if ev.Data.Data["rows"] != float64(7) {
		t.Fatalf("JOB_COMPLETED data = %v, want the reported rows", ev.Data.Data)
	}
	if res := h.Call(t, "tracked", jobs.StageResult, &jobs.Request{ExecutionID: id}); !res.Success || res.Data["rows"] != float64(7) {
		t.Fatalf("RESULT = %+v", res)
	}
	if n := job.checks.Load(); n != 0 {
		t.Fatalf("%d CHECKs ran; the report alone must complete it", n)
	}

	tests := []struct {
		name, path, body string
		wantStatus       int
		wantErr          string
	}{
		{"report after the end", base, `{"status":"FAILED","error":"late"}`, 409, "already COMPLETED"},
		{"unknown execution", "/api/v1/tracked/nope-1/report", `{"progressPercentage":5}`, 404, "not found"},
		{"status a report cannot give", "/api/v1/tracked/" + id + "/report", `{"status":"STOPPED"}`, 400, "want RUNNING, COMPLETED or FAILED"},
		{"report fields on START", "/api/v1/tracked/start", `{"status":"COMPLETED"}`, 400, "belong to a REPORT"},
		{"no report route for a sync job", "/api/v1/customer-validation/x-1/report", `{}`, 404, "no route"},
	}
	for _, tt := range tests {
		status, resp := post(t, srv, tt.path, tt.body)
		if status != tt.wantStatus || resp.Success || !strings.Contains(resp.ErrorText(), tt.wantErr) {
			t.Errorf("%s: %d %+v (error %q), want %d and %q", tt.name, status, resp, resp.ErrorText(), tt.wantStatus, tt.wantErr)
		}
	}
	if n := h.CountEvents(t, "jobs.evt.tracked.>", func(e jetjobstest.Event) bool {
		return e.Data.ExecutionID == id && e.Data.Status.Terminal()
	}); n != 1 {
		t.Fatalf("%d terminal events, want exactly 1", n)
	}
}

// A report over NATS (what `engine call tracked report` sends) fails an
// execution at once with the reported error; a sync job has no REPORT.
func TestPushedReportOverNATS(t *testing.T) {
	t.Parallel()
	job := &trackedJob{}
	h := jetjobstest.New(t, func(r *jobs.Registry) {
		r.MustRegister("tracked", job, jobs.WithCheckInterval(time.Hour, time.Hour))
		r.MustRegister("customer-validation", samplejobs.Validation)
	})
	start := h.Call(t, "tracked", jobs.StageStart, &jobs.Request{})
	resp := h.Call(t, "tracked", jobs.StageReport, &jobs.Request{ExecutionID: start.ExecutionID,
		Status: jobs.StatusFailed, Error: "task load_orders failed"})
	if resp.Success || resp.Status != jobs.StatusFailed {
		t.Fatalf("FAILED report: %+v", resp)
	}
	ev := h.WaitFor(t, "tracked", start.ExecutionID, jobs.StatusFailed)
	if ev.Data.Error == nil || *ev.Data.Error != "task load_orders failed" {
		t.Fatalf("JOB_FAILED = %+v", ev.Data)
	}
	again := h.Call(t, "tracked", jobs.StageReport, &jobs.Request{ExecutionID: start.ExecutionID, Message: "late"})
	if again.Success || again.Code != jobs.CodeConflict {
		t.Fatalf("report after the end: %+v", again)
	}
	sync := h.Call(t, "customer-validation", jobs.StageReport, &jobs.Request{ExecutionID: "x-1", Message: "hi"})
	if sync.Success || sync.Code != jobs.CodeInvalidArgument || !strings.Contains(sync.ErrorText(), "no REPORT stage") {
		t.Fatalf("report to a sync job: %+v", sync)
	}
	if n := job.checks.Load(); n != 0 {
		t.Fatalf("%d CHECKs ran", n)
	}
}
