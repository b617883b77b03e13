package jetjobs_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/jetjobs/jetjobs"
	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/internal/testutil"
	"github.com/jetjobs/jetjobs/jetjobstest"
	"github.com/jetjobs/jetjobs/jobs"
)

// One trace runs from the caller's span through the command, the engine's
// processing, the stage and the events it publishes.
func TestTraceRunsFromCallerToEvents(t *testing.T) {
	t.Parallel()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	h := demoHarness(t, jetjobstest.WithEngineOptions(jetjobs.WithTracerProvider(tp)))
	ctx, caller := tp.Tracer("test").Start(context.Background(), "caller")
	resp, err := h.Client.Call(ctx, "customer-validation", jobs.StageExecute,
		&jobs.Request{Parameters: map[string]any{"customerId": "CUST-1"}}, bus.SendOptions{})
	caller.End()
	if err != nil || !resp.Success {
		t.Fatalf("execute: %v %+v", err, resp)
	}
	ev := h.WaitEvent(t, "customer-validation", resp.ExecutionID, jobs.EventCompleted)
	byName := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range rec.Ended() {
		byName[s.Name()] = s
	}
	process := byName["process jobs.cmd.customer-validation.execute"]
	stage := byName["EXECUTE customer-validation"]
	if process == nil || stage == nil {
		t.Fatalf("spans %v: want the command's process span and the stage span", keys(byName))
	}
	traceID := caller.SpanContext().TraceID()
	if process.SpanContext().TraceID() != traceID || stage.SpanContext().TraceID() != traceID {
		t.Fatal("the engine's spans are not in the caller's trace")
	}
	if process.Parent().SpanID() != caller.SpanContext().SpanID() {
		t.Fatal("process span is not a child of the caller's span")
	}
	if stage.Parent().SpanID() != process.SpanContext().SpanID() {
		t.Fatal("stage span is not a child of the process span")
	}
	if process.SpanKind() != trace.SpanKindConsumer {
		t.Fatalf("process span kind %v", process.SpanKind())
	}
	ce, err := bus.Decode(ev.Header, nil)
	if err != nil {
		t.Fatal(err)
	}
	tp2, _ := ce.Extensions()["traceparent"].(string)
	if !strings.Contains(tp2, traceID.String()) || !strings.Contains(tp2, process.SpanContext().SpanID().String()) {
		t.Fatalf("event traceparent %q does not continue trace %s from span %s", tp2, traceID, process.SpanContext().SpanID())
	}
}

func keys[V any](m map[string]V) []string {
	out := []string{}
	for k := range m {
		out = append(out, k)
	}
	return out
}

// /metrics in the Prometheus text format counts stages by outcome.
func TestMetricsAreScraped(t *testing.T) {
	t.Parallel()
	h := demoHarness(t)
	for _, id := range []string{"CUST-1", "CUST-2"} {
		h.Call(t, "customer-validation", jobs.StageExecute, &jobs.Request{Parameters: map[string]any{"customerId": id}})
	}
	h.Call(t, "customer-validation", jobs.StageExecute, &jobs.Request{Parameters: map[string]any{}})
	rr := httptest.NewRecorder()
	h.Engine.Metrics().ServeHTTP(rr, httptest.NewRequest("GET", "/metrics", nil))
	body := rr.Body.String()
	for _, want := range []string{
		`firefly_data_job_stage_calls_total{job_type="customer-validation",outcome="success",stage="EXECUTE"} 2`,
		`firefly_data_job_stage_calls_total{job_type="customer-validation",outcome="invalid",stage="EXECUTE"} 1`,
		`firefly_data_job_stage_errors_total{error_type="invalid_parameter",job_type="customer-validation",stage="EXECUTE"} 1`,
		`firefly_data_job_stage_duration_seconds_count{job_type="customer-validation",outcome="success",stage="EXECUTE"} 2`,
		`firefly_data_job_stage_inflight{job_type="customer-validation",stage="EXECUTE"} 0`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if t.Failed() {
		for _, l := range strings.Split(body, "\n") {
			if strings.HasPrefix(l, "firefly") {
				t.Log(l)
			}
		}
	}
}

// A secret given at START reaches no log line (at debug level, where
// parameters are printed), no execution record, no event, no audit entry
// and no stored result.
func TestSecretsNeverLeak(t *testing.T) {
	t.Parallel()
	logs := &testutil.SyncBuffer{}
	h := demoHarness(t, jetjobstest.WithEngineOptions(jetjobs.WithLogger(zerolog.New(logs).Level(zerolog.DebugLevel))))
	resp := h.Call(t, "customer-import", jobs.StageStart, &jobs.Request{Parameters: map[string]any{
		"datasetId": "d", "records": 10, "batchSize": 10, "batchDelay": "10ms",
		"password": "hunter2", "db_password": "pw-42", "source": map[string]any{"X-Api-Key": "k-123", "url": "s3://bucket"},
	}})
	h.WaitEvent(t, "customer-import", resp.ExecutionID, jobs.EventCompleted)
	exec := h.Execution(t, "customer-import", resp.ExecutionID)
	rec, _ := json.Marshal(exec)
	var events strings.Builder
	h.CountEvents(t, "jobs.evt.customer-import.>", func(e jetjobstest.Event) bool {
		b, _ := json.Marshal(e.Data)
		events.Write(b)
		return true
	})
	audit, err := h.Engine.Audit().Entries(context.Background(), "customer-import", resp.ExecutionID)
	if err != nil || len(audit) == 0 {
		t.Fatalf("audit %v %v", audit, err)
	}
	auditJSON, _ := json.Marshal(audit)
	result, err := h.Engine.Results().Get(context.Background(), "customer-import", resp.ExecutionID)
	if err != nil {
		t.Fatal(err)
	}
	resultJSON, _ := json.Marshal(result)
	for where, text := range map[string]string{"logs": logs.String(), "record": string(rec), "events": events.String(),
		"audit": string(auditJSON), "results": string(resultJSON)} {
		for _, secret := range []string{"hunter2", "pw-42", "k-123"} {
			if strings.Contains(text, secret) {
				t.Errorf("%s contain the secret %q", where, secret)
			}
		}
	}
	if !strings.Contains(logs.String(), `"stage":"START"`) || !strings.Contains(logs.String(), "s3://bucket") {
		t.Fatalf("debug logs lack the stage lines or the non-secret parameters:\n%s", logs.String())
	}
	if exec.Parameters["password"] != jobs.Mask {
		t.Fatalf("record parameters %v", exec.Parameters)
	}
}
