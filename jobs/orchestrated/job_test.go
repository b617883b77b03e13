package orchestrated_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/jetjobs/jetjobs/jobs"
	"github.com/jetjobs/jetjobs/jobs/orchestrated"
)

// fakeOrch is an in-memory Orchestrator. Its execution ids are
// "<definition>:<name>" (so Job must use ExecutionIDFor); err, when set, is
// what every call returns.
type fakeOrch struct {
	mu     sync.Mutex
	runs   map[string]*orchestrated.Execution
	starts []orchestrated.JobDefinition
	stops  []string
	err    error
}

func newFake() *fakeOrch { return &fakeOrch{runs: map[string]*orchestrated.Execution{}} }

func (f *fakeOrch) Type() string { return "FAKE" }

func (f *fakeOrch) ExecutionIDFor(def orchestrated.JobDefinition) string {
	return def.DefinitionID + ":" + def.ExecutionName
}

func (f *fakeOrch) StartJob(_ context.Context, def orchestrated.JobDefinition) (*orchestrated.Execution, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	f.starts = append(f.starts, def)
	id := f.ExecutionIDFor(def)
	if ex, ok := f.runs[id]; ok { // idempotent on the name
		c := *ex
		return &c, nil
	}
	ex := &orchestrated.Execution{ExecutionID: id, ExecutionName: def.ExecutionName, DefinitionID: def.DefinitionID,
		Status: orchestrated.StatusQueued, Input: def.Input}
	f.runs[id] = ex
	c := *ex
	return &c, nil
}

func (f *fakeOrch) lookup(id string) (*orchestrated.Execution, error) {
	if f.err != nil {
		return nil, f.err
	}
	ex, ok := f.runs[id]
	if !ok {
		return nil, jobs.Errorf(jobs.CodeNotFound, "execution %s not found", id)
	}
	return ex, nil
}

func (f *fakeOrch) CheckJobStatus(_ context.Context, id string) (orchestrated.Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ex, err := f.lookup(id)
	if err != nil {
		return "", err
	}
	return ex.Status, nil
}

func (f *fakeOrch) StopJob(_ context.Context, id, reason string) (orchestrated.Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ex, err := f.lookup(id)
	if err != nil {
		return "", err
	}
	f.stops = append(f.stops, reason)
	ex.Status = orchestrated.StatusAborted
	return ex.Status, nil
}

func (f *fakeOrch) GetJobExecution(_ context.Context, id string) (*orchestrated.Execution, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ex, err := f.lookup(id)
	if err != nil {
		return nil, err
	}
	c := *ex
	return &c, nil
}

func (f *fakeOrch) set(id string, st orchestrated.Status, errText string, out map[string]any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ex := f.runs[id]
	ex.Status, ex.Error, ex.Output = st, errText, out
}

func req(id string) *jobs.Request {
	return &jobs.Request{ExecutionID: id, JobType: "dag-import", RequestID: "r-1", Initiator: "crm",
		Parameters: map[string]any{"datasetId": "ds-1"}}
}

func TestStartPassesTheRequestAndIsIdempotent(t *testing.T) {
	t.Parallel()
	f := newFake()
	j := orchestrated.New(f, "import")
	for range 2 {
		resp, err := j.Start(context.Background(), req("exec-1"))
		if err != nil {
			t.Fatal(err)
		}
		if !resp.Success || resp.Status != jobs.StatusStarted || resp.Data["orchestratorExecutionId"] != "import:exec-1" {
			t.Fatalf("start: %+v", resp)
		}
	}
	if len(f.runs) != 1 {
		t.Fatalf("%d runs, want 1", len(f.runs))
	}
	want := orchestrated.JobDefinition{JobName: "dag-import", DefinitionID: "import", ExecutionName: "exec-1",
		RequestID: "r-1", Initiator: "crm"}
	got := f.starts[0]
	if got.Input["datasetId"] != "ds-1" {
		t.Fatalf("input %v", got.Input)
	}
	got.Input = nil
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("definition %+v, want %+v", got, want)
	}
}

func TestStartOfAFinishedExecution(t *testing.T) {
	t.Parallel()
	f := newFake()
	j := orchestrated.New(f, "import")
	if _, err := j.Start(context.Background(), req("e")); err != nil {
		t.Fatal(err)
	}
	f.set("import:e", orchestrated.StatusSucceeded, "", nil)
	resp, err := j.Start(context.Background(), req("e"))
	if err != nil || resp.Status != jobs.StatusCompleted {
		t.Fatalf("restart of a succeeded run: %+v %v", resp, err)
	}
	f.set("import:e", orchestrated.StatusFailed, "task x failed", nil)
	resp, err = j.Start(context.Background(), req("e"))
	if err != nil || resp.Status != jobs.StatusFailed || !strings.Contains(resp.ErrorText(), "task x failed") {
		t.Fatalf("restart of a failed run: %+v %v", resp, err)
	}
}

func TestCheckMapsStatuses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		st      orchestrated.Status
		errText string
		want    jobs.Status
		success bool
		wantErr string
	}{
		{orchestrated.StatusQueued, "", jobs.StatusRunning, true, ""},
		{orchestrated.StatusRunning, "", jobs.StatusRunning, true, ""},
		{orchestrated.StatusSucceeded, "", jobs.StatusCompleted, true, ""},
		{orchestrated.StatusFailed, "task load failed", jobs.StatusFailed, false, "FAKE execution import:e ended FAILED: task load failed"},
		{orchestrated.StatusTimedOut, "", jobs.StatusFailed, false, "FAKE execution import:e ended TIMED_OUT"},
		{orchestrated.StatusAborted, "aborted by ops", jobs.StatusFailed, false, "ended ABORTED: aborted by ops"},
	} {
		t.Run(string(tc.st), func(t *testing.T) {
			t.Parallel()
			f := newFake()
			j := orchestrated.New(f, "import")
			if _, err := j.Start(context.Background(), req("e")); err != nil {
				t.Fatal(err)
			}
			f.set("import:e", tc.st, tc.errText, nil)
			resp, err := j.Check(context.Background(), req("e"))
			if err != nil {
				t.Fatal(err)
			}
			if resp.Status != tc.want || resp.Success != tc.success || !strings.Contains(resp.ErrorText(), tc.wantErr) {
				t.Fatalf("check: %+v (error %q)", resp, resp.ErrorText())
			}
			if resp.Data["orchestratorStatus"] != string(tc.st) {
				t.Fatalf("data %v", resp.Data)
			}
		})
	}
}

// progressOrch adds a ProgressReporter to the fake.
type progressOrch struct {
	*fakeOrch
	p   orchestrated.Progress
	err error
}

func (p progressOrch) ExecutionIDFor(def orchestrated.JobDefinition) string {
	return p.fakeOrch.ExecutionIDFor(def)
}
func (p progressOrch) Progress(context.Context, string) (orchestrated.Progress, error) {
	return p.p, p.err
}

func TestCheckReportsProgress(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		p       orchestrated.Progress
		err     error
		pct     int
		message string
	}{
		{"state", orchestrated.Progress{Percent: 40, Message: "in state Load"}, nil, 40, "FAKE execution import:e is RUNNING: in state Load"},
		{"clamped", orchestrated.Progress{Percent: 140}, nil, 100, "FAKE execution import:e is RUNNING"},
		{"error ignored", orchestrated.Progress{Message: "x"}, errors.New("throttled"), 0, "FAKE execution import:e is RUNNING"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFake()
			j := orchestrated.New(progressOrch{fakeOrch: f, p: tc.p, err: tc.err}, "import")
			if _, err := j.Start(context.Background(), req("e")); err != nil {
				t.Fatal(err)
			}
			f.set("import:e", orchestrated.StatusRunning, "", nil)
			resp, err := j.Check(context.Background(), req("e"))
			if err != nil || resp.ProgressPercentage != tc.pct || resp.Message != tc.message {
				t.Fatalf("check: %+v %v", resp, err)
			}
		})
	}
}

func TestCheckUnknownStatusIsPermanent(t *testing.T) {
	t.Parallel()
	f := newFake()
	j := orchestrated.New(f, "import")
	if _, err := j.Start(context.Background(), req("e")); err != nil {
		t.Fatal(err)
	}
	f.set("import:e", "PAUSED", "", nil)
	_, err := j.Check(context.Background(), req("e"))
	if err == nil || !jobs.IsPermanent(err) || !strings.Contains(err.Error(), `"PAUSED"`) {
		t.Fatalf("err = %v", err)
	}
}

func TestCollectAndResult(t *testing.T) {
	t.Parallel()
	f := newFake()
	j := orchestrated.New(f, "import")
	if _, err := j.Start(context.Background(), req("e")); err != nil {
		t.Fatal(err)
	}
	f.set("import:e", orchestrated.StatusRunning, "", map[string]any{"rows": 10})
	c, err := j.Collect(context.Background(), req("e"))
	if err != nil || !c.Success || c.Data["rows"] != 10 {
		t.Fatalf("collect: %+v %v", c, err)
	}
	if _, err := j.Result(context.Background(), req("e")); !errors.Is(err, jobs.ErrNotReady) {
		t.Fatalf("result while running: %v", err)
	}
	f.set("import:e", orchestrated.StatusSucceeded, "", map[string]any{"rows": 42})
	r, err := j.Result(context.Background(), req("e"))
	if err != nil || !r.Success || r.Data["rows"] != 42 {
		t.Fatalf("result: %+v %v", r, err)
	}
}

func TestStop(t *testing.T) {
	t.Parallel()
	f := newFake()
	j := orchestrated.New(f, "import")
	if _, err := j.Start(context.Background(), req("e")); err != nil {
		t.Fatal(err)
	}
	r := req("e")
	r.Reason = "operator asked"
	resp, err := j.Stop(context.Background(), r)
	if err != nil || !resp.Success || resp.Data["orchestratorStatus"] != "ABORTED" {
		t.Fatalf("stop: %+v %v", resp, err)
	}
	if len(f.stops) != 1 || f.stops[0] != "operator asked" {
		t.Fatalf("stops %v", f.stops)
	}
	// A run the orchestrator does not know has nothing left to stop.
	resp, err = j.Stop(context.Background(), req("never-started"))
	if err != nil || !resp.Success || !strings.Contains(resp.Message, "nothing to stop") {
		t.Fatalf("stop unknown: %+v %v", resp, err)
	}
}

// Errors pass through unchanged, so the adapter's classification (plain,
// permanent, not found) steers the engine.
func TestErrorsKeepTheirClass(t *testing.T) {
	t.Parallel()
	plain := errors.New("connection refused")
	perm := jobs.Permanent(errors.New("HTTP 401"))
	for _, tc := range []struct {
		err       error
		permanent bool
	}{{plain, false}, {perm, true}, {jobs.Errorf(jobs.CodeNotFound, "gone"), true}} {
		f := newFake()
		f.err = tc.err
		j := orchestrated.New(f, "import")
		calls := map[string]func(context.Context, *jobs.Request) (*jobs.Response, error){
			"start": j.Start, "check": j.Check, "collect": j.Collect, "result": j.Result,
		}
		for name, call := range calls {
			_, err := call(context.Background(), req("e"))
			if !errors.Is(err, tc.err) || jobs.IsPermanent(err) != tc.permanent {
				t.Fatalf("%s with %v: got %v (permanent %v)", name, tc.err, err, jobs.IsPermanent(err))
			}
		}
	}
	if _, err := orchestrated.New(&fakeOrch{err: plain}, "x").Stop(context.Background(), req("e")); !errors.Is(err, plain) {
		t.Fatalf("stop: %v", err)
	}
}

// Without an ExecutionIDResolver the execution id is the execution name.
// plainOrch wraps fakeOrch without its ExecutionIDFor and files each run
// under its name as well.
type plainOrch struct{ f *fakeOrch }

func (p plainOrch) Type() string { return p.f.Type() }
func (p plainOrch) StartJob(ctx context.Context, def orchestrated.JobDefinition) (*orchestrated.Execution, error) {
	ex, err := p.f.StartJob(ctx, def)
	if err == nil {
		p.f.mu.Lock()
		p.f.runs[def.ExecutionName] = p.f.runs[ex.ExecutionID]
		p.f.mu.Unlock()
	}
	return ex, err
}
func (p plainOrch) CheckJobStatus(ctx context.Context, id string) (orchestrated.Status, error) {
	return p.f.CheckJobStatus(ctx, id)
}
func (p plainOrch) StopJob(ctx context.Context, id, reason string) (orchestrated.Status, error) {
	return p.f.StopJob(ctx, id, reason)
}
func (p plainOrch) GetJobExecution(ctx context.Context, id string) (*orchestrated.Execution, error) {
	return p.f.GetJobExecution(ctx, id)
}

func TestExecutionIDWithoutResolver(t *testing.T) {
	t.Parallel()
	j := orchestrated.New(plainOrch{newFake()}, "import")
	if got := j.ExecutionID(req("exec-9")); got != "exec-9" {
		t.Fatalf("id %q", got)
	}
	if _, err := j.Start(context.Background(), req("exec-9")); err != nil {
		t.Fatal(err)
	}
	if resp, err := j.Check(context.Background(), req("exec-9")); err != nil || resp.Status != jobs.StatusRunning {
		t.Fatalf("check: %+v %v", resp, err)
	}
}

func TestStatus(t *testing.T) {
	t.Parallel()
	for s, terminal := range map[orchestrated.Status]bool{
		orchestrated.StatusQueued: false, orchestrated.StatusRunning: false, orchestrated.StatusSucceeded: true,
		orchestrated.StatusFailed: true, orchestrated.StatusTimedOut: true, orchestrated.StatusAborted: true,
	} {
		if !s.Valid() || s.Terminal() != terminal {
			t.Fatalf("%s: valid %v terminal %v", s, s.Valid(), s.Terminal())
		}
	}
	if orchestrated.Status("PAUSED").Valid() {
		t.Fatal("PAUSED is valid")
	}
}

func TestNewNilPanics(t *testing.T) {
	t.Parallel()
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	orchestrated.New(nil, "x")
}
