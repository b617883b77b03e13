package jetjobs_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/jetjobs/jetjobs"
	"github.com/jetjobs/jetjobs/jetjobstest"
	"github.com/jetjobs/jetjobs/jobs"
)

// flakyCheckJob's CHECK fails with its error the first `failures` times,
// then answers COMPLETED.
type flakyCheckJob struct {
	jobs.AsyncDefaults
	failures int32
	err      error
	checks   atomic.Int32
}

func (j *flakyCheckJob) Start(context.Context, *jobs.Request) (*jobs.Response, error) {
	return jobs.Started("started"), nil
}

func (j *flakyCheckJob) Check(context.Context, *jobs.Request) (*jobs.Response, error) {
	if j.checks.Add(1) <= j.failures {
		return nil, j.err
	}
	return jobs.Completed("done", nil), nil
}

func (j *flakyCheckJob) Stop(context.Context, *jobs.Request) (*jobs.Response, error) {
	return &jobs.Response{Success: true}, nil
}

// A CHECK that fails on a transient error (the orchestrator unreachable)
// leaves the execution RUNNING and the next tick asks again; a permanent one
// fails it at once.
func TestTransientCheckErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		err        error
		wantEvent  string
		wantChecks int32
		wantMetric int64
	}{
		{"transient three times then completed", errors.New("airflow: read dag run: connection refused"), jobs.EventCompleted, 4, 3},
		{"stage timeout is transient", jobs.Errorf(jobs.CodeTimeout, "stage timed out"), jobs.EventCompleted, 4, 3},
		{"permanent fails at once", jobs.Permanent(errors.New("HTTP 401")), jobs.EventFailed, 1, 0},
		{"not found fails at once", jobs.Errorf(jobs.CodeNotFound, "run gone"), jobs.EventFailed, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			job := &flakyCheckJob{failures: 3, err: tc.err}
			reader := sdkmetric.NewManualReader()
			mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
			t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
			h := jetjobstest.New(t, func(r *jobs.Registry) { r.MustRegister("flaky", job) },
				jetjobstest.WithEngineOptions(jetjobs.WithMeterProvider(mp)),
				jetjobstest.WithConfig(func(c *jetjobs.Config) {
					// One attempt per CHECK: each tick is one call of the job.
					c.Orchestration.Resiliency.RetryEnabled = false
					c.Orchestration.Resiliency.CircuitBreakerEnabled = false
				}))
			start := h.Call(t, "flaky", jobs.StageStart, &jobs.Request{})
			ev := h.WaitEvent(t, "flaky", start.ExecutionID, tc.wantEvent)
			if got := job.checks.Load(); got != tc.wantChecks {
				t.Fatalf("%d CHECKs, want %d", got, tc.wantChecks)
			}
			exec := h.Execution(t, "flaky", start.ExecutionID)
			switch tc.wantEvent {
			case jobs.EventCompleted:
				if exec.Status != jobs.StatusCompleted || ev.Data.Status != jobs.StatusCompleted {
					t.Fatalf("record %+v, event %+v", exec, ev.Data)
				}
			default:
				if exec.Status != jobs.StatusFailed || exec.Error != tc.err.Error() {
					t.Fatalf("record %+v", exec)
				}
			}
			if got := counter(t, reader, "firefly.data.job.check.transient_errors"); got != tc.wantMetric {
				t.Fatalf("check.transient_errors = %d, want %d", got, tc.wantMetric)
			}
		})
	}
}

// A client's CHECK that fails transiently answers the error but leaves the
// execution running.
func TestClientCheckTransientErrorKeepsRunning(t *testing.T) {
	t.Parallel()
	job := &flakyCheckJob{failures: 1 << 30, err: errors.New("connection refused")}
	h := jetjobstest.New(t, func(r *jobs.Registry) { r.MustRegister("flaky", job) })
	start := h.Call(t, "flaky", jobs.StageStart, &jobs.Request{})
	resp := h.Call(t, "flaky", jobs.StageCheck, &jobs.Request{ExecutionID: start.ExecutionID})
	if resp.Success || resp.ErrorText() != "connection refused" || resp.Status.Terminal() {
		t.Fatalf("check: %+v", resp)
	}
	if exec := h.Execution(t, "flaky", start.ExecutionID); exec.Status.Terminal() {
		t.Fatalf("record %+v", exec)
	}
}

// counter sums a counter's data points (0 when it was never recorded).
func counter(t *testing.T, r *sdkmetric.ManualReader, name string) int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			if sum, ok := m.Data.(metricdata.Sum[int64]); ok {
				for _, dp := range sum.DataPoints {
					n += dp.Value
				}
			}
		}
	}
	return n
}
