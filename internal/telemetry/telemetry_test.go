package telemetry

import (
	"bytes"
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The stdout exporter writes the spans; with no exporter nothing is
// recorded but a parent's trace context still flows.
func TestTracingExporters(t *testing.T) {
	var buf bytes.Buffer
	tel, err := New(Config{TracingEnabled: true, Exporter: "stdout", Stdout: &buf})
	if err != nil {
		t.Fatal(err)
	}
	_, span := tel.TracerProvider.Tracer("t").Start(context.Background(), "hello-span")
	span.End()
	if err := tel.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "hello-span") {
		t.Fatalf("stdout exporter wrote %q", buf.String())
	}

	none, err := New(Config{TracingEnabled: true, Exporter: "none"})
	if err != nil {
		t.Fatal(err)
	}
	parent := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1}, SpanID: trace.SpanID{2}, TraceFlags: 1})
	ctx := trace.ContextWithSpanContext(context.Background(), parent)
	_, child := none.TracerProvider.Tracer("t").Start(ctx, "child")
	if child.IsRecording() || child.SpanContext().TraceID() != parent.TraceID() {
		t.Fatal("with no exporter a span must not record but must keep the trace")
	}
	if _, err := New(Config{TracingEnabled: true, Exporter: "zipkin"}); err == nil || !strings.Contains(err.Error(), "tracing-exporter") {
		t.Fatalf("unknown exporter: %v", err)
	}
}

// Metrics go out in the Prometheus text format on the engine's own
// registry; switched off, the endpoint says so.
func TestMetricsHandler(t *testing.T) {
	tel, err := New(Config{MetricsEnabled: true})
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Shutdown(context.Background())
	c, _ := tel.MeterProvider.Meter("t").Int64Counter("jetjobs.test.count")
	c.Add(context.Background(), 3)
	rr := httptest.NewRecorder()
	tel.Metrics.ServeHTTP(rr, httptest.NewRequest("GET", "/metrics", nil))
	if !strings.Contains(rr.Body.String(), "jetjobs_test_count_total 3") {
		t.Fatalf("metrics:\n%s", rr.Body.String())
	}
	off, _ := New(Config{})
	rr = httptest.NewRecorder()
	off.Metrics.ServeHTTP(rr, httptest.NewRequest("GET", "/metrics", nil))
	if !strings.Contains(rr.Body.String(), "metrics-enabled: false") {
		t.Fatalf("disabled metrics: %s", rr.Body.String())
	}
}
