package observe_test

import (
	"context"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/jetjobs/jetjobs/jobs"
	"github.com/jetjobs/jetjobs/jobs/observe"
)

// With tracing on and no exporter (the no-op tracer), the stage still sees
// the trace the command carried, and no span when it carried none.
func TestTracingWithNoopTracerKeepsTheTrace(t *testing.T) {
	t.Parallel()
	ob, err := observe.New(observe.Options{TracerProvider: tracenoop.NewTracerProvider()})
	if err != nil {
		t.Fatal(err)
	}
	reg := jobs.NewRegistry()
	reg.MustRegister("noop", noopJob{})
	def, _ := reg.Lookup("noop")
	var seen trace.Span
	h := jobs.Chain(func(ctx context.Context, _ *jobs.Invocation) (*jobs.Response, error) {
		seen = trace.SpanFromContext(ctx)
		return jobs.Completed("ok", nil), nil
	}, ob.Tracing)
	call := func(ctx context.Context) trace.Span {
		if _, err := h(ctx, &jobs.Invocation{Job: def, Stage: jobs.StageStart, Request: &jobs.Request{ExecutionID: "e-1"}}); err != nil {
			t.Fatal(err)
		}
		return seen
	}
	parent := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1}, SpanID: trace.SpanID{2}, TraceFlags: 1})
	if sc := call(trace.ContextWithRemoteSpanContext(context.Background(), parent)).SpanContext(); !sc.Equal(parent.WithRemote(true)) {
		t.Fatalf("stage saw span context %v, want the command's %v", sc, parent)
	}
	if span := call(context.Background()); span.SpanContext().IsValid() || span.IsRecording() {
		t.Fatalf("no trace given: stage saw %v", span.SpanContext())
	}
}

// Each stage call is counted under its job type, stage and outcome, a
// failed one also under its error type, and the in-flight gauge has the
// stage.
func TestMetricsAttributes(t *testing.T) {
	t.Parallel()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	ob, err := observe.New(observe.Options{MeterProvider: mp, MetricPrefix: "t"})
	if err != nil {
		t.Fatal(err)
	}
	reg := jobs.NewRegistry()
	reg.MustRegister("noop", noopJob{})
	def, _ := reg.Lookup("noop")
	fail := false
	h := jobs.Chain(func(context.Context, *jobs.Invocation) (*jobs.Response, error) {
		if fail {
			return nil, jobs.Errorf(jobs.CodeFailed, "no")
		}
		return jobs.Completed("ok", nil), nil
	}, ob.Metrics)
	for _, f := range []bool{false, false, true} {
		fail = f
		_, _ = h(context.Background(), &jobs.Invocation{Job: def, Stage: jobs.StageStart, Request: &jobs.Request{}})
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if sum, ok := m.Data.(metricdata.Sum[int64]); ok {
				for _, dp := range sum.DataPoints {
					key := m.Name
					for _, kv := range dp.Attributes.ToSlice() {
						key += " " + string(kv.Key) + "=" + kv.Value.Emit()
					}
					got[key] = dp.Value
				}
			}
		}
	}
	for k, v := range map[string]int64{
		"t.stage.calls job_type=noop outcome=success stage=START":    2,
		"t.stage.calls job_type=noop outcome=failure stage=START":    1,
		"t.stage.errors error_type=failed job_type=noop stage=START": 1,
		"t.stage.inflight job_type=noop stage=START":                 0,
	} {
		if n, ok := got[k]; !ok || n != v {
			t.Errorf("%s = %d (present %v), want %d; all: %v", k, n, ok, v, got)
		}
	}
}
