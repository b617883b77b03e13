package jobs_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jetjobs/jetjobs/jobs"
	"github.com/jetjobs/jetjobs/jobs/jobstest"
)

// events records published events by id, as a stream with dedup would keep
// them; failNext makes the next publish fail, like an unreachable server.
type events struct {
	mu       sync.Mutex
	byID     map[string]jobs.EventData
	order    []string
	failNext int
}

func (e *events) Publish(_ context.Context, ev *jobs.Event) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.failNext > 0 {
		e.failNext--
		return &jobs.Error{Code: jobs.CodeUnavailable, Msg: "publish refused"}
	}
	if e.byID == nil {
		e.byID = map[string]jobs.EventData{}
	}
	if _, dup := e.byID[ev.ID]; !dup {
		e.byID[ev.ID] = ev.Data
		e.order = append(e.order, ev.Data.EventType)
	}
	return nil
}

func (e *events) types() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.order...)
}

type timers struct {
	mu    sync.Mutex
	armed map[string]int
}

func (t *timers) Arm(_ context.Context, job, id string, _ time.Duration) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.armed == nil {
		t.armed = map[string]int{}
	}
	t.armed[job+"."+id]++
	return nil
}

type instant struct{ jobs.AsyncDefaults }

func (instant) Start(context.Context, *jobs.Request) (*jobs.Response, error) {
	return jobs.Completed("done", map[string]any{"n": 1}), nil
}
func (instant) Check(context.Context, *jobs.Request) (*jobs.Response, error) {
	return jobs.Completed("done", nil), nil
}
func (instant) Stop(context.Context, *jobs.Request) (*jobs.Response, error) {
	return &jobs.Response{Success: true}, nil
}

func newRuntime(t *testing.T, job any) (*jobs.Runtime, *jobstest.MemoryStore, *events, *timers) {
	t.Helper()
	reg := jobs.NewRegistry()
	reg.MustRegister("j", job)
	store, ev, tm := &jobstest.MemoryStore{}, &events{}, &timers{}
	return jobs.NewRuntime(reg, store, ev, tm, jobs.RuntimeConfig{}), store, ev, tm
}

// A START whose events could not be published is redelivered; the
// redelivery finds the execution its first delivery created and publishes
// what it owes, once.
func TestRedeliveredStartFinishesWhatItOwes(t *testing.T) {
	t.Parallel()
	rt, store, ev, _ := newRuntime(t, instant{})
	ctx := context.Background()
	ev.failNext = 1
	cmd := &jobs.Command{ID: "cmd-1", JobType: "j", Stage: jobs.StageStart, Delivery: 1}
	if _, err := rt.Handle(ctx, cmd); !errors.Is(err, jobs.ErrUnavailable) {
		t.Fatalf("first delivery: %v, want the publish failure", err)
	}
	if exec, _, err := store.Get(ctx, "j", "cmd-1"); err != nil || exec.Status != jobs.StatusCompleted {
		t.Fatalf("record after the first delivery: %+v %v", exec, err)
	}
	cmd.Delivery = 2
	resp, err := rt.Handle(ctx, cmd)
	if err != nil || !resp.Success || resp.ExecutionID != "cmd-1" {
		t.Fatalf("redelivery: %+v %v", resp, err)
	}
	cmd.Delivery = 3 // and once more: nothing new
	if _, err := rt.Handle(ctx, cmd); err != nil {
		t.Fatal(err)
	}
	got := ev.types()
	if len(got) != 2 || got[0] != jobs.EventStarted || got[1] != jobs.EventCompleted {
		t.Fatalf("events %v, want JOB_STARTED then JOB_COMPLETED once", got)
	}
}

// A START refused before it ran (an open breaker, say) creates nothing.
func TestRefusedStartCreatesNothing(t *testing.T) {
	t.Parallel()
	reg := jobs.NewRegistry()
	reg.MustRegister("j", instant{})
	store, ev := &jobstest.MemoryStore{}, &events{}
	refuse := func(jobs.Handler) jobs.Handler {
		return func(context.Context, *jobs.Invocation) (*jobs.Response, error) {
			return nil, jobs.Errorf(jobs.CodeUnavailable, "circuit breaker of job %q is open", "j")
		}
	}
	rt := jobs.NewRuntime(reg, store, ev, &timers{}, jobs.RuntimeConfig{Middleware: []jobs.Middleware{refuse}})
	for _, id := range []string{"", "client-id"} { // derived id, and a claimed client id
		resp, err := rt.Handle(context.Background(), &jobs.Command{ID: "cmd-r", JobType: "j", Stage: jobs.StageStart,
			Request: jobs.Request{ExecutionID: id}, Delivery: 1})
		if err != nil || resp.Success || resp.Code != jobs.CodeUnavailable {
			t.Fatalf("%q: %+v %v", id, resp, err)
		}
		want := id
		if want == "" {
			want = "cmd-r"
		}
		if _, _, err := store.Get(context.Background(), "j", want); !errors.Is(err, jobs.ErrNotFound) {
			t.Fatalf("%q: a refused START left a record: %v", id, err)
		}
	}
	if len(ev.types()) != 0 {
		t.Fatalf("events %v", ev.types())
	}
}

// running stays RUNNING until told.
type running struct {
	jobs.AsyncDefaults
	mu   sync.Mutex
	done bool
}

func (j *running) Start(context.Context, *jobs.Request) (*jobs.Response, error) {
	return jobs.Started("go"), nil
}
func (j *running) Check(context.Context, *jobs.Request) (*jobs.Response, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.done {
		return jobs.Completed("done", nil), nil
	}
	return jobs.Running(50, "half"), nil
}
func (j *running) Stop(context.Context, *jobs.Request) (*jobs.Response, error) {
	return &jobs.Response{Success: true}, nil
}

// The engine's CHECKs move an execution along; a tick on an ended execution
// says done without calling the job; an execution past its deadline ends
// TIMED_OUT with JOB_FAILED.
func TestTickLifecycle(t *testing.T) {
	t.Parallel()
	job := &running{}
	rt, store, ev, tm := newRuntime(t, job)
	ctx := context.Background()
	if _, err := rt.Handle(ctx, &jobs.Command{ID: "c1", JobType: "j", Stage: jobs.StageStart, Delivery: 1}); err != nil {
		t.Fatal(err)
	}
	if tm.armed["j.c1"] != 1 {
		t.Fatalf("timer armed %d times", tm.armed["j.c1"])
	}
	done, next, err := rt.Tick(ctx, "j", "c1", 1)
	if err != nil || done || next <= 0 {
		t.Fatalf("tick while running: %v %s %v", done, next, err)
	}
	if exec, _, _ := store.Get(ctx, "j", "c1"); exec.Status != jobs.StatusRunning || exec.ProgressPercentage != 50 {
		t.Fatalf("record %+v", exec)
	}
	job.mu.Lock()
	job.done = true
	job.mu.Unlock()
	if done, _, err := rt.Tick(ctx, "j", "c1", 2); err != nil || !done {
		t.Fatalf("tick at completion: %v %v", done, err)
	}
	if done, _, err := rt.Tick(ctx, "j", "c1", 3); err != nil || !done {
		t.Fatalf("tick after the end: %v %v", done, err)
	}
	want := []string{jobs.EventStarted, jobs.EventProgress, jobs.EventCompleted}
	if got := ev.types(); len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("events %v, want %v", got, want)
	}

	// A second execution, then the clock moves past its deadline.
	reg := jobs.NewRegistry()
	reg.MustRegister("j", &running{}, jobs.WithTimeout(time.Hour))
	ev2 := &events{}
	clock := &fakeClock{now: time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)}
	rt2 := jobs.NewRuntime(reg, store, ev2, tm, jobs.RuntimeConfig{Clock: clock})
	if _, err := rt2.Handle(ctx, &jobs.Command{ID: "c2", JobType: "j", Stage: jobs.StageStart, Delivery: 1}); err != nil {
		t.Fatal(err)
	}
	clock.advance(time.Hour)
	if done, _, err := rt2.Tick(ctx, "j", "c2", 1); err != nil || !done {
		t.Fatalf("tick past the deadline: %v %v", done, err)
	}
	exec, _, _ := store.Get(ctx, "j", "c2")
	if exec.Status != jobs.StatusTimedOut {
		t.Fatalf("status %s, want TIMED_OUT", exec.Status)
	}
	if got := ev2.types(); got[len(got)-1] != jobs.EventFailed {
		t.Fatalf("events %v, want JOB_FAILED last", got)
	}
}

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
