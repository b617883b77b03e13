package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jetjobs/jetjobs/jobs"
)

// asyncJob is the smallest async job: AsyncDefaults answers COLLECT and RESULT.
type asyncJob struct{ jobs.AsyncDefaults }

func (asyncJob) Start(context.Context, *jobs.Request) (*jobs.Response, error) {
	return jobs.Started("started"), nil
}
func (asyncJob) Check(context.Context, *jobs.Request) (*jobs.Response, error) {
	return jobs.Running(50, "halfway"), nil
}
func (asyncJob) Stop(context.Context, *jobs.Request) (*jobs.Response, error) {
	return &jobs.Response{Success: true}, nil
}

type syncJob struct{}

func (syncJob) Execute(context.Context, *jobs.Request) (*jobs.Response, error) {
	return jobs.Completed("done", nil), nil
}

// bothJob implements both modes, which is ambiguous.
type bothJob struct{ asyncJob }

func (bothJob) Execute(context.Context, *jobs.Request) (*jobs.Response, error) { return nil, nil }

// neitherJob has only part of AsyncJob.
type neitherJob struct{ jobs.AsyncDefaults }

func (neitherJob) Start(context.Context, *jobs.Request) (*jobs.Response, error) { return nil, nil }

// pointerJob implements SyncJob on its pointer only.
type pointerJob struct{}

func (*pointerJob) Execute(context.Context, *jobs.Request) (*jobs.Response, error) { return nil, nil }

func TestRegistryRegister(t *testing.T) {
	t.Parallel()
	name64 := "a" + strings.Repeat("b", 63)
	name65 := name64 + "c"
	tests := []struct {
		name     string
		job      any
		wantMode string // "" when Register must fail
		wantErr  string
	}{
		{name: "async", job: asyncJob{}, wantMode: "async"},
		{name: "async-ptr", job: &asyncJob{}, wantMode: "async"},
		{name: "sync", job: syncJob{}, wantMode: "sync"},
		{name: "sync-ptr", job: &pointerJob{}, wantMode: "sync"},
		{name: "0lead-digit", job: syncJob{}, wantMode: "sync"},
		{name: "trailing-", job: syncJob{}, wantMode: "sync"},
		{name: "x", job: syncJob{}, wantMode: "sync"},
		{name: name64, job: syncJob{}, wantMode: "sync"},
		{name: "Bad", job: syncJob{}, wantErr: `invalid job name "Bad": want ^[a-z0-9][a-z0-9-]{0,63}$`},
		{name: "-x", job: syncJob{}, wantErr: `invalid job name "-x": want ^[a-z0-9][a-z0-9-]{0,63}$`},
		{name: name65, job: syncJob{}, wantErr: fmt.Sprintf(`invalid job name %q: want ^[a-z0-9][a-z0-9-]{0,63}$`, name65)},
		{name: "a.b", job: syncJob{}, wantErr: `invalid job name "a.b": want ^[a-z0-9][a-z0-9-]{0,63}$`},
		{name: "a_b", job: syncJob{}, wantErr: `invalid job name "a_b": want ^[a-z0-9][a-z0-9-]{0,63}$`},
		{name: "a*", job: syncJob{}, wantErr: `invalid job name "a*": want ^[a-z0-9][a-z0-9-]{0,63}$`},
		{name: "a b", job: syncJob{}, wantErr: `invalid job name "a b": want ^[a-z0-9][a-z0-9-]{0,63}$`},
		{name: "", job: syncJob{}, wantErr: `invalid job name "": want ^[a-z0-9][a-z0-9-]{0,63}$`},
		{name: "neither", job: neitherJob{}, wantErr: `job "neither": jobs_test.neitherJob implements neither AsyncJob nor SyncJob`},
		{name: "value-of-ptr", job: pointerJob{}, wantErr: `job "value-of-ptr": jobs_test.pointerJob implements neither AsyncJob nor SyncJob`},
		{name: "nil", job: nil, wantErr: `job "nil": <nil> implements neither AsyncJob nor SyncJob`},
		{name: "string", job: "hello", wantErr: `job "string": string implements neither AsyncJob nor SyncJob`},
		{name: "both", job: bothJob{}, wantErr: `job "both": jobs_test.bothJob implements both AsyncJob and SyncJob; register one mode`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := jobs.NewRegistry()
			err := r.Register(tt.name, tt.job)
			def, found := r.Lookup(tt.name)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("Register(%q, %T) succeeded, want %q", tt.name, tt.job, tt.wantErr)
				}
				if err.Error() != tt.wantErr {
					t.Errorf("Register error = %q, want %q", err, tt.wantErr)
				}
				if !errors.Is(err, jobs.ErrInvalidArgument) {
					t.Errorf("errors.Is(%v, ErrInvalidArgument) = false", err)
				}
				if found || len(r.Definitions()) != 0 {
					t.Errorf("a failed Register left a definition behind")
				}
				return
			}
			if err != nil {
				t.Fatalf("Register(%q, %T): %v", tt.name, tt.job, err)
			}
			if !found {
				t.Fatalf("Lookup(%q) after Register found nothing", tt.name)
			}
			if def.Name != tt.name {
				t.Errorf("Name = %q, want %q", def.Name, tt.name)
			}
			if got := def.Mode(); got != tt.wantMode {
				t.Errorf("Mode() = %q, want %q", got, tt.wantMode)
			}
			if (def.Async != nil) != (tt.wantMode == "async") || (def.Sync != nil) != (tt.wantMode == "sync") {
				t.Errorf("Async = %v, Sync = %v for a %s job", def.Async, def.Sync, tt.wantMode)
			}
			if !reflect.DeepEqual(def.Options, jobs.JobOptions{}) {
				t.Errorf("Options without options = %+v, want zero", def.Options)
			}
		})
	}
}

func TestRegistryRegisterDuplicate(t *testing.T) {
	t.Parallel()
	r := jobs.NewRegistry()
	if err := r.Register("dup", asyncJob{}, jobs.WithDescription("first")); err != nil {
		t.Fatal(err)
	}
	err := r.Register("dup", syncJob{}, jobs.WithDescription("second"))
	if err == nil {
		t.Fatal("second Register of the same name succeeded")
	}
	if !errors.Is(err, jobs.ErrConflict) {
		t.Errorf("errors.Is(%v, ErrConflict) = false", err)
	}
	if want := `job "dup" is already registered`; err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
	def, _ := r.Lookup("dup")
	if def.Mode() != "async" || def.Options.Description != "first" {
		t.Errorf("the duplicate replaced the first definition: %+v", def)
	}

	defer func() {
		p := recover()
		err, ok := p.(error)
		if !ok || !errors.Is(err, jobs.ErrConflict) {
			t.Errorf("MustRegister of a duplicate panicked with %v, want a conflict error", p)
		}
	}()
	r.MustRegister("dup", syncJob{})
	t.Error("MustRegister of a duplicate did not panic")
}

func TestRegistryConcurrentRegisterOneWins(t *testing.T) {
	t.Parallel()
	r := jobs.NewRegistry()
	const n = 16
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() { errs <- r.Register("race", syncJob{}) })
	}
	wg.Wait()
	close(errs)
	ok := 0
	for err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, jobs.ErrConflict):
			t.Errorf("losing Register: %v, want a conflict", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d concurrent Registers of one name succeeded, want 1", ok)
	}
}

func TestRegistryDefinitionsSorted(t *testing.T) {
	t.Parallel()
	r := jobs.NewRegistry()
	if defs := r.Definitions(); defs == nil || len(defs) != 0 {
		t.Errorf("Definitions of an empty registry = %#v, want an empty non-nil slice", defs)
	}
	names := []string{"zeta", "alpha", "m-2", "m-10", "0-first", "beta"}
	for i, n := range names {
		var job any = syncJob{}
		if i%2 == 0 {
			job = asyncJob{}
		}
		r.MustRegister(n, job)
	}
	var got []string
	for _, d := range r.Definitions() {
		got = append(got, d.Name)
	}
	want := []string{"0-first", "alpha", "beta", "m-10", "m-2", "zeta"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Definitions names = %v, want %v", got, want)
	}
	// The slice is the caller's: reordering it does not reorder the registry.
	defs := r.Definitions()
	defs[0], defs[1] = defs[1], defs[0]
	if r.Definitions()[0].Name != "0-first" {
		t.Errorf("Definitions shares its slice with the registry")
	}
	if _, ok := r.Lookup("missing"); ok {
		t.Errorf("Lookup of an unregistered name found something")
	}
}

func TestDefinitionSupports(t *testing.T) {
	t.Parallel()
	r := jobs.NewRegistry()
	r.MustRegister("a", asyncJob{})
	r.MustRegister("s", syncJob{})
	a, _ := r.Lookup("a")
	s, _ := r.Lookup("s")
	tests := []struct {
		stage     jobs.Stage
		async     bool
		sync      bool
		wantAsync bool
	}{
		{jobs.StageStart, true, false, true},
		{jobs.StageCheck, true, false, true},
		{jobs.StageCollect, true, false, true},
		{jobs.StageResult, true, true, true}, // a sync job answers RESULT from its stored result
		{jobs.StageStop, true, false, true},
		{jobs.StageExecute, false, true, false},
	}
	if len(tests) != len(jobs.Stages) {
		t.Fatalf("table covers %d stages, jobs.Stages has %d", len(tests), len(jobs.Stages))
	}
	for _, tt := range tests {
		t.Run(string(tt.stage), func(t *testing.T) {
			t.Parallel()
			if got := a.Supports(tt.stage); got != tt.async {
				t.Errorf("async job Supports(%s) = %v, want %v", tt.stage, got, tt.async)
			}
			if got := s.Supports(tt.stage); got != tt.sync {
				t.Errorf("sync job Supports(%s) = %v, want %v", tt.stage, got, tt.sync)
			}
			if got := tt.stage.Async(); got != tt.wantAsync {
				t.Errorf("%s.Async() = %v, want %v", tt.stage, got, tt.wantAsync)
			}
		})
	}
	for _, st := range []jobs.Stage{"", "BOGUS"} {
		if s.Supports(st) {
			t.Errorf("sync job Supports(%q) = true", st)
		}
	}
}

func TestRegistryOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts []jobs.Option
		want jobs.JobOptions
	}{
		{"none", nil, jobs.JobOptions{}},
		{"description", []jobs.Option{jobs.WithDescription("loads a dataset")}, jobs.JobOptions{Description: "loads a dataset"}},
		{"base path", []jobs.Option{jobs.WithBasePath("/api/v2/load")}, jobs.JobOptions{BasePath: "/api/v2/load"}},
		{"timeout", []jobs.Option{jobs.WithTimeout(time.Hour)}, jobs.JobOptions{DefaultTimeout: time.Hour}},
		{"check interval", []jobs.Option{jobs.WithCheckInterval(time.Second, time.Minute)},
			jobs.JobOptions{CheckInterval: time.Second, MaxCheckInterval: time.Minute}},
		{"stage timeout", []jobs.Option{jobs.WithStageTimeout(5 * time.Second)}, jobs.JobOptions{StageTimeout: 5 * time.Second}},
		{"all", []jobs.Option{
			jobs.WithDescription("d"), jobs.WithBasePath("/p"), jobs.WithTimeout(time.Minute),
			jobs.WithCheckInterval(2*time.Second, 30*time.Second), jobs.WithStageTimeout(10 * time.Second),
		}, jobs.JobOptions{
			Description: "d", BasePath: "/p", DefaultTimeout: time.Minute,
			CheckInterval: 2 * time.Second, MaxCheckInterval: 30 * time.Second, StageTimeout: 10 * time.Second,
		}},
		{"last one wins", []jobs.Option{jobs.WithTimeout(time.Minute), jobs.WithTimeout(time.Hour)},
			jobs.JobOptions{DefaultTimeout: time.Hour}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := jobs.NewRegistry()
			for _, job := range []struct {
				name string
				job  any
			}{{"a", asyncJob{}}, {"s", syncJob{}}} {
				if err := r.Register(job.name, job.job, tt.opts...); err != nil {
					t.Fatal(err)
				}
				def, _ := r.Lookup(job.name)
				if !reflect.DeepEqual(def.Options, tt.want) {
					t.Errorf("%s: Options = %+v, want %+v", job.name, def.Options, tt.want)
				}
			}
		})
	}
}

func TestAsyncDefaults(t *testing.T) {
	t.Parallel()
	var d jobs.AsyncDefaults
	for _, tt := range []struct {
		stage string
		call  func(context.Context, *jobs.Request) (*jobs.Response, error)
		msg   string
	}{
		{"COLLECT", d.Collect, "nothing to collect"},
		{"RESULT", d.Result, "completed"},
	} {
		resp, err := tt.call(t.Context(), &jobs.Request{})
		if err != nil || resp == nil || !resp.Success || resp.Message != tt.msg || resp.Status != "" {
			t.Errorf("AsyncDefaults %s = %+v, %v; want success %q with no status", tt.stage, resp, err, tt.msg)
		}
	}
}

func TestValidateExecutionID(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", 128)
	tests := []struct {
		id string
		ok bool
	}{
		{"e1", true}, {"A-z_0-9", true}, {long, true}, {jobs.NewExecutionID(), true},
		{"", false}, {long + "a", false}, {"a.b", false}, {"a b", false}, {"a*", false}, {"a>", false}, {"é", false},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			t.Parallel()
			err := jobs.ValidateExecutionID(tt.id)
			if (err == nil) != tt.ok {
				t.Fatalf("ValidateExecutionID(%q) = %v, want ok=%v", tt.id, err, tt.ok)
			}
			if err != nil && !errors.Is(err, jobs.ErrInvalidArgument) {
				t.Errorf("errors.Is(%v, ErrInvalidArgument) = false", err)
			}
		})
	}
	if a, b := jobs.NewExecutionID(), jobs.NewExecutionID(); a == b {
		t.Errorf("NewExecutionID returned %q twice", a)
	}
	// Long ids are truncated in the message.
	err := jobs.ValidateExecutionID(strings.Repeat("x.", 100))
	if err == nil || len(err.Error()) > 200 || !strings.Contains(err.Error(), "…") {
		t.Errorf("error for a long invalid id is not truncated: %v", err)
	}
}
