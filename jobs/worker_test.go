package jobs_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jetjobs/jetjobs/jobs"
	"github.com/jetjobs/jetjobs/jobs/jobstest"
)

// memQueue is a WorkQueue in memory: it keeps the items and the cancels.
type memQueue struct {
	mu       sync.Mutex
	items    map[string]jobs.WorkItem
	enqueued int
	canceled []string
}

func (q *memQueue) Enqueue(_ context.Context, it jobs.WorkItem) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.items == nil {
		q.items = map[string]jobs.WorkItem{}
	}
	q.enqueued++
	q.items[it.JobType+"."+it.ExecutionID] = it
	return nil
}

func (q *memQueue) Cancel(_ context.Context, job, id string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.canceled = append(q.canceled, job+"."+id)
	return nil
}

var _ jobs.WorkQueue = (*memQueue)(nil)

// scriptWork answers each attempt from a script (the last entry repeats).
type scriptWork struct {
	script []func() (*jobs.Response, error)
}

func (w scriptWork) Work(_ context.Context, req *jobs.Request, _ jobs.Progress) (*jobs.Response, error) {
	return w.script[min(req.Attempt, len(w.script))-1]()
}

func workerRuntime(t *testing.T, job jobs.WorkerJob) (*jobs.Runtime, *jobstest.MemoryStore, *events, *memQueue) {
	t.Helper()
	reg := jobs.NewRegistry()
	reg.MustRegister("w", job)
	store, ev, q := &jobstest.MemoryStore{}, &events{}, &memQueue{}
	rt := jobs.NewRuntime(reg, store, ev, &timers{}, jobs.RuntimeConfig{})
	rt.SetWork(q, jobs.WorkConfig{MaxAttempts: 3, Backoff: func(n int) time.Duration { return time.Duration(n) * time.Second }})
	return rt, store, ev, q
}

func TestRegisterWorkerJob(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		job      any
		wantMode string
		wantErr  string
	}{
		{"worker", scriptWork{}, "worker", ""},
		{"worker and async", struct {
			scriptWork
			asyncJob
		}{}, "", "implements both AsyncJob and WorkerJob"},
	}
	for _, tt := range tests {
		reg := jobs.NewRegistry()
		err := reg.Register("j", tt.job)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: error %v, want %q", tt.name, err, tt.wantErr)
			}
			continue
		}
		def, _ := reg.Lookup("j")
		if err != nil || def.Mode() != tt.wantMode || !def.Supports(jobs.StageStop) || def.Supports(jobs.StageExecute) {
			t.Errorf("%s: %v, mode %q", tt.name, err, def.Mode())
		}
	}
}

// The retry decision of RunWork: a plain error is handed back with the
// backoff until the last attempt; a permanent error, a panic or a
// success=false answer fail at once; a success completes with the result.
func TestRunWorkOutcomes(t *testing.T) {
	t.Parallel()
	ok := func() (*jobs.Response, error) { return jobs.Completed("ok", map[string]any{"v": 1}), nil }
	plain := func() (*jobs.Response, error) { return nil, errors.New("flaky") }
	perm := func() (*jobs.Response, error) { return nil, jobs.Permanent(errors.New("bad")) }
	boom := func() (*jobs.Response, error) { panic("boom") }
	unsuccessful := func() (*jobs.Response, error) { return jobs.Failed("no data"), nil }
	tests := []struct {
		name       string
		script     []func() (*jobs.Response, error)
		wantRetry  []time.Duration // RetryAfter of each attempt before the last
		wantStatus jobs.Status
		wantErr    string
	}{
		{"ok at once", []func() (*jobs.Response, error){ok}, nil, jobs.StatusCompleted, ""},
		{"two failures then ok", []func() (*jobs.Response, error){plain, plain, ok}, []time.Duration{time.Second, 2 * time.Second}, jobs.StatusCompleted, ""},
		{"always failing", []func() (*jobs.Response, error){plain}, []time.Duration{time.Second, 2 * time.Second}, jobs.StatusFailed, "flaky"},
		{"permanent", []func() (*jobs.Response, error){perm}, nil, jobs.StatusFailed, "bad"},
		{"panic", []func() (*jobs.Response, error){boom}, nil, jobs.StatusFailed, "panic: boom"},
		{"success false", []func() (*jobs.Response, error){unsuccessful}, nil, jobs.StatusFailed, "no data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rt, store, ev, q := workerRuntime(t, scriptWork{script: tt.script})
			ctx := context.Background()
			resp, err := rt.Handle(ctx, &jobs.Command{ID: "c1", JobType: "w", Stage: jobs.StageStart, Delivery: 1})
			if err != nil || resp.Status != jobs.StatusStarted || q.enqueued != 1 {
				t.Fatalf("start: %+v %v, %d queued", resp, err, q.enqueued)
			}
			item := q.items["w.c1"]
			for i := 0; ; i++ {
				out, err := rt.RunWork(ctx, item)
				if err != nil {
					t.Fatal(err)
				}
				if out.Done {
					if i != len(tt.wantRetry) {
						t.Fatalf("done after %d attempts, want %d", i+1, len(tt.wantRetry)+1)
					}
					break
				}
				if i >= len(tt.wantRetry) || out.RetryAfter != tt.wantRetry[i] {
					t.Fatalf("attempt %d: retry after %s, want %v", i+1, out.RetryAfter, tt.wantRetry)
				}
			}
			exec, _, _ := store.Get(ctx, "w", "c1")
			if exec.Status != tt.wantStatus || !strings.Contains(exec.Error, tt.wantErr) || exec.Attempts != len(tt.wantRetry)+1 {
				t.Fatalf("record: %s %q attempts %d", exec.Status, exec.Error, exec.Attempts)
			}
			if got := ev.types(); got[len(got)-1] != jobs.TerminalEventType(tt.wantStatus) {
				t.Fatalf("events %v", got)
			}
			// Run again (an ack lost): nothing changes, Work does not run.
			if out, err := rt.RunWork(ctx, item); err != nil || !out.Done || out.Attempt != 0 {
				t.Fatalf("redelivered after the end: %+v %v", out, err)
			}
		})
	}
}

// A STOP before the work was picked up ends it STOPPED without a cancel
// broadcast; the runner then acks without running Work. CHECK never runs a
// stage: it answers the record.
func TestWorkerStopBeforePickUp(t *testing.T) {
	t.Parallel()
	rt, store, _, q := workerRuntime(t, scriptWork{script: []func() (*jobs.Response, error){func() (*jobs.Response, error) {
		t.Error("Work ran after STOP")
		return nil, nil
	}}})
	ctx := context.Background()
	if _, err := rt.Handle(ctx, &jobs.Command{ID: "c1", JobType: "w", Stage: jobs.StageStart, Delivery: 1}); err != nil {
		t.Fatal(err)
	}
	chk, err := rt.Handle(ctx, &jobs.Command{ID: "c2", JobType: "w", Stage: jobs.StageCheck, Request: jobs.Request{ExecutionID: "c1"}})
	if err != nil || !chk.Success || chk.Status != jobs.StatusStarted {
		t.Fatalf("check: %+v %v", chk, err)
	}
	stop, err := rt.Handle(ctx, &jobs.Command{ID: "c3", JobType: "w", Stage: jobs.StageStop, Request: jobs.Request{ExecutionID: "c1"}})
	if err != nil || stop.Status != jobs.StatusStopped || len(q.canceled) != 0 {
		t.Fatalf("stop: %+v %v, cancels %v", stop, err, q.canceled)
	}
	if out, err := rt.RunWork(ctx, q.items["w.c1"]); err != nil || !out.Done || out.Attempt != 0 {
		t.Fatalf("run after stop: %+v %v", out, err)
	}
	if exec, _, _ := store.Get(ctx, "w", "c1"); exec.Status != jobs.StatusStopped || exec.Checks != 0 {
		t.Fatalf("record: %+v", exec)
	}
}

// A Work run's writes ride the adapter's batch, as a command's do:
// RunWorkBatch returns only once they are stored, so a refused write is an
// error (the adapter does not acknowledge the item), and the redelivery
// stores the terminal event, once, without running Work again.
func TestRunWorkBatchWaitsForItsWrites(t *testing.T) {
	t.Parallel()
	runs := 0
	reg := jobs.NewRegistry()
	reg.MustRegister("w", scriptWork{script: []func() (*jobs.Response, error){func() (*jobs.Response, error) {
		runs++
		return jobs.Completed("ok", nil), nil
	}}})
	store, ev, q := &jobstest.MemoryStore{}, &pipelined{}, &memQueue{}
	rt := jobs.NewRuntime(reg, store, ev, &timers{}, jobs.RuntimeConfig{})
	rt.SetWork(q, jobs.WorkConfig{MaxAttempts: 3})
	ctx := context.Background()
	if _, err := rt.HandleBatch(ctx, jobs.NewBatch(ev), &jobs.Command{ID: "c1", JobType: "w", Stage: jobs.StageStart, Delivery: 1}); err != nil {
		t.Fatal(err)
	}
	item := q.items["w.c1"]
	ev.mu.Lock()
	ev.refuse = 1
	ev.mu.Unlock()
	if out, err := rt.RunWorkBatch(ctx, jobs.NewBatch(ev), item); err == nil {
		t.Fatalf("a refused write was not reported (%+v): the item would be acknowledged", out)
	}
	out, err := rt.RunWorkBatch(ctx, jobs.NewBatch(ev), item)
	if err != nil || !out.Done {
		t.Fatalf("redelivery: %+v %v", out, err)
	}
	ev.mu.Lock()
	types := ev.types
	ev.mu.Unlock()
	completed := 0
	for _, typ := range types {
		if typ == jobs.EventCompleted {
			completed++
		}
	}
	if exec, _, _ := store.Get(ctx, "w", "c1"); exec.Status != jobs.StatusCompleted || completed != 1 || runs != 1 {
		t.Fatalf("record %s, JOB_COMPLETED stored %d times, Work ran %d times; events %v", exec.Status, completed, runs, types)
	}
}
