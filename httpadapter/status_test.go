package httpadapter_test

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/httpadapter"
	"github.com/jetjobs/jetjobs/jobs"
)

// Each status code of docs/rest.md ("Status codes"), provoked for real through the
// engine (or before it, for the ones the adapter answers itself).
func TestStatusCodes(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	e := newEnv(t, httpadapter.Options{MaxBodyBytes: 4096, RequestTimeout: 2 * time.Second}, func(r *jobs.Registry) {
		r.MustRegister("slow", blocker{release: release})
		r.MustRegister("bulkhead", full{})
		r.MustRegister("broken", broken{})
	})
	releaseSlow := sync.OnceFunc(func() { close(release) })
	t.Cleanup(releaseSlow) // runs before the engine stops

	t.Run("400 malformed JSON", func(t *testing.T) {
		resp := expect(t, e.do(t, http.MethodPost, importBase+"/start", `{"parameters":{"datasetId":`), http.StatusBadRequest)
		if !strings.Contains(resp.ErrorText(), "malformed JSON") {
			t.Fatalf("error %q does not name the problem", resp.ErrorText())
		}
		resp = expect(t, e.do(t, http.MethodPost, execute, `{"parameters":{},"colour":"red"}`), http.StatusBadRequest)
		if !strings.Contains(resp.ErrorText(), `unknown field "colour"`) {
			t.Fatalf("error %q does not name the field", resp.ErrorText())
		}
		resp = expect(t, e.do(t, http.MethodPost, execute, `{"parameters":[1,2]}`), http.StatusBadRequest)
		if !strings.Contains(resp.ErrorText(), `"parameters" must be an object`) {
			t.Fatalf("error %q does not name the field", resp.ErrorText())
		}
		resp = expect(t, e.do(t, http.MethodPost, execute, `{"parameters":{},"metadata":{"tenant":1}}`), http.StatusBadRequest)
		if !strings.Contains(resp.ErrorText(), `every value of field "metadata" must be a string, got JSON number`) {
			t.Fatalf("error %q does not say what is wrong with metadata", resp.ErrorText())
		}
		resp = expect(t, e.do(t, http.MethodPost, execute, `{"parameters":{},"metadata":[]}`), http.StatusBadRequest)
		if !strings.Contains(resp.ErrorText(), `field "metadata" must be an object of strings, got JSON array`) {
			t.Fatalf("error %q does not say what is wrong with metadata", resp.ErrorText())
		}
	})
	t.Run("400 bad id", func(t *testing.T) {
		resp := expect(t, e.do(t, http.MethodGet, importBase+"/a.b/check", ""), http.StatusBadRequest)
		if !strings.Contains(resp.ErrorText(), "invalid executionId") {
			t.Fatalf("error %q", resp.ErrorText())
		}
		expect(t, e.do(t, http.MethodPost, importBase+"/start", `{"executionId":"no way","parameters":{}}`), http.StatusBadRequest)
		resp = expect(t, e.do(t, http.MethodPost, importBase+"/exec-1/stop", `{"executionId":"exec-2"}`), http.StatusBadRequest)
		if !strings.Contains(resp.ErrorText(), "disagrees") {
			t.Fatalf("error %q", resp.ErrorText())
		}
		resp = expect(t, e.do(t, http.MethodPost, importBase+"/exec-1/stop?reason=a", `{"reason":"b"}`), http.StatusBadRequest)
		if !strings.Contains(resp.ErrorText(), "reason in the body and in ?reason= differ") {
			t.Fatalf("error %q", resp.ErrorText())
		}
		expect(t, e.do(t, http.MethodGet, importBase+"/exec-1/check", `{}`), http.StatusBadRequest)
	})
	t.Run("404 stage the job does not have", func(t *testing.T) {
		expect(t, e.do(t, http.MethodPost, "/api/v1/customer-validation/x/stop", ""), http.StatusNotFound)
		expect(t, e.do(t, http.MethodPost, importBase+"/execute", `{}`), http.StatusNotFound)
	})
	t.Run("404 unknown job and execution", func(t *testing.T) {
		expect(t, e.do(t, http.MethodPost, "/api/v1/no-such-job/start", `{}`), http.StatusNotFound)
		expect(t, e.do(t, http.MethodGet, "/nowhere", ""), http.StatusNotFound)
		resp := expect(t, e.do(t, http.MethodGet, importBase+"/never-started/check", ""), http.StatusNotFound)
		if !strings.Contains(resp.ErrorText(), "not found") || resp.ExecutionID != "never-started" {
			t.Fatalf("unknown execution: %+v", resp)
		}
		expect(t, e.do(t, http.MethodGet, importBase+"/never-started/events", ""), http.StatusNotFound)
	})
	t.Run("405 wrong method", func(t *testing.T) {
		r := e.do(t, http.MethodGet, importBase+"/start", "")
		expect(t, r, http.StatusMethodNotAllowed)
		if r.Header.Get("Allow") != "POST" {
			t.Fatalf("Allow %q, want POST", r.Header.Get("Allow"))
		}
		expect(t, e.do(t, http.MethodDelete, importBase+"/x/check", ""), http.StatusMethodNotAllowed)
	})
	t.Run("409 stop a finished job, result before completion", func(t *testing.T) {
		id := e.start(t, `{"datasetId":"d","records":1,"batchDelay":"20ms"}`)
		e.waitStatus(t, id, jobs.StatusCompleted)
		resp := expect(t, e.do(t, http.MethodPost, importBase+"/"+id+"/stop?reason=too+late", ""), http.StatusConflict)
		if resp.Status != jobs.StatusCompleted {
			t.Fatalf("stop of a finished job: %+v", resp)
		}
		slow := e.start(t, `{"datasetId":"d","records":1000,"batchSize":1,"batchDelay":"1h"}`)
		resp = expect(t, e.do(t, http.MethodGet, importBase+"/"+slow+"/result", ""), http.StatusConflict)
		if !strings.Contains(resp.ErrorText(), "not yet completed") {
			t.Fatalf("early result: %+v", resp)
		}
		stopped := expect(t, e.do(t, http.MethodPost, importBase+"/"+slow+"/stop?reason=enough", ""), http.StatusOK)
		if stopped.Status != jobs.StatusStopped || !strings.Contains(stopped.Message, "enough") {
			t.Fatalf("stop: %+v", stopped)
		}
	})
	t.Run("413 body too large", func(t *testing.T) {
		big := `{"parameters":{"customerId":"` + strings.Repeat("x", 5000) + `"}}`
		expect(t, e.do(t, http.MethodPost, execute, big), http.StatusRequestEntityTooLarge)
		// Without a Content-Length (chunked), the limit still holds.
		r := doReader(t, e.srv.URL, http.MethodPost, execute, io.MultiReader(strings.NewReader(big)), true)
		expect(t, r, http.StatusRequestEntityTooLarge)
	})
	t.Run("415 wrong content type", func(t *testing.T) {
		body := `{"parameters":{"customerId":"CUST-1"}}`
		for _, ct := range []string{"text/plain", "multipart/form-data; boundary=x", "application/xml", "application/json; charset=latin1", "%%%"} {
			expect(t, e.do(t, http.MethodPost, execute, body, "Content-Type", ct), http.StatusUnsupportedMediaType)
		}
		// A real form body is not JSON either.
		expect(t, e.do(t, http.MethodPost, execute, "customerId=CUST-1", "Content-Type", "application/x-www-form-urlencoded"),
			http.StatusUnsupportedMediaType)
	})
	t.Run("422 missing parameter", func(t *testing.T) {
		resp := expect(t, e.do(t, http.MethodPost, importBase+"/start", `{"parameters":{"batchSize":10}}`), http.StatusUnprocessableEntity)
		if !strings.Contains(resp.ErrorText(), "datasetId") {
			t.Fatalf("error %q does not name the parameter", resp.ErrorText())
		}
		expect(t, e.do(t, http.MethodPost, execute, `{}`), http.StatusUnprocessableEntity)
	})
	t.Run("429 bulkhead full", func(t *testing.T) {
		resp := expect(t, e.do(t, http.MethodPost, "/api/v1/bulkhead/execute", ""), http.StatusTooManyRequests)
		if !strings.Contains(resp.ErrorText(), "bulkhead full") {
			t.Fatalf("error %q", resp.ErrorText())
		}
	})
	t.Run("200 the job failed", func(t *testing.T) {
		// The status code reports the request: a stage that reached the job
		// answers 200, and the body says the job failed.
		resp := expectFailed(t, e.do(t, http.MethodPost, "/api/v1/broken/execute", ""))
		if !strings.Contains(resp.ErrorText(), "the CRM said no") {
			t.Fatalf("failed job: %+v", resp)
		}
		id := e.start(t, `{"datasetId":"d","records":10,"batchSize":1,"batchDelay":"20ms","failAfterBatches":1}`)
		deadline := time.Now().Add(waitFor)
		for {
			r := e.do(t, http.MethodGet, importBase+"/"+id+"/check", "")
			if r.Status != http.StatusOK {
				t.Fatalf("CHECK answered %d: %s", r.Status, r.Body)
			}
			if resp := r.JSON(t); !resp.Success {
				expectFailed(t, r)
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("import never failed; last CHECK %d %s", r.Status, r.Body)
			}
			time.Sleep(20 * time.Millisecond)
		}
		// RESULT of an execution that will never complete is a request
		// the engine cannot serve: 409, as RESULT before COMPLETED.
		if resp := expect(t, e.do(t, http.MethodGet, importBase+"/"+id+"/result", ""), http.StatusConflict); resp.Status != jobs.StatusFailed {
			t.Fatalf("RESULT of a failed execution: %+v", resp)
		}
	})
	t.Run("504 stage slower than the request timeout", func(t *testing.T) {
		start := time.Now()
		resp := expect(t, e.do(t, http.MethodPost, "/api/v1/slow/execute", ""), http.StatusGatewayTimeout)
		if took := time.Since(start); took > 10*time.Second {
			t.Fatalf("504 after %s", took)
		}
		if !strings.Contains(resp.ErrorText(), "no answer") || resp.ExecutionID == "" ||
			!strings.Contains(resp.ErrorText(), "execution "+resp.ExecutionID+" may still run") {
			t.Fatalf("504 without the execution it started: %+v %q", resp, resp.ErrorText())
		}
		// The id named is the execution's: once the stage finishes, its
		// result is there under that id.
		releaseSlow()
		deadline := time.Now().Add(waitFor)
		for {
			r := e.do(t, http.MethodGet, "/api/v1/slow/"+resp.ExecutionID+"/result", "")
			if r.Status == http.StatusOK {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no result under %s; last %d %s", resp.ExecutionID, r.Status, r.Body)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

// 503: NATS is gone, before the client's first call or after it.
func TestUnavailable(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpadapter.Options{ShowDetails: true})
	body := `{"parameters":{"customerId":"CUST-1"}}`

	neverUsed, js, err := bus.Connect(bus.ConnConfig{URL: e.h.Server.ClientURL(), Name: "closed-early"})
	if err != nil {
		t.Fatal(err)
	}
	d := depsOf(e.h)
	d.Client, d.Conn, d.JS = bus.NewClient(neverUsed, js), neverUsed, js
	neverUsed.Close()
	url := serve(t, httpadapter.NewRouter(d, httpadapter.Options{ShowDetails: true}))
	expect(t, do(t, url, http.MethodPost, execute, body), http.StatusServiceUnavailable)
	var h httpadapter.Health
	decode(t, do(t, url, http.MethodGet, "/health", ""), http.StatusServiceUnavailable, &h)
	if h.Status != "DOWN" || h.Components["nats"].Status != "DOWN" || h.Components["jetstream"].Status != "DOWN" {
		t.Fatalf("health with a closed connection: %+v", h)
	}
	decode(t, do(t, url, http.MethodGet, "/health/jobOrchestrator", ""), http.StatusServiceUnavailable, &h)

	used, js2, err := bus.Connect(bus.ConnConfig{URL: e.h.Server.ClientURL(), Name: "closed-later"})
	if err != nil {
		t.Fatal(err)
	}
	d.Client, d.Conn, d.JS = bus.NewClient(used, js2), used, js2
	t.Cleanup(d.Client.Close)
	url = serve(t, httpadapter.NewRouter(d, httpadapter.Options{}))
	expect(t, do(t, url, http.MethodPost, execute, body), http.StatusOK)
	used.Close()
	resp := expect(t, do(t, url, http.MethodPost, execute, body), http.StatusServiceUnavailable)
	if !strings.Contains(resp.ErrorText(), "closed") {
		t.Fatalf("error %q", resp.ErrorText())
	}
	// The engine's own connection is still fine.
	expect(t, e.do(t, http.MethodPost, execute, body), http.StatusOK)

	// No client at all.
	url = serve(t, httpadapter.NewRouter(httpadapter.Deps{Registry: e.h.Engine.Registry()}, httpadapter.Options{}))
	expect(t, do(t, url, http.MethodPost, execute, body), http.StatusServiceUnavailable)
	expect(t, do(t, url, http.MethodGet, importBase+"/x/events", ""), http.StatusServiceUnavailable)
}
