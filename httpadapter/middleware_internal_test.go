package httpadapter

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/jetjobs/jetjobs/httpadapter/auth"
	"github.com/jetjobs/jetjobs/internal/testutil"
	"github.com/jetjobs/jetjobs/jobs"
)

// A panic in a handler is a JSON 500 for the client, with no stack, and a
// log line with the stack for the operator; the request line still follows.
func TestRecoverAndLog(t *testing.T) {
	t.Parallel()
	var logs testutil.SyncBuffer
	a := newAdapter(Deps{}, Options{Logger: zerolog.New(&logs)})
	h := a.middleware()
	var handler http.Handler = http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		var m map[string]int
		m["boom"]++ // a nil map write: a real bug, not a panic("...") staged for the test
	})
	for i := len(h) - 1; i >= 0; i-- {
		handler = h[i](handler)
	}
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/x/exec-1/check", nil))
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status %d", rec.Code)
	}
	var resp jobs.Response
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil || resp.Success || resp.ErrorText() == "" {
		t.Fatalf("body %s (%v)", rec.Body, err)
	}
	if strings.Contains(rec.Body.String(), "goroutine") || strings.Contains(rec.Body.String(), "nil map") {
		t.Fatalf("the client sees internals: %s", rec.Body)
	}
	out := logs.String()
	if !strings.Contains(out, "panic in HTTP handler") || !strings.Contains(out, "middleware_internal_test.go") {
		t.Fatalf("no stack in the log: %s", out)
	}
	line := lastLine(out)
	for _, want := range []string{`"method":"GET"`, `"path":"/api/v1/x/exec-1/check"`, `"status":500`, `"duration":`, `"requestId":`} {
		if !strings.Contains(line, want) {
			t.Fatalf("request line lacks %s: %s", want, line)
		}
	}
	if rec.Header().Get("X-Request-Id") == "" {
		t.Fatal("no X-Request-Id")
	}
}

// The request line names the execution of a stage call.
func TestLogLineNamesExecution(t *testing.T) {
	t.Parallel()
	var logs testutil.SyncBuffer
	reg := jobs.NewRegistry()
	reg.MustRegister("quick", quick{})
	router := NewRouter(Deps{Registry: reg}, Options{Logger: zerolog.New(&logs)})
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/api/v1/quick/execute", strings.NewReader(`{"executionId":"exec-77"}`))
	req.Header.Set("X-Request-Id", "req-1")
	req.Header.Set("Content-Type", "application/json")
	router.ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable { // no client in Deps
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	line := lastLine(logs.String())
	for _, want := range []string{`"executionId":"exec-77"`, `"requestId":"req-1"`, `"jobType":"quick"`, `"stage":"EXECUTE"`, `"status":503`, `"caller":"anonymous"`} {
		if !strings.Contains(line, want) {
			t.Fatalf("request line lacks %s: %s", want, line)
		}
	}
}

type quick struct{}

func (quick) Execute(context.Context, *jobs.Request) (*jobs.Response, error) {
	return jobs.OK("", nil), nil
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func TestServerLifecycle(t *testing.T) {
	t.Parallel()
	s := NewServer("127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok"))
	}), zerolog.Nop())
	if err := s.Stop(context.Background()); err != nil { // before Start: nothing to do
		t.Fatal(err)
	}
	s = NewServer("127.0.0.1:0", http.NotFoundHandler(), zerolog.Nop())
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err == nil {
		t.Fatal("second Start succeeded")
	}
	addr := s.Addr()
	if _, port, _ := net.SplitHostPort(addr); port == "0" || port == "" {
		t.Fatalf("Addr %q", addr)
	}
	resp, err := http.Get("http://" + addr + "/x")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("status %d", resp.StatusCode)
	}
	taken := NewServer(addr, http.NotFoundHandler(), zerolog.Nop())
	if err := taken.Start(context.Background()); err == nil || !strings.Contains(err.Error(), addr) {
		t.Fatalf("start on a taken address: %v", err)
	}
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal("second Stop:", err)
	}
	if _, err := http.Get("http://" + addr + "/x"); err == nil {
		t.Fatal("still serving after Stop")
	}
}

func TestHTTPStatus(t *testing.T) {
	t.Parallel()
	want := map[jobs.Code]int{"": 200, jobs.CodeInvalidArgument: 400, jobs.CodeNotFound: 404, jobs.CodeConflict: 409,
		jobs.CodeNotReady: 409, jobs.CodeInvalidParameter: 422, jobs.CodeRejected: 429, jobs.CodeUnavailable: 503,
		jobs.CodeTimeout: 504, jobs.CodeFailed: 500, jobs.CodeInternal: 500, "something-new": 500}
	for code, status := range want {
		if got := HTTPStatus(code); got != status {
			t.Errorf("HTTPStatus(%q) = %d, want %d", code, got, status)
		}
		answer := status
		if code == jobs.CodeFailed {
			answer = 200 // the job failed: the request was served
		}
		if got := AnswerStatus(code); got != answer {
			t.Errorf("AnswerStatus(%q) = %d, want %d", code, got, answer)
		}
	}
}

// The body decoder never panics, and what it accepts is a JSON object of
// JobStageRequest fields only.
func FuzzDecodeRequest(f *testing.F) {
	for _, s := range []string{`{}`, `{"parameters":{"a":1}}`, `{"executionId":"x","metadata":{"k":"v"}}`, `{`, `[]`,
		`{"parameters":{}} x`, `{"x":1}`, "{\"reason\":\"\xff\"}", `{"parameters":{"n":1e999}}`} {
		f.Add([]byte(s))
	}
	f.Add([]byte(`a=b`))
	f.Fuzz(func(t *testing.T, body []byte) {
		body = bytes.TrimSpace(body)
		if len(body) == 0 {
			return
		}
		req, status, err := decodeRequest(body)
		if err != nil {
			if status != http.StatusBadRequest {
				t.Fatalf("status %d for %v", status, err)
			}
			return
		}
		if !json.Valid(body) || body[0] != '{' {
			t.Fatalf("accepted %q", body)
		}
		if req == nil {
			t.Fatal("nil request without an error")
		}
	})
}

// staticAuth accepts one bearer token as one caller.
type staticAuth struct{ token, name string }

func (s staticAuth) Authenticate(r *http.Request) (*auth.Caller, error) {
	if r.Header.Get("Authorization") == "Bearer "+s.token {
		return &auth.Caller{Name: s.name, Permissions: auth.All()}, nil
	}
	return nil, auth.ErrNoCredentials
}

// The request log line names the authenticated caller, never its
// credential; a refused request names no caller.
func TestLogLineNamesCaller(t *testing.T) {
	t.Parallel()
	var logs testutil.SyncBuffer
	reg := jobs.NewRegistry()
	reg.MustRegister("quick", quick{})
	router := NewRouter(Deps{Registry: reg}, Options{Logger: zerolog.New(&logs), Auth: staticAuth{"s3cr3t-token", "crm-sync"}})
	for _, tt := range []struct {
		header string
		status int
		want   string
	}{
		{"Bearer s3cr3t-token", http.StatusServiceUnavailable, `"caller":"crm-sync"`},
		{"Bearer wrong-token", http.StatusUnauthorized, `"status":401`},
	} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/api/v1/quick/exec-1/result", nil)
		req.Header.Set("Authorization", tt.header)
		router.ServeHTTP(rec, req)
		line := lastLine(logs.String())
		if rec.Code != tt.status || !strings.Contains(line, tt.want) || strings.Contains(logs.String(), "s3cr3t") {
			t.Fatalf("%s: %d, log %s", tt.header, rec.Code, line)
		}
		if rec.Code == http.StatusUnauthorized && (strings.Contains(line, "caller") || rec.Header().Get("WWW-Authenticate") == "") {
			t.Fatalf("refused request: %s %v", line, rec.Header())
		}
	}
}
