package jetjobs_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jetjobs/jetjobs/jetjobstest"
	"github.com/jetjobs/jetjobs/jobs"
)

// The lifecycle traps of issue 15: each test fails without its fix.

// checkDataJob completes at its first CHECK with data; with ownResult it
// overrides Result, whose data must win.
type checkDataJob struct {
	jobs.AsyncDefaults
	ownResult bool
	runningAt int32 // CHECKs answering Running(0) before the completing one
	checks    atomic.Int32
}

func (j *checkDataJob) Start(context.Context, *jobs.Request) (*jobs.Response, error) {
	return jobs.Started("started"), nil
}

func (j *checkDataJob) Check(context.Context, *jobs.Request) (*jobs.Response, error) {
	if j.checks.Add(1) <= j.runningAt {
		return jobs.Running(0, "warming up"), nil
	}
	return jobs.Completed("done", map[string]any{"rows": 3, "from": "check"}), nil
}

func (j *checkDataJob) Stop(context.Context, *jobs.Request) (*jobs.Response, error) {
	return &jobs.Response{Success: true}, nil
}

// ownResultJob overrides Result.
type ownResultJob struct{ checkDataJob }

func (j *ownResultJob) Result(context.Context, *jobs.Request) (*jobs.Response, error) {
	return jobs.OK("mine", map[string]any{"from": "result"}), nil
}

// A CHECK's completed data is the result (event and RESULT) unless the job
// overrides Result.
func TestCheckDataIsTheResult(t *testing.T) {
	t.Parallel()
	h := jetjobstest.New(t, func(r *jobs.Registry) {
		r.MustRegister("check-data", &checkDataJob{})
		r.MustRegister("own-result", &ownResultJob{})
	})
	tests := []struct {
		job, wantFrom string
	}{
		{"check-data", "check"},
		{"own-result", "result"},
	}
	for _, tt := range tests {
		t.Run(tt.job, func(t *testing.T) {
			t.Parallel()
			start := h.Call(t, tt.job, jobs.StageStart, &jobs.Request{})
			ev := h.WaitFor(t, tt.job, start.ExecutionID, jobs.StatusCompleted)
			if got := ev.Data.Data["from"]; got != tt.wantFrom {
				t.Fatalf("JOB_COMPLETED data = %v, want from=%s", ev.Data.Data, tt.wantFrom)
			}
			res := h.Call(t, tt.job, jobs.StageResult, &jobs.Request{ExecutionID: start.ExecutionID})
			if !res.Success || res.Data["from"] != tt.wantFrom {
				t.Fatalf("RESULT = %+v, want from=%s", res, tt.wantFrom)
			}
		})
	}
}

// bgProgressJob launches work in Start that reports progress at once, from
// a goroutine, before Start returns: before the record exists.
type bgProgressJob struct {
	jobs.AsyncDefaults
	checks atomic.Int32
}

func (j *bgProgressJob) Start(_ context.Context, req *jobs.Request) (*jobs.Response, error) {
	reported := make(chan error, 1)
	go func() { reported <- req.ReportProgress(context.Background(), 40, "copying") }()
	if err := <-reported; err != nil {
		return nil, err
	}
	return jobs.Started("started"), nil
}

func (j *bgProgressJob) Check(context.Context, *jobs.Request) (*jobs.Response, error) {
	j.checks.Add(1)
	return jobs.Running(40, "copying"), nil
}

func (j *bgProgressJob) Stop(context.Context, *jobs.Request) (*jobs.Response, error) {
	return &jobs.Response{Success: true}, nil
}

// Progress reported by work launched in Start, before the record exists,
// lands in the record and publishes JOB_PROGRESS (no CHECK runs).
func TestProgressBeforeRecordIsKept(t *testing.T) {
	t.Parallel()
	job := &bgProgressJob{}
	h := jetjobstest.New(t, func(r *jobs.Registry) {
		r.MustRegister("bg-progress", job, jobs.WithCheckInterval(time.Hour, time.Hour))
	})
	for _, id := range []string{"", "bg-client-id"} { // engine id, claimed client id
		start := h.Call(t, "bg-progress", jobs.StageStart, &jobs.Request{ExecutionID: id})
		if !start.Success {
			t.Fatalf("start: %+v", start)
		}
		ev := h.WaitForProgress(t, "bg-progress", start.ExecutionID, 40)
		if ev.Data.Status != jobs.StatusRunning || ev.Data.Message != "copying" {
			t.Fatalf("JOB_PROGRESS = %+v", ev.Data)
		}
		exec := h.Execution(t, "bg-progress", start.ExecutionID)
		if exec.ProgressPercentage != 40 || exec.Status != jobs.StatusRunning {
			t.Fatalf("record = %d%% %s, want 40%% RUNNING", exec.ProgressPercentage, exec.Status)
		}
	}
	if n := job.checks.Load(); n != 0 {
		t.Fatalf("%d CHECKs ran; the progress must not depend on one", n)
	}
}

// The first move to RUNNING publishes JOB_PROGRESS even at 0%.
func TestRunningAtZeroIsAnnounced(t *testing.T) {
	t.Parallel()
	h := jetjobstest.New(t, func(r *jobs.Registry) {
		r.MustRegister("zero-running", &checkDataJob{runningAt: 2})
	})
	start := h.Call(t, "zero-running", jobs.StageStart, &jobs.Request{})
	ev := h.WaitFor(t, "zero-running", start.ExecutionID, jobs.StatusRunning)
	if ev.Type != jobs.EventProgress || ev.Data.ProgressPercentage == nil || *ev.Data.ProgressPercentage != 0 {
		t.Fatalf("event = %s %+v, want JOB_PROGRESS at 0%%", ev.Type, ev.Data)
	}
	h.WaitFor(t, "zero-running", start.ExecutionID, jobs.StatusCompleted)
}
