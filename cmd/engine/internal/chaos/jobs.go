package chaos

import (
	"context"
	"sync"
	"time"

	"github.com/jetjobs/jetjobs/jobs"
	"github.com/jetjobs/jetjobs/saga"
)

// The chaos run's job types and saga.
const (
	JobAsync   = "chaos-async"   // START, then CHECKs until a second has passed
	JobSync    = "chaos-sync"    // EXECUTE completes at once
	JobReserve = "chaos-reserve" // saga step 1 (async); compensated by JobRelease
	JobRelease = "chaos-release" // the compensation of JobReserve (sync)
	JobCharge  = "chaos-charge"  // saga step 2 (sync); fails when the saga's input says fail
	JobNotify  = "chaos-notify"  // saga step 3 (sync)
	Saga       = "chaos-order"
)

// asyncTakes is how long an async job runs, counted from its START.
const asyncTakes = time.Second

// run is one handler call that ended its execution (COMPLETED or FAILED):
// by which instance, in which of its lives.
type run struct{ instance, life int }

// ledger counts the handler calls that ended each execution, across the
// instances of this process.
type ledger struct {
	mu   sync.Mutex
	runs map[string][]run
}

func newLedger() *ledger { return &ledger{runs: map[string][]run{}} }

func (l *ledger) ended(id string, who run) {
	l.mu.Lock()
	l.runs[id] = append(l.runs[id], who)
	l.mu.Unlock()
}

func (l *ledger) of(id string) []run {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]run(nil), l.runs[id]...)
}

// handlers are the job types of one instance life: each handler call that
// ends an execution is written in the ledger under that life.
type handlers struct {
	l   *ledger
	who run
}

func (h handlers) registry() *jobs.Registry {
	reg := jobs.NewRegistry()
	reg.MustRegister(JobAsync, asyncJob{h: h, takes: asyncTakes}, jobs.WithCheckInterval(250*time.Millisecond, time.Second))
	reg.MustRegister(JobReserve, asyncJob{h: h, takes: asyncTakes / 2}, jobs.WithCheckInterval(250*time.Millisecond, time.Second))
	reg.MustRegister(JobSync, syncJob{h: h})
	reg.MustRegister(JobRelease, syncJob{h: h})
	reg.MustRegister(JobCharge, syncJob{h: h, failOn: "fail"})
	reg.MustRegister(JobNotify, syncJob{h: h})
	return reg
}

type asyncJob struct {
	jobs.AsyncDefaults
	h     handlers
	takes time.Duration
}

func (asyncJob) Start(context.Context, *jobs.Request) (*jobs.Response, error) {
	return jobs.Started("started"), nil
}

func (j asyncJob) Check(_ context.Context, req *jobs.Request) (*jobs.Response, error) {
	if time.Since(req.StartedAt) < j.takes {
		return jobs.Running(50, "half way"), nil
	}
	j.h.l.ended(req.ExecutionID, j.h.who)
	return jobs.Completed("done", map[string]any{"ok": true}), nil
}

func (asyncJob) Stop(context.Context, *jobs.Request) (*jobs.Response, error) {
	return &jobs.Response{Success: true}, nil
}

type syncJob struct {
	h      handlers
	failOn string // a boolean parameter that makes the job fail
}

func (j syncJob) Execute(_ context.Context, req *jobs.Request) (*jobs.Response, error) {
	j.h.l.ended(req.ExecutionID, j.h.who)
	if j.failOn != "" {
		if fail, _ := req.BoolOr(j.failOn, false); fail {
			return jobs.Failed("declined, as asked"), nil
		}
	}
	return jobs.Completed("done", nil), nil
}

// orderSaga reserves (async), charges (fails when the input says fail,
// which compensates the reservation) and notifies: it ends COMPLETED, or
// COMPENSATED when asked to fail.
func orderSaga() *saga.Definition {
	return &saga.Definition{
		Name:        Saga,
		Description: "chaos: reserve, charge, notify; a failed charge releases the reservation",
		Steps: []saga.Step{
			{Name: "reserve", Job: JobReserve, Mode: saga.ModeAsync, Timeout: 5 * time.Minute,
				Compensate: &saga.Compensation{Job: JobRelease, Mode: saga.ModeSync,
					Retry: saga.Retry{MaxAttempts: 10, Backoff: time.Second, MaxBackoff: 10 * time.Second}}},
			{Name: "charge", Job: JobCharge, Mode: saga.ModeSync, Parameters: map[string]any{"fail": "${input.fail}"}},
			{Name: "notify", Job: JobNotify, Mode: saga.ModeSync},
		},
	}
}
