package jetjobs_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/jetjobs/jetjobs"
	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/httpadapter"
	"github.com/jetjobs/jetjobs/jetjobstest"
	"github.com/jetjobs/jetjobs/jobs"
)

// serve runs the engine's REST router on a test server.
func serve(t *testing.T, h *jetjobstest.Harness) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h.Engine.Router())
	t.Cleanup(srv.Close)
	return srv
}

func post(t *testing.T, srv *httptest.Server, path, body string) (int, jobs.Response) {
	t.Helper()
	url := srv.URL + path
	resp, err := srv.Client().Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out jobs.Response
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s: %d %s", url, resp.StatusCode, b)
	}
	return resp.StatusCode, out
}

// One trace from the HTTP call through the command, the stage and the
// event: REST span → process span → stage span, and the event's
// traceparent continues it.
func TestTraceFromRESTToEvent(t *testing.T) {
	t.Parallel()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	h := demoHarness(t, jetjobstest.WithEngineOptions(jetjobs.WithTracerProvider(tp)))
	srv := serve(t, h)
	code, resp := post(t, srv, "/api/v1/customer-validation/execute", `{"parameters":{"customerId":"CUST-1"}}`)
	if code != 200 || !resp.Success {
		t.Fatalf("%d %+v", code, resp)
	}
	ev := h.WaitEvent(t, "customer-validation", resp.ExecutionID, jobs.EventCompleted)
	spans := map[string]sdktrace.ReadOnlySpan{}
	waitFor(t, func() bool {
		for _, s := range rec.Ended() {
			spans[s.Name()] = s
		}
		return spans["POST /api/v1/customer-validation/execute"] != nil
	})
	rest, process, stage := spans["POST /api/v1/customer-validation/execute"],
		spans["process jobs.cmd.customer-validation.execute"], spans["EXECUTE customer-validation"]
	if process == nil || stage == nil {
		t.Fatalf("spans %v", keys(spans))
	}
	if process.Parent().SpanID() != rest.SpanContext().SpanID() || stage.Parent().SpanID() != process.SpanContext().SpanID() {
		t.Fatal("want REST span → process span → stage span")
	}
	ce, err := bus.Decode(ev.Header, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tp, _ := ce.Extensions()["traceparent"].(string); !strings.Contains(tp, rest.SpanContext().TraceID().String()) {
		t.Fatalf("event traceparent %q is not in the REST call's trace", tp)
	}
}

// flaky fails every call.
type flaky struct{}

func (flaky) Execute(context.Context, *jobs.Request) (*jobs.Response, error) {
	return nil, errors.New("downstream is down")
}

// After the minimum number of failed calls the breaker opens and the next
// call fails fast: REST 503 with a clear error, and the job is not called.
func TestOpenBreakerAnswers503(t *testing.T) {
	t.Parallel()
	h := jetjobstest.New(t, func(r *jobs.Registry) { r.MustRegister("flaky", flaky{}) },
		jetjobstest.WithConfig(func(c *jetjobs.Config) {
			r := &c.Orchestration.Resiliency
			r.RetryEnabled = false
			r.MinimumNumberOfCalls, r.SlidingWindowSize = 2, 4
		}))
	srv := serve(t, h)
	for range 2 {
		// The job failed; the request was served: 200, success=false.
		if code, resp := post(t, srv, "/api/v1/flaky/execute", `{}`); code != 200 || resp.Success || resp.Status != jobs.StatusFailed {
			t.Fatalf("failing call answered %d %+v, want 200 with success=false", code, resp)
		}
	}
	code, resp := post(t, srv, "/api/v1/flaky/execute", `{}`)
	if code != 503 || !strings.Contains(resp.ErrorText(), `circuit breaker of job "flaky" is open`) {
		t.Fatalf("%d %q", code, resp.ErrorText())
	}
	if h.Engine.BreakerState("flaky") != "open" {
		t.Fatal("breaker not open")
	}
}

// publish-job-events off: stages run, no event is published; the topic
// names the events' CloudEvents source.
func TestEventsSwitchAndTopic(t *testing.T) {
	t.Parallel()
	off := demoHarness(t, jetjobstest.WithConfig(func(c *jetjobs.Config) { c.Orchestration.PublishJobEvents = false }))
	off.Call(t, "customer-validation", jobs.StageExecute, &jobs.Request{Parameters: map[string]any{"customerId": "CUST-1"}})
	if n := off.CountEvents(t, "", nil); n != 0 {
		t.Fatalf("%d events with publish-job-events off", n)
	}
	on := demoHarness(t, jetjobstest.WithConfig(func(c *jetjobs.Config) { c.Orchestration.JobEventsTopic = "crm-events" }))
	resp := on.Call(t, "customer-validation", jobs.StageExecute, &jobs.Request{Parameters: map[string]any{"customerId": "CUST-1"}})
	ev := on.WaitEvent(t, "customer-validation", resp.ExecutionID, jobs.EventCompleted)
	var ce event.Event
	ce, err := bus.Decode(ev.Header, nil)
	if err != nil || ce.Source() != "/crm-events/customer-validation" {
		t.Fatalf("source %q %v", ce.Source(), err)
	}
}

// The audit trail over REST, and a retention change applied on restart.
func TestAuditOverRESTAndRetentionChange(t *testing.T) {
	t.Parallel()
	h := demoHarness(t)
	srv := serve(t, h)
	_, resp := post(t, srv, "/api/v1/customer-validation/execute", `{"executionId":"aud-1","parameters":{"customerId":"CUST-1"}}`)
	if !resp.Success {
		t.Fatalf("%+v", resp)
	}
	r, err := srv.Client().Get(srv.URL + "/api/v1/customer-validation/aud-1/audit")
	if err != nil {
		t.Fatal(err)
	}
	var trail httpadapter.AuditTrail
	err = json.NewDecoder(r.Body).Decode(&trail)
	r.Body.Close()
	if err != nil || r.StatusCode != 200 || len(trail.Entries) != 1 || trail.Entries[0].Stage != jobs.StageExecute {
		t.Fatalf("%d %+v %v", r.StatusCode, trail, err)
	}
	r, err = srv.Client().Get(srv.URL + "/api/v1/customer-validation/nope/audit")
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != 404 {
		t.Fatalf("unknown execution's audit: %d", r.StatusCode)
	}
	h.Config.Orchestration.Persistence.AuditRetentionDays = 3
	h.Restart(t)
	s, err := h.JS.Stream(context.Background(), bus.StreamAudit)
	if err != nil || s.CachedInfo().Config.MaxAge != 3*24*time.Hour {
		t.Fatalf("retention after restart: %v", err)
	}
}
