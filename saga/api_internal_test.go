package saga

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jetjobs/jetjobs/jetjobstest"
	"github.com/jetjobs/jetjobs/jobs"
)

// The REST routes, the CLI and the listener helper, on one harness.
func TestSagaAPIs(t *testing.T) {
	t.Parallel()
	h, _ := harness(t)
	c := coordinator(t, h, nil, testDefs()...)
	t.Run("rest", func(t *testing.T) { t.Parallel(); testREST(t, h, c) })
	t.Run("cli", func(t *testing.T) { t.Parallel(); testCLI(t, h) })
	t.Run("listener", func(t *testing.T) { t.Parallel(); testListener(t, h, c) })
}

func serve(t *testing.T, hnd http.Handler, method, path, body string) (int, map[string]any) {
	t.Helper()
	rec := httptest.NewRecorder()
	hnd.ServeHTTP(rec, httptest.NewRequest(method, path, strings.NewReader(body)))
	var out map[string]any
	if strings.HasPrefix(strings.TrimSpace(rec.Body.String()), "{") {
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, rec.Body)
		}
	}
	return rec.Code, out
}

func testREST(t *testing.T, h *jetjobstest.Harness, c *Coordinator) {
	r := Routes(c)
	if code, body := serve(t, r, "POST", "/happy/start", `{"sagaId":"rest1","input":{"x":"r"}}`); code != 201 || body["sagaId"] != "rest1" {
		t.Fatalf("start: %d %v", code, body)
	}
	if code, _ := serve(t, r, "POST", "/happy/start", `{"sagaId":"rest1"}`); code != 200 {
		t.Fatalf("second start: %d", code)
	}
	waitStatus(t, h, "happy", "rest1", StatusCompleted)
	if code, body := serve(t, r, "GET", "/happy/rest1", ""); code != 200 || body["status"] != string(StatusCompleted) {
		t.Fatalf("get: %d %v", code, body)
	}
	for _, c := range []struct {
		method, path, body string
		want               int
	}{
		{"GET", "/happy/missing", "", 404},
		{"GET", "/nope/x", "", 404},
		{"GET", "/happy/bad.id", "", 400},
		{"POST", "/happy/start", "not json", 400},
		{"POST", "/happy/start", `{"unknown":"x"}`, 400},
		{"POST", "/happy/start", `{"sagaId":"rest2"} {"sagaId":"rest3"}`, 400},
		{"POST", "/happy/start", `{"sagaId":"no spaces"}`, 400},
		{"POST", "/nope/start", `{}`, 404},
		{"POST", "/happy/start", `{"input":{"x":"` + strings.Repeat("x", maxBody) + `"}}`, 413},
		{"POST", "/happy/rest1/resume", "", 409},
		{"POST", "/happy/rest1/resume", `{"reason":"x"}`, 400},
		{"POST", "/happy/rest1/cancel", "", 409},
		{"POST", "/happy/rest1/cancel", `{"reason":"x","why":"y"}`, 400},
		{"POST", "/happy/rest1/cancel?reason=a", `{"reason":"b"}`, 400},
	} {
		if code, body := serve(t, r, c.method, c.path, c.body); code != c.want || body["success"] != false {
			t.Errorf("%s %s: %d %v, want %d", c.method, c.path, code, body, c.want)
		}
	}
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"name":"happy"`) {
		t.Fatalf("list: %d %s", rec.Code, rec.Body)
	}
}

func testCLI(t *testing.T, h *jetjobstest.Harness) {
	cl := NewClient(h.JS, ClientOptions{Prefix: h.Subjects.Prefix})
	run := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := CLI(context.Background(), args, &out, io.Discard, cl)
		return out.String(), err
	}
	out, err := run("start", "--id", "cli1", "--wait", "--timeout", "20s", "happy", `{"x":"c"}`)
	if err != nil || !strings.Contains(out, `"status": "COMPLETED"`) {
		t.Fatalf("start --wait: %v\n%s", err, out)
	}
	if out, err = run("status", "happy", "cli1"); err != nil || !strings.Contains(out, `"sagaId": "cli1"`) {
		t.Fatalf("status: %v\n%s", err, out)
	}
	if out, err = run("list", "happy"); err != nil || !strings.Contains(out, `"cli1"`) {
		t.Fatalf("list: %v\n%s", err, out)
	}
	if _, err = run("resume", "happy", "cli1"); err == nil || !strings.Contains(err.Error(), "only a FAILED saga") {
		t.Fatalf("resume of a completed saga: %v", err)
	}
	if _, err = run("start", "nope"); err == nil || !strings.Contains(err.Error(), `unknown saga "nope"`) {
		t.Fatalf("start of an unknown saga: %v", err)
	}
	if _, err = run("start", "--wait", "fail", `{"fail":{"a":true}}`); err == nil || !strings.Contains(err.Error(), "ended COMPENSATED") {
		t.Fatalf("start --wait of a failing saga: %v", err)
	}
	if _, err = run("frobnicate"); err == nil {
		t.Fatal("unknown command accepted")
	}
}

func testListener(t *testing.T, h *jetjobstest.Harness, c *Coordinator) {
	sagaEvs := make(chan SagaEvent, 64)
	jobEvs := make(chan JobEvent, 64)
	var failedOnce atomic.Bool
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	l, err := Listen(ctx, h.JS, ListenerConfig{Prefix: h.Subjects.Prefix, Durable: "svc", Sagas: []string{"happy"}, Jobs: []string{"work"},
		AckWait: time.Second}, Handlers{
		Saga: func(_ context.Context, ev SagaEvent) error {
			if ev.SagaID == "lst1" && ev.EventType == EventStarted && failedOnce.CompareAndSwap(false, true) {
				return io.ErrUnexpectedEOF // redelivered later
			}
			sagaEvs <- ev
			return nil
		},
		Job: func(_ context.Context, ev JobEvent) error { jobEvs <- ev; return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Stop()
	start(t, c, "happy", "lst1", map[string]any{"x": "l"})
	seen := map[string]SagaEvent{}
	for seen[EventCompleted].SagaID == "" || seen[EventStarted].SagaID == "" {
		select {
		case ev := <-sagaEvs:
			if ev.SagaID == "lst1" {
				seen[ev.EventType] = ev
			}
		case <-ctx.Done():
			t.Fatalf("listener saw %v", seen)
		}
	}
	if st := seen[EventStarted]; st.Delivery != 2 || st.ID != EventID("happy", "lst1", 1) {
		t.Fatalf("SAGA_STARTED after a failed callback: %+v", st)
	}
	for {
		select {
		case ev := <-jobEvs:
			if ev.ExecutionID == "lst1-a" && ev.EventType == jobs.EventCompleted && ev.SagaID == "lst1" {
				return
			}
		case <-ctx.Done():
			t.Fatal("listener saw no JOB_COMPLETED of lst1-a")
		}
	}
}

func TestListenerConfig(t *testing.T) {
	t.Parallel()
	_, err := Listen(context.Background(), nil, ListenerConfig{Durable: "a b", Jobs: []string{"Bad"}, Sagas: []string{"s"}},
		Handlers{Job: func(context.Context, JobEvent) error { return nil }})
	for _, want := range []string{"listener.durable", "listener.jobs: invalid job name", "Handlers.Saga is nil"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}
