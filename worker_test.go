package jetjobs_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jetjobs/jetjobs"
	"github.com/jetjobs/jetjobs/jetjobstest"
	"github.com/jetjobs/jetjobs/jobs"
	"github.com/jetjobs/jetjobs/saga"
)

// sumWork is a worker job that adds its parameters a and b, reporting 50%
// on the way.
type sumWork struct{}

func (sumWork) Work(ctx context.Context, req *jobs.Request, p jobs.Progress) (*jobs.Response, error) {
	a, err := req.Int("a")
	if err != nil {
		return nil, jobs.Permanent(err)
	}
	b, err := req.Int("b")
	if err != nil {
		return nil, jobs.Permanent(err)
	}
	if err := p(ctx, 50, "adding"); err != nil {
		return nil, err
	}
	return jobs.Completed("added", map[string]any{"sum": a + b}), nil
}

// A worker job completes as soon as Work returns: JOB_COMPLETED carries the
// result, no CHECK ran, and CHECK, COLLECT and RESULT answer from the record
// and the stored result.
func TestWorkerJobCompletesWithItsResult(t *testing.T) {
	t.Parallel()
	h := jetjobstest.New(t, func(r *jobs.Registry) { r.MustRegister("sum", sumWork{}) })
	evs := h.Events(t, "jobs.evt.sum.>")
	start := h.Call(t, "sum", jobs.StageStart, &jobs.Request{Parameters: map[string]any{"a": 2, "b": 40}})
	if !start.Success || start.Status != jobs.StatusStarted || start.ExecutionID == "" {
		t.Fatalf("start: %+v", start)
	}
	id := start.ExecutionID
	var types []string
	var done jetjobstest.Event
	for done.Type == "" {
		ev := evs.Next(t, jetjobstest.DefaultTimeout)
		if ev.Data.ExecutionID != id {
			continue
		}
		types = append(types, ev.Type)
		if ev.Type == jobs.EventCompleted || ev.Type == jobs.EventFailed {
			done = ev
		}
	}
	if done.Type != jobs.EventCompleted || done.Data.Data["sum"] != float64(42) {
		t.Fatalf("terminal event %s with data %v, want JOB_COMPLETED with sum 42", done.Type, done.Data.Data)
	}
	if want := []string{jobs.EventStarted, jobs.EventProgress, jobs.EventCompleted}; strings.Join(types, ",") != strings.Join(want, ",") {
		t.Fatalf("events %v, want %v", types, want)
	}
	exec := h.Execution(t, "sum", id)
	if exec.Status != jobs.StatusCompleted || exec.Checks != 0 || exec.Attempts != 1 || exec.Mode != "worker" || exec.LastStage != jobs.StageWork {
		t.Fatalf("record: %+v", exec)
	}
	tests := []struct {
		stage   jobs.Stage
		wantMsg string
		wantSum any
	}{
		{jobs.StageCheck, "added", nil},
		{jobs.StageCollect, "nothing to collect", nil},
		{jobs.StageResult, "added", float64(42)},
	}
	for _, tt := range tests {
		resp := h.Call(t, "sum", tt.stage, &jobs.Request{ExecutionID: id})
		if !resp.Success || resp.Status != jobs.StatusCompleted || resp.Message != tt.wantMsg || resp.Data["sum"] != tt.wantSum {
			t.Errorf("%s: %+v", tt.stage, resp)
		}
	}
	if exec := h.Execution(t, "sum", id); exec.Checks != 0 {
		t.Fatalf("a client CHECK ran a CHECK stage: %+v", exec)
	}
}

// blockingWork blocks its first attempt until release (or its ctx) and
// says on which engine it runs; later attempts return at once.
type blockingWork struct {
	engine   int
	inside   chan int      // the engine running the first attempt
	release  chan struct{} // ends a blocked attempt
	calls    *atomic.Int32
	canceled chan int // the engine whose Work saw its ctx cancelled
}

func (w *blockingWork) Work(ctx context.Context, req *jobs.Request, _ jobs.Progress) (*jobs.Response, error) {
	w.calls.Add(1)
	if req.Attempt > 1 {
		return jobs.Completed("done", map[string]any{"engine": w.engine, "attempt": req.Attempt}), nil
	}
	w.inside <- w.engine
	select {
	case <-ctx.Done():
		if w.canceled != nil {
			w.canceled <- w.engine
		}
		return nil, ctx.Err()
	case <-w.release:
		return jobs.Completed("done", nil), nil
	}
}

// twoEngineWork starts two engines whose "blocky" job tells them apart.
func twoEngineWork(t *testing.T, job *blockingWork, opts ...jetjobstest.Option) (*jetjobstest.Harness, []*jetjobs.Engine) {
	n := 0
	h := jetjobstest.New(t, func(r *jobs.Registry) {
		j := *job
		j.engine = n
		n++
		r.MustRegister("blocky", &j)
	}, opts...)
	second := h.StartEngine(t)
	return h, []*jetjobs.Engine{h.Engine, second}
}

// An engine that dies mid-work (its connection cut: no ack, no drain): the
// work is redelivered after the ack wait to the other engine, which runs
// Work again; the execution completes once, with one terminal event.
func TestWorkerJobRunsAgainAfterHardStop(t *testing.T) {
	t.Parallel()
	job := &blockingWork{inside: make(chan int, 2), release: make(chan struct{}), calls: new(atomic.Int32)}
	h, engines := twoEngineWork(t, job, jetjobstest.WithConfig(func(c *jetjobs.Config) { c.NATS.AckWait = time.Second }))
	defer close(job.release) // lets the dead engine's Work return
	id := h.Call(t, "blocky", jobs.StageStart, &jobs.Request{}).ExecutionID
	victim := <-job.inside
	engines[victim].Conn().Close() // the crash
	ev := h.WaitEvent(t, "blocky", id, jobs.EventCompleted)
	if ev.Data.Data["engine"] != float64(1-victim) || ev.Data.Data["attempt"] != float64(2) {
		t.Fatalf("completed by %v on attempt %v, want engine %d attempt 2", ev.Data.Data["engine"], ev.Data.Data["attempt"], 1-victim)
	}
	terminal := 0
	for _, typ := range []string{jobs.EventCompleted, jobs.EventFailed, jobs.EventStopped} {
		terminal += h.CountEvents(t, "jobs.evt.blocky."+typ, func(e jetjobstest.Event) bool { return e.Data.ExecutionID == id })
	}
	if terminal != 1 {
		t.Fatalf("%d terminal events, want 1", terminal)
	}
	if n := job.calls.Load(); n != 2 {
		t.Fatalf("Work ran %d times, want 2", n)
	}
}

// STOP of a running worker job, sent to either engine, cancels Work's ctx
// on the engine that runs it, and answers STOPPED once Work has returned.
func TestWorkerJobStopCancelsWork(t *testing.T) {
	t.Parallel()
	job := &blockingWork{inside: make(chan int, 1), release: make(chan struct{}), calls: new(atomic.Int32), canceled: make(chan int, 1)}
	h, _ := twoEngineWork(t, job)
	id := h.Call(t, "blocky", jobs.StageStart, &jobs.Request{}).ExecutionID
	runner := <-job.inside
	resp := h.Call(t, "blocky", jobs.StageStop, &jobs.Request{ExecutionID: id, Reason: "enough"})
	if !resp.Success || resp.Status != jobs.StatusStopped {
		t.Fatalf("stop: %+v", resp)
	}
	select {
	case got := <-job.canceled: // Work returned before STOP answered
		if got != runner {
			t.Fatalf("ctx cancelled on engine %d, Work ran on %d", got, runner)
		}
	default:
		t.Fatal("STOP answered before Work's ctx was cancelled and it returned")
	}
	h.WaitEvent(t, "blocky", id, jobs.EventStopped)
	if n := h.CountEvents(t, "jobs.evt.blocky.>", func(e jetjobstest.Event) bool {
		return e.Data.ExecutionID == id && e.Type != jobs.EventStarted
	}); n != 1 {
		t.Fatalf("%d events after JOB_STARTED, want JOB_STOPPED only", n)
	}
	if exec := h.Execution(t, "blocky", id); exec.Status != jobs.StatusStopped || exec.Message != "enough" {
		t.Fatalf("record: %+v", exec)
	}
}

// flakyWork fails (plainly, permanently or by panicking) until attempt
// okAt, then succeeds.
type flakyWork struct {
	okAt int
	fail func(attempt int) error
}

func (w flakyWork) Work(_ context.Context, req *jobs.Request, _ jobs.Progress) (*jobs.Response, error) {
	if req.Attempt < w.okAt {
		return nil, w.fail(req.Attempt)
	}
	return jobs.Completed("ok", map[string]any{"attempt": req.Attempt}), nil
}

// Plain errors are retried with backoff up to retry-max-attempts (3);
// a permanent error or a panic fails the execution at once.
func TestWorkerJobRetries(t *testing.T) {
	t.Parallel()
	plain := func(n int) error { return fmt.Errorf("flaked on attempt %d", n) }
	tests := []struct {
		name         string
		job          flakyWork
		wantStatus   jobs.Status
		wantAttempts int
		wantErr      string // in the record
	}{
		{"fails twice then succeeds", flakyWork{okAt: 3, fail: plain}, jobs.StatusCompleted, 3, ""},
		{"permanent error", flakyWork{okAt: 9, fail: func(int) error { return jobs.Permanent(errors.New("bad input")) }}, jobs.StatusFailed, 1, "bad input"},
		{"panic", flakyWork{okAt: 9, fail: func(int) error { panic("boom") }}, jobs.StatusFailed, 1, "panic: boom"},
		{"attempts exhausted", flakyWork{okAt: 9, fail: plain}, jobs.StatusFailed, 3, "flaked on attempt 3"},
	}
	h := jetjobstest.New(t, func(r *jobs.Registry) {
		for i, tt := range tests {
			r.MustRegister(fmt.Sprintf("flaky-%d", i), tt.job)
		}
	})
	ids := make([]string, len(tests))
	for i := range tests {
		ids[i] = h.Call(t, fmt.Sprintf("flaky-%d", i), jobs.StageStart, &jobs.Request{}).ExecutionID
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			job := fmt.Sprintf("flaky-%d", i)
			evType := jobs.EventFailed
			if tt.wantStatus == jobs.StatusCompleted {
				evType = jobs.EventCompleted
			}
			ev := h.WaitEvent(t, job, ids[i], evType)
			exec := h.Execution(t, job, ids[i])
			if exec.Status != tt.wantStatus || exec.Attempts != tt.wantAttempts || !strings.Contains(exec.Error, tt.wantErr) {
				t.Fatalf("record: status %s attempts %d error %q; want %s, %d, %q", exec.Status, exec.Attempts, exec.Error,
					tt.wantStatus, tt.wantAttempts, tt.wantErr)
			}
			if tt.wantStatus == jobs.StatusCompleted && ev.Data.Data["attempt"] != float64(tt.wantAttempts) {
				t.Fatalf("result saw attempt %v, want %d", ev.Data.Data["attempt"], tt.wantAttempts)
			}
		})
	}
}

// The execution's deadline bounds Work's ctx: it ends TIMED_OUT.
func TestWorkerJobTimesOut(t *testing.T) {
	t.Parallel()
	job := &blockingWork{inside: make(chan int, 1), release: make(chan struct{}), calls: new(atomic.Int32)}
	h := jetjobstest.New(t, func(r *jobs.Registry) { r.MustRegister("blocky", job, jobs.WithTimeout(300*time.Millisecond)) })
	id := h.Call(t, "blocky", jobs.StageStart, &jobs.Request{}).ExecutionID
	h.WaitEvent(t, "blocky", id, jobs.EventFailed)
	if exec := h.Execution(t, "blocky", id); exec.Status != jobs.StatusTimedOut {
		t.Fatalf("record: %+v", exec)
	}
}

// Worker jobs over REST: start, check, result.
func TestWorkerJobOverREST(t *testing.T) {
	t.Parallel()
	h := jetjobstest.New(t, func(r *jobs.Registry) { r.MustRegister("sum", sumWork{}) })
	srv := serve(t, h)
	code, start := post(t, srv, "/api/v1/sum/start", `{"parameters":{"a":1,"b":2}}`)
	if code/100 != 2 || start.Status != jobs.StatusStarted {
		t.Fatalf("start: %d %+v", code, start)
	}
	h.WaitEvent(t, "sum", start.ExecutionID, jobs.EventCompleted)
	get := func(stage string) (int, jobs.Response) {
		resp, err := srv.Client().Get(srv.URL + "/api/v1/sum/" + start.ExecutionID + "/" + stage)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var out jobs.Response
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("%s: %d %s", stage, resp.StatusCode, b)
		}
		return resp.StatusCode, out
	}
	tests := []struct {
		stage    string
		wantCode int
		wantSum  any
	}{
		{"check", http.StatusOK, nil},
		{"result", http.StatusOK, float64(3)},
		{"execute", http.StatusMethodNotAllowed, nil},
	}
	for _, tt := range tests[:2] {
		code, resp := get(tt.stage)
		if code != tt.wantCode || resp.Status != jobs.StatusCompleted || resp.Data["sum"] != tt.wantSum {
			t.Errorf("%s: %d %+v", tt.stage, code, resp)
		}
	}
	resp, err := srv.Client().Post(srv.URL+"/api/v1/sum/execute", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		t.Fatalf("execute of a worker job: %d, want an error", resp.StatusCode)
	}
	spec, err := srv.Client().Get(srv.URL + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer spec.Body.Close()
	var doc struct {
		Paths map[string]map[string]struct {
			Description string `json:"description"`
		} `json:"paths"`
	}
	if err := json.NewDecoder(spec.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/api/v1/sum/start", "/api/v1/sum/{executionId}/check", "/api/v1/sum/{executionId}/result", "/api/v1/sum/{executionId}/stop"} {
		ops := doc.Paths[path]
		if len(ops) == 0 {
			t.Errorf("openapi.json has no %s", path)
		}
		for _, op := range ops {
			if !strings.Contains(op.Description, "(worker)") {
				t.Errorf("%s: description %q does not name the worker kind", path, op.Description)
			}
		}
	}
}

// A saga step may be a worker job: the saga starts it and goes on when its
// JOB_COMPLETED arrives, with its result for the next step.
func TestWorkerJobInSaga(t *testing.T) {
	t.Parallel()
	def := &saga.Definition{Name: "sums", Steps: []saga.Step{
		{Name: "first", Job: "sum", Timeout: time.Minute, Parameters: map[string]any{"a": "${input.a}", "b": 2}},
		{Name: "second", Job: "sum", Timeout: time.Minute, Parameters: map[string]any{"a": "${steps.first.result.sum}", "b": 10}},
	}}
	h := jetjobstest.New(t, func(r *jobs.Registry) { r.MustRegister("sum", sumWork{}) },
		jetjobstest.WithEngineOptions(jetjobs.WithComponents(saga.InEngine(def))))
	srv := serve(t, h)
	resp, err := srv.Client().Post(srv.URL+"/api/v1/sagas/sums/start", "application/json", strings.NewReader(`{"sagaId":"s1","input":{"a":1}}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("saga start: %d", resp.StatusCode)
	}
	evs := h.Events(t, "jobs.evt.sum.JOB_COMPLETED")
	var sums []any
	for len(sums) < 2 {
		sums = append(sums, evs.Next(t, jetjobstest.DefaultTimeout).Data.Data["sum"])
	}
	if sums[0] != float64(3) || sums[1] != float64(13) {
		t.Fatalf("step results %v, want [3 13]", sums)
	}
	waitFor(t, func() bool {
		r, err := srv.Client().Get(srv.URL + "/api/v1/sagas/sums/s1")
		if err != nil {
			return false
		}
		defer r.Body.Close()
		var in struct {
			Status string `json:"status"`
		}
		_ = json.NewDecoder(r.Body).Decode(&in)
		return in.Status == "COMPLETED"
	})
}
