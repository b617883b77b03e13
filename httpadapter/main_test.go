package httpadapter_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"go.uber.org/goleak"

	"github.com/jetjobs/jetjobs/httpadapter"
	"github.com/jetjobs/jetjobs/internal/samplejobs"
	"github.com/jetjobs/jetjobs/jetjobstest"
	"github.com/jetjobs/jetjobs/jobs"
)

// Every test closes its servers, connections and streams: a goroutine left
// at the end is a leak.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreCurrent())
}

const (
	importJob   = "customer-import"
	validateJob = "customer-validation"
	importBase  = "/api/v1/customer-import"
	execute     = "/api/v1/customer-validation/execute"
	waitFor     = 20 * time.Second
)

// env is a real engine with the fixture jobs (samplejobs.Register, and the test's own), and the
// adapter in front of it on a real HTTP server.
type env struct {
	h   *jetjobstest.Harness
	srv *httptest.Server
}

// newEnv starts the engine and the adapter. extra registers more jobs.
func newEnv(t *testing.T, o httpadapter.Options, extra ...func(*jobs.Registry)) *env {
	t.Helper()
	h := jetjobstest.New(t, func(r *jobs.Registry) {
		if err := samplejobs.Register(r); err != nil {
			panic(err)
		}
		for _, f := range extra {
			f(r)
		}
	})
	srv := httptest.NewServer(httpadapter.NewRouter(depsOf(h), o))
	t.Cleanup(srv.Close)
	return &env{h: h, srv: srv}
}

// serve runs h on a test server and returns its URL.
func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

func newChiRouter() chi.Router { return chi.NewRouter() }

// decode asserts the status and decodes a JSON body into v.
func decode(t *testing.T, r reply, status int, v any) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, r.Body)
	}
}

func depsOf(h *jetjobstest.Harness) httpadapter.Deps {
	return httpadapter.Deps{Client: h.Client, Registry: h.Engine.Registry(), Conn: h.Conn, JS: h.JS,
		State: h.Engine.State().Bucket()}
}

// reply is an HTTP answer.
type reply struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body as a JobStageResponse, failing the test if it is
// not one.
func (r reply) JSON(t *testing.T) jobs.Response {
	t.Helper()
	var resp jobs.Response
	if err := json.Unmarshal(r.Body, &resp); err != nil {
		t.Fatalf("status %d: body is not a JobStageResponse: %v\n%s", r.Status, err, r.Body)
	}
	return resp
}

// do sends a request; headers come in name, value pairs. A body, and every
// POST, PUT or DELETE, is sent as application/json unless a Content-Type is
// given ("" sends none).
func do(t *testing.T, base, method, path, body string, headers ...string) reply {
	t.Helper()
	return doReader(t, base, method, path, strings.NewReader(body), body != "", headers...)
}

func doReader(t *testing.T, base, method, path string, body io.Reader, hasBody bool, headers ...string) reply {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, base+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if hasBody || method == http.MethodPost || method == http.MethodPut || method == http.MethodDelete {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
		} else {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, path, err)
	}
	return reply{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

func (e *env) do(t *testing.T, method, path, body string, headers ...string) reply {
	t.Helper()
	return do(t, e.srv.URL, method, path, body, headers...)
}

// expect asserts the status and that the body is a JobStageResponse whose
// success agrees with it.
func expect(t *testing.T, r reply, status int) jobs.Response {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d; body: %s", r.Status, status, r.Body)
	}
	resp := r.JSON(t)
	if resp.Success != (status == http.StatusOK) {
		t.Fatalf("status %d with success=%v: %s", status, resp.Success, r.Body)
	}
	if status != http.StatusOK && resp.ErrorText() == "" {
		t.Fatalf("status %d without an error text: %s", status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q, want application/json", ct)
	}
	return resp
}

// expectFailed asserts the answer of a stage that reached a job that
// failed: 200, success=false, status FAILED and an error text.
func expectFailed(t *testing.T, r reply) jobs.Response {
	t.Helper()
	if r.Status != http.StatusOK {
		t.Fatalf("status %d, want 200 for a failed job; body: %s", r.Status, r.Body)
	}
	resp := r.JSON(t)
	if resp.Success || resp.Status != jobs.StatusFailed || resp.ErrorText() == "" {
		t.Fatalf("want success=false, status FAILED and an error: %s", r.Body)
	}
	return resp
}

// start starts a customer import and returns its execution id.
func (e *env) start(t *testing.T, params string) string {
	t.Helper()
	resp := expect(t, e.do(t, http.MethodPost, importBase+"/start", `{"parameters":`+params+`}`), http.StatusOK)
	if resp.ExecutionID == "" || resp.Stage != jobs.StageStart {
		t.Fatalf("start answered %+v", resp)
	}
	return resp.ExecutionID
}

// waitStatus polls CHECK until the execution has status want.
func (e *env) waitStatus(t *testing.T, id string, want jobs.Status) jobs.Response {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	var last reply
	for time.Now().Before(deadline) {
		last = e.do(t, http.MethodGet, importBase+"/"+id+"/check", "")
		if resp := last.JSON(t); resp.Status == want {
			return resp
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("execution %s not %s within %s; last CHECK: %d %s", id, want, waitFor, last.Status, last.Body)
	return jobs.Response{}
}

// blocker is a sync job whose EXECUTE waits until released (or its context
// ends): a stage slower than any short request timeout.
type blocker struct{ release chan struct{} }

func (b blocker) Execute(ctx context.Context, _ *jobs.Request) (*jobs.Response, error) {
	select {
	case <-b.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return jobs.OK("released", nil), nil
}

// full is a sync job behind a full bulkhead.
type full struct{}

func (full) Execute(context.Context, *jobs.Request) (*jobs.Response, error) {
	return nil, &jobs.Error{Code: jobs.CodeRejected, Msg: "bulkhead full"}
}

// broken is a sync job whose code fails.
type broken struct{}

func (broken) Execute(context.Context, *jobs.Request) (*jobs.Response, error) {
	return nil, jobs.Permanent(errors.New("the CRM said no"))
}
