package observe_test

import (
	"context"
	"testing"

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
