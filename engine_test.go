package jetjobs_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/jetjobs/jetjobs/internal/samplejobs"
	"github.com/jetjobs/jetjobs/jetjobstest"
	"github.com/jetjobs/jetjobs/jobs"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func demoHarness(t *testing.T, opts ...jetjobstest.Option) *jetjobstest.Harness {
	return jetjobstest.New(t, func(r *jobs.Registry) {
		if err := samplejobs.Register(r); err != nil {
			t.Fatal(err)
		}
	}, opts...)
}

// The async lifecycle driven only through subjects: START, engine-driven
// CHECKs, progress events, JOB_COMPLETED, COLLECT and RESULT.
func TestAsyncLifecycleOverSubjects(t *testing.T) {
	t.Parallel()
	h := demoHarness(t)
	evs := h.Events(t, "jobs.evt.customer-import.>")
	start := h.Call(t, "customer-import", jobs.StageStart, &jobs.Request{
		// 2 s of import, engine CHECKs every 20ms: a CHECK sees it part done
		// even when a loaded machine delays one by a second (150ms was not).
		Parameters: map[string]any{"datasetId": "dataset-123", "records": 50, "batchSize": 10, "batchDelay": "400ms"},
		RequestID:  "req-9", Initiator: "crm-sync", Metadata: map[string]string{"tenant": "acme"},
	})
	if !start.Success || start.Status != jobs.StatusStarted || start.ExecutionID == "" {
		t.Fatalf("start: %+v", start)
	}
	id := start.ExecutionID
	var types []string
	for {
		ev := evs.Next(t, jetjobstest.DefaultTimeout)
		if ev.Data.ExecutionID != id {
			continue
		}
		types = append(types, ev.Type)
		if ev.Data.Metadata["tenant"] != "acme" || ev.Data.RequestID != "req-9" || ev.Data.Initiator != "crm-sync" {
			t.Fatalf("event lost request metadata: %+v", ev.Data)
		}
		if ev.Type == jobs.EventCompleted {
			if ev.Data.Status != jobs.StatusCompleted || !ev.Data.Success {
				t.Fatalf("completed event: %+v", ev.Data)
			}
			break
		}
	}
	if types[0] != jobs.EventStarted {
		t.Fatalf("first event %s, want JOB_STARTED (all: %v)", types[0], types)
	}
	progress := 0
	for _, ty := range types {
		if ty == jobs.EventProgress {
			progress++
		}
	}
	if progress == 0 {
		t.Fatalf("no JOB_PROGRESS among %v", types)
	}
	res := h.Call(t, "customer-import", jobs.StageResult, &jobs.Request{ExecutionID: id})
	if !res.Success || res.Status != jobs.StatusCompleted || res.Data["totalRecords"] != float64(50) {
		t.Fatalf("result: %+v", res)
	}
	col := h.Call(t, "customer-import", jobs.StageCollect, &jobs.Request{ExecutionID: id})
	if !col.Success || col.Data["recordsImported"] != float64(50) {
		t.Fatalf("collect: %+v", col)
	}
	exec := h.Execution(t, "customer-import", id)
	if exec.Status != jobs.StatusCompleted || exec.Metadata["tenant"] != "acme" {
		t.Fatalf("record: %+v", exec)
	}
	if n := h.CountEvents(t, "jobs.evt.customer-import.JOB_COMPLETED", func(e jetjobstest.Event) bool { return e.Data.ExecutionID == id }); n != 1 {
		t.Fatalf("%d JOB_COMPLETED events, want exactly 1", n)
	}
}

func TestSyncExecuteWithReply(t *testing.T) {
	t.Parallel()
	h := demoHarness(t)
	for _, tc := range []struct {
		customer string
		message  string
		valid    bool
	}{{"CUST-123", "Valid customer", true}, {"bob", "Invalid customer", false}} {
		resp := h.Call(t, "customer-validation", jobs.StageExecute, &jobs.Request{Parameters: map[string]any{"customerId": tc.customer}})
		if !resp.Success || resp.Status != jobs.StatusCompleted || resp.Message != tc.message || resp.Data["valid"] != tc.valid {
			t.Fatalf("%s: %+v", tc.customer, resp)
		}
		ev := h.WaitEvent(t, "customer-validation", resp.ExecutionID, jobs.EventCompleted)
		if ev.Data.Status != jobs.StatusCompleted {
			t.Fatalf("event %+v", ev.Data)
		}
	}
	resp := h.Call(t, "customer-validation", jobs.StageExecute, &jobs.Request{Parameters: map[string]any{}})
	if resp.Success || resp.Code != jobs.CodeInvalidParameter || resp.ErrorText() != `parameter "customerId" is required` {
		t.Fatalf("missing param: %+v (error %q)", resp, resp.ErrorText())
	}
}

func TestStopAndConflict(t *testing.T) {
	t.Parallel()
	h := demoHarness(t)
	start := h.Call(t, "customer-import", jobs.StageStart, &jobs.Request{ExecutionID: "exec-stop-1",
		Parameters: map[string]any{"datasetId": "d", "records": 1000, "batchSize": 1, "batchDelay": "1s"}})
	if start.ExecutionID != "exec-stop-1" {
		t.Fatalf("client executionId not kept: %+v", start)
	}
	stop := h.Call(t, "customer-import", jobs.StageStop, &jobs.Request{ExecutionID: "exec-stop-1", Reason: "operator"})
	if !stop.Success || stop.Status != jobs.StatusStopped {
		t.Fatalf("stop: %+v", stop)
	}
	h.WaitEvent(t, "customer-import", "exec-stop-1", jobs.EventStopped)
	again := h.Call(t, "customer-import", jobs.StageStop, &jobs.Request{ExecutionID: "exec-stop-1"})
	if again.Success || again.Code != jobs.CodeConflict {
		t.Fatalf("second stop: %+v", again)
	}
	res := h.Call(t, "customer-import", jobs.StageResult, &jobs.Request{ExecutionID: "exec-stop-1"})
	if res.Success || res.Code != jobs.CodeNotReady || res.Status != jobs.StatusStopped {
		t.Fatalf("result of stopped: %+v", res)
	}
	missing := h.Call(t, "customer-import", jobs.StageCheck, &jobs.Request{ExecutionID: "nope"})
	if missing.Success || missing.Code != jobs.CodeNotFound {
		t.Fatalf("check unknown: %+v", missing)
	}
}

func TestIdempotentStart(t *testing.T) {
	t.Parallel()
	var starts atomic.Int32
	h := jetjobstest.New(t, func(r *jobs.Registry) {
		r.MustRegister("counted", &countingJob{starts: &starts})
	})
	req := &jobs.Request{ExecutionID: "same-1", Parameters: map[string]any{"x": 1}}
	first := h.Call(t, "counted", jobs.StageStart, req)
	second := h.Call(t, "counted", jobs.StageStart, req)
	if first.ExecutionID != "same-1" || second.ExecutionID != "same-1" || !second.Success {
		t.Fatalf("first %+v second %+v", first, second)
	}
	if second.Message != "execution already exists" {
		t.Fatalf("second start should report the existing execution: %+v", second)
	}
	if n := starts.Load(); n != 1 {
		t.Fatalf("Start ran %d times, want 1", n)
	}
}

// countingJob counts STARTs and completes on its first CHECK.
type countingJob struct {
	jobs.AsyncDefaults
	starts *atomic.Int32
}

func (j *countingJob) Start(context.Context, *jobs.Request) (*jobs.Response, error) {
	j.starts.Add(1)
	return jobs.Started("ok"), nil
}
func (j *countingJob) Check(context.Context, *jobs.Request) (*jobs.Response, error) {
	return jobs.Completed("done", nil), nil
}
func (j *countingJob) Stop(context.Context, *jobs.Request) (*jobs.Response, error) {
	return &jobs.Response{Success: true}, nil
}

// failingJob fails in the way its parameter says.
type failingJob struct{ jobs.AsyncDefaults }

func (failingJob) Start(_ context.Context, req *jobs.Request) (*jobs.Response, error) {
	mode, _ := req.StringOr("mode", "")
	switch mode {
	case "panic":
		panic("boom")
	case "permanent":
		return nil, jobs.Permanent(errors.New("dataset is corrupt"))
	case "check-fails":
		return jobs.Started("started"), nil
	}
	return nil, fmt.Errorf("plain failure")
}
func (failingJob) Check(context.Context, *jobs.Request) (*jobs.Response, error) {
	return nil, jobs.Permanent(errors.New("orchestrator says the run failed"))
}
func (failingJob) Stop(context.Context, *jobs.Request) (*jobs.Response, error) {
	return &jobs.Response{Success: true}, nil
}

func TestFailuresEndFailed(t *testing.T) {
	t.Parallel()
	h := jetjobstest.New(t, func(r *jobs.Registry) { r.MustRegister("failing", failingJob{}) })
	for _, tc := range []struct{ mode, wantErr string }{
		{"panic", "panic: boom"},
		{"permanent", "dataset is corrupt"},
		{"plain", "plain failure"},
		{"check-fails", "orchestrator says the run failed"},
	} {
		resp := h.Call(t, "failing", jobs.StageStart, &jobs.Request{Parameters: map[string]any{"mode": tc.mode}})
		ev := h.WaitEvent(t, "failing", resp.ExecutionID, jobs.EventFailed)
		if ev.Data.Status != jobs.StatusFailed || ev.Data.Success || ev.Data.Error == nil || *ev.Data.Error != tc.wantErr {
			t.Fatalf("%s: event %+v", tc.mode, ev.Data)
		}
		exec := h.Execution(t, "failing", resp.ExecutionID)
		if exec.Status != jobs.StatusFailed || exec.Error != tc.wantErr {
			t.Fatalf("%s: record %+v", tc.mode, exec)
		}
	}
}

// slowStart counts STARTs that take a while, so concurrent ones overlap.
type slowStart struct {
	countingJob
}

func (j *slowStart) Start(ctx context.Context, req *jobs.Request) (*jobs.Response, error) {
	j.starts.Add(1)
	select {
	case <-time.After(200 * time.Millisecond):
	case <-ctx.Done():
	}
	return jobs.Started("ok"), nil
}

// Several STARTs with one client-chosen executionId at the same moment run
// the job once: the first claims the id, the others answer from the claim.
func TestConcurrentStartsWithOneIDRunOnce(t *testing.T) {
	t.Parallel()
	var starts atomic.Int32
	h := jetjobstest.New(t, func(r *jobs.Registry) {
		r.MustRegister("slow-start", &slowStart{countingJob{starts: &starts}})
	})
	var wg sync.WaitGroup
	answers := make([]*jobs.Response, 5)
	for i := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i] = h.Call(t, "slow-start", jobs.StageStart, &jobs.Request{ExecutionID: "once-1"})
		}()
	}
	wg.Wait()
	if n := starts.Load(); n != 1 {
		t.Fatalf("Start ran %d times, want 1", n)
	}
	for _, a := range answers {
		if a.ExecutionID != "once-1" || !a.Success {
			t.Fatalf("answer %+v", a)
		}
	}
	h.WaitEvent(t, "slow-start", "once-1", jobs.EventCompleted)
}

// progressAtStart reports progress from inside Start.
type progressAtStart struct{ countingJob }

func (j *progressAtStart) Start(ctx context.Context, req *jobs.Request) (*jobs.Response, error) {
	if err := req.ReportProgress(ctx, 10, "warming up"); err != nil {
		return nil, err
	}
	return jobs.Started("started"), nil
}

// Progress reported from Start, under a client-chosen id (a claimed START),
// neither breaks the START nor leaves the claim pending.
func TestProgressFromStartWithClientID(t *testing.T) {
	t.Parallel()
	var starts atomic.Int32
	h := jetjobstest.New(t, func(r *jobs.Registry) {
		r.MustRegister("progress-start", &progressAtStart{countingJob{starts: &starts}})
	})
	resp := h.Call(t, "progress-start", jobs.StageStart, &jobs.Request{ExecutionID: "ps-1"})
	if !resp.Success || resp.Message != "started" {
		t.Fatalf("start: %+v", resp)
	}
	h.WaitEvent(t, "progress-start", "ps-1", jobs.EventCompleted)
	if exec := h.Execution(t, "progress-start", "ps-1"); exec.Pending {
		t.Fatalf("claim left pending: %+v", exec)
	}
}
