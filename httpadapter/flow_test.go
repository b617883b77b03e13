package httpadapter_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/jetjobs/jetjobs/httpadapter"
	"github.com/jetjobs/jetjobs/jobs"
)

// The seed's async flow: start, poll CHECK until COMPLETED, then RESULT,
// COLLECT, and a STOP that is now a conflict.
func TestAsyncFlow(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpadapter.Options{})
	r := e.do(t, http.MethodPost, importBase+"/start", `{"parameters":{"datasetId":"dataset-123","batchSize":1000}}`)
	started := expect(t, r, http.StatusOK)
	if started.Status != jobs.StatusStarted || started.ExecutionID == "" {
		t.Fatalf("start: %s", r.Body)
	}
	id := started.ExecutionID
	done := e.waitStatus(t, id, jobs.StatusCompleted)
	if !done.Success || done.ProgressPercentage != 100 {
		t.Fatalf("completed CHECK: %+v", done)
	}
	res := expect(t, e.do(t, http.MethodGet, importBase+"/"+id+"/result", ""), http.StatusOK)
	if res.Data["totalRecords"] != float64(1000) || res.Data["successCount"] != float64(1000) ||
		res.Data["errorCount"] != float64(0) || res.Data["datasetId"] != "dataset-123" {
		t.Fatalf("result data: %v", res.Data)
	}
	col := expect(t, e.do(t, http.MethodGet, importBase+"/"+id+"/collect", ""), http.StatusOK)
	if col.Data["recordsImported"] != float64(1000) {
		t.Fatalf("collect data: %v", col.Data)
	}
	// A client-chosen id makes START idempotent.
	body := `{"executionId":"seed-1","parameters":{"datasetId":"d","records":2,"batchDelay":"20ms"}}`
	first := expect(t, e.do(t, http.MethodPost, importBase+"/start", body), http.StatusOK)
	again := expect(t, e.do(t, http.MethodPost, importBase+"/start", body), http.StatusOK)
	if first.ExecutionID != "seed-1" || again.ExecutionID != "seed-1" || again.Message != "execution already exists" {
		t.Fatalf("idempotent start: %+v then %+v", first, again)
	}
}

// The seed's sync call, with the Content-Types accepted: JSON with or
// without a UTF-8 charset (a missing one or a form type is 415:
// TestStateChangesNeedJSON).
func TestSyncExecute(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpadapter.Options{})
	body := `{"parameters":{"customerId":"CUST-123"}}`
	for _, ct := range []string{"application/json", "application/json; charset=utf-8", "application/json;charset=UTF-8"} {
		t.Run("content-type="+ct, func(t *testing.T) {
			resp := expect(t, e.do(t, http.MethodPost, execute, body, "Content-Type", ct), http.StatusOK)
			if resp.Status != jobs.StatusCompleted || resp.Stage != jobs.StageExecute ||
				resp.Data["valid"] != true || resp.Data["customerId"] != "CUST-123" {
				t.Fatalf("execute: %+v", resp)
			}
		})
	}
	resp := expect(t, e.do(t, http.MethodPost, execute, `{"parameters":{"customerId":"nope"}}`), http.StatusOK)
	if resp.Data["valid"] != false {
		t.Fatalf("invalid customer: %+v", resp)
	}
}

// An incoming traceparent continues into the command, and the request id
// travels into the execution record and back in X-Request-Id: without a
// tracer provider, and with the no-op one (tracing off in the engine).
func TestTraceAndRequestID(t *testing.T) {
	t.Parallel()
	for name, tp := range map[string]trace.TracerProvider{"none": nil, "noop": tracenoop.NewTracerProvider()} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testTraceAndRequestID(t, httpadapter.Options{TracerProvider: tp})
		})
	}
}

func testTraceAndRequestID(t *testing.T, o httpadapter.Options) {
	e := newEnv(t, o)
	msgs := make(chan *nats.Msg, 4)
	sub, err := e.h.Conn.ChanSubscribe("jobs.cmd."+validateJob+".execute", msgs)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := e.h.Conn.Flush(); err != nil {
		t.Fatal(err)
	}
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	r := e.do(t, http.MethodPost, execute, `{"executionId":"traced-1","parameters":{"customerId":"CUST-1"}}`,
		"traceparent", "00-"+traceID+"-00f067aa0ba902b7-01", "X-Request-Id", "req-42")
	expect(t, r, http.StatusOK)
	if got := r.Header.Get("X-Request-Id"); got != "req-42" {
		t.Fatalf("X-Request-Id %q, want req-42", got)
	}
	select {
	case m := <-msgs:
		tp := ""
		for k, v := range m.Header {
			if strings.EqualFold(k, "ce-traceparent") {
				tp = v[0]
			}
		}
		if !strings.Contains(tp, traceID) {
			t.Fatalf("command ce-traceparent %q does not continue trace %s; headers %v", tp, traceID, m.Header)
		}
	case <-time.After(waitFor):
		t.Fatal("no command seen")
	}
	if got := e.h.Execution(t, validateJob, "traced-1").RequestID; got != "req-42" {
		t.Fatalf("execution requestId %q, want req-42", got)
	}
	// Without one, or with a silly one, the adapter makes one up.
	for _, sent := range []string{"", strings.Repeat("x", 300), "a b"} {
		r := e.do(t, http.MethodGet, "/health", "", "X-Request-Id", sent)
		if got := r.Header.Get("X-Request-Id"); got == "" || got == sent {
			t.Fatalf("sent X-Request-Id %q, got %q", sent, got)
		}
	}
}

func TestHealth(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpadapter.Options{ShowDetails: true})
	r := e.do(t, http.MethodGet, "/health", "")
	var h httpadapter.Health
	decode(t, r, http.StatusOK, &h)
	if h.Status != "UP" || len(h.Components) != 4 {
		t.Fatalf("health: %s", r.Body)
	}
	for _, name := range []string{"nats", "jetstream", "kv", "storage"} {
		if c := h.Components[name]; c.Status != "UP" || len(c.Details) == 0 {
			t.Fatalf("component %s: %+v", name, c)
		}
	}
	if h.Components["kv"].Details["bucket"] != "JOBS_STATE" {
		t.Fatalf("kv details: %v", h.Components["kv"].Details)
	}
	r = e.do(t, http.MethodGet, "/health/jobOrchestrator", "")
	decode(t, r, http.StatusOK, &h)
	modes, _ := h.Details["modes"].(map[string]any)
	if h.Status != "UP" || modes[importJob] != "async" || modes[validateJob] != "sync" {
		t.Fatalf("jobOrchestrator: %s", r.Body)
	}

	// Without details only the statuses show.
	quiet := serve(t, httpadapter.NewRouter(depsOf(e.h), httpadapter.Options{}))
	r = do(t, quiet, http.MethodGet, "/health", "")
	decode(t, r, http.StatusOK, &h)
	if c := h.Components["nats"]; c.Status != "UP" || c.Details != nil {
		t.Fatalf("health without details: %s", r.Body)
	}

	// Metrics: the default answers Prometheus text; a given handler is used.
	r = e.do(t, http.MethodGet, "/metrics", "")
	if r.Status != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("metrics: %d %q", r.Status, r.Header.Get("Content-Type"))
	}
	custom := serve(t, httpadapter.NewRouter(depsOf(e.h), httpadapter.Options{
		Metrics: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("jobs_total 3\n")) }),
	}))
	if r := do(t, custom, http.MethodGet, "/metrics", ""); string(r.Body) != "jobs_total 3\n" {
		t.Fatalf("custom metrics: %q", r.Body)
	}
}

// A job author adds the routes to their own router.
func TestMountOnOwnRouter(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpadapter.Options{})
	mine := newChiRouter()
	mine.Get("/mine", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("mine")) })
	httpadapter.Mount(mine, depsOf(e.h), httpadapter.Options{BasePath: "/jobs/"})
	url := serve(t, mine)
	if r := do(t, url, http.MethodGet, "/mine", ""); string(r.Body) != "mine" {
		t.Fatalf("own route: %d %s", r.Status, r.Body)
	}
	r := do(t, url, http.MethodPost, "/jobs/customer-validation/execute", `{"parameters":{"customerId":"CUST-9"}}`)
	if resp := expect(t, r, http.StatusOK); resp.Data["valid"] != true {
		t.Fatalf("mounted execute: %s", r.Body)
	}
	if r.Header.Get("X-Request-Id") == "" {
		t.Fatal("mounted routes lack the adapter's middleware")
	}
	// The author's router mounts the adapter's router whole.
	outer := newChiRouter()
	outer.Mount("/", httpadapter.NewRouter(depsOf(e.h), httpadapter.Options{}))
	url = serve(t, outer)
	expect(t, do(t, url, http.MethodPost, execute, `{"parameters":{"customerId":"CUST-9"}}`), http.StatusOK)
	expect(t, do(t, url, http.MethodGet, "/api/v1/nope/start", ""), http.StatusNotFound)
}
