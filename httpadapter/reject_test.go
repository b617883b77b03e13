package httpadapter_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/jetjobs/jetjobs/httpadapter"
)

// Odd ids, malformed and oversized bodies and wrong content types, at every
// route: each gets a 4xx JobStageResponse and nothing is published.
func TestRejectedRequestsPublishNothing(t *testing.T) {
	t.Parallel()
	const limit = 2048
	e := newEnv(t, httpadapter.Options{MaxBodyBytes: limit})

	// Every command subject, and a sentinel on the same channel: a command
	// published by any request arrives before the sentinel sent after it.
	msgs := make(chan *nats.Msg, 1024)
	for _, subj := range []string{"jobs.cmd.>", "test.sentinel"} {
		sub, err := e.h.Conn.ChanSubscribe(subj, msgs)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = sub.Unsubscribe() })
	}
	if err := e.h.Conn.Flush(); err != nil {
		t.Fatal(err)
	}

	// Path segments as sent on the wire.
	oddIDs := []string{
		"a.b", "*", ">", "%3E", "%20", "a%20b", " a", strings.Repeat("a", 129), strings.Repeat("x", 500),
		"%C3%BC", "caf%C3%A9", "%E6%97%A5%E6%9C%AC", "%2e", "%2E%2E", "..", ".", "a%2Fb", "%00", "%25", "a:b",
		"a;b", "a,b", "a+b", "a%09b", "%F0%9F%98%80", "%ff",
	}
	idRoutes := []struct{ method, suffix string }{
		{http.MethodGet, "/check"}, {http.MethodGet, "/collect"}, {http.MethodGet, "/result"},
		{http.MethodPost, "/stop"}, {http.MethodGet, "/events"},
	}
	for _, id := range oddIDs {
		for _, rt := range idRoutes {
			reject(t, e, rt.method, importBase+"/"+id+rt.suffix, "", nil)
		}
		// A body id goes through the same check.
		body := `{"executionId":"` + strings.ReplaceAll(id, `"`, "") + `","parameters":{"datasetId":"d","customerId":"CUST-1"}}`
		reject(t, e, http.MethodPost, importBase+"/start", body, nil)
		reject(t, e, http.MethodPost, execute, body, nil)
	}

	badBodies := []string{
		`{`, `{"parameters":`, `{"parameters":{"datasetId":"d"}`, `[]`, `"x"`, `null`, `42`, `true`,
		`{"parameters":{}} {"parameters":{}}`, `{"parameters":{}}x`, `{"unknown":1}`, `{"parameters":[1]}`,
		`{"parameters":"d"}`, `{"metadata":{"a":1}}`, `{"metadata":[]}`, `{"executionId":42}`, `{"reason":{}}`,
		`{"jobType":"x"}`, `{"Parameters":{}, "parameters":{}, "stage":"START"}`, "{\"parameters\":{}\x00}",
		`{"executionId":"a.b"}`, `{"executionId":""` + strings.Repeat(" ", 10) + `,}`,
		`{"parameters":{"datasetId":"d"}}` + strings.Repeat(" ", limit),
		`{"parameters":{"datasetId":"` + strings.Repeat("d", limit) + `"}}`,
	}
	posts := []string{importBase + "/start", importBase + "/exec-1/stop", execute}
	for _, body := range badBodies {
		for _, path := range posts {
			reject(t, e, http.MethodPost, path, body, nil)
		}
	}
	// A stop body whose id disagrees with the path.
	reject(t, e, http.MethodPost, importBase+"/exec-1/stop", `{"executionId":"exec-2"}`, nil)

	// Good bodies with bad content types, at the routes that take a body.
	good := `{"parameters":{"datasetId":"d","customerId":"CUST-1"}}`
	for _, ct := range []string{"text/plain", "text/html", "multipart/form-data; boundary=b", "application/xml",
		"application/octet-stream", "application/json; charset=utf-16", "image/png", ";;", "application/x-www-form-urlencoded"} {
		for _, path := range posts {
			body := good
			if strings.Contains(ct, "form-urlencoded") {
				body = "parameters=x"
			}
			reject(t, e, http.MethodPost, path, body, []string{"Content-Type", ct})
		}
	}

	// Oversized bodies at every route, with and without a Content-Length;
	// bodies where none belongs.
	big := `{"parameters":{"x":"` + strings.Repeat("x", 2*limit) + `"}}`
	every := []struct{ method, path string }{
		{http.MethodPost, importBase + "/start"}, {http.MethodPost, execute},
		{http.MethodGet, importBase + "/exec-1/check"}, {http.MethodGet, importBase + "/exec-1/collect"},
		{http.MethodGet, importBase + "/exec-1/result"}, {http.MethodPost, importBase + "/exec-1/stop"},
		{http.MethodGet, importBase + "/exec-1/events"},
	}
	for _, rt := range every {
		reject(t, e, rt.method, rt.path, big, nil)
		r := doReader(t, e.srv.URL, rt.method, rt.path, io.MultiReader(strings.NewReader(big)), true)
		if r.Status != http.StatusRequestEntityTooLarge {
			t.Errorf("chunked oversized %s %s: %d %s", rt.method, rt.path, r.Status, r.Body)
		}
		if rt.method == http.MethodGet {
			reject(t, e, rt.method, rt.path, good, nil)
		}
	}

	if err := e.h.Conn.Publish("test.sentinel", nil); err != nil {
		t.Fatal(err)
	}
	timeout := time.After(waitFor)
	for {
		select {
		case m := <-msgs:
			if m.Subject == "test.sentinel" {
				return
			}
			t.Fatalf("a rejected request published %s: %s", m.Subject, m.Data)
		case <-timeout:
			t.Fatal("the sentinel never came back")
		}
	}
}

// reject sends a request that must be refused with a 4xx JobStageResponse.
func reject(t *testing.T, e *env, method, path, body string, headers []string) {
	t.Helper()
	r := e.do(t, method, path, body, headers...)
	if r.Status < 400 || r.Status > 499 {
		t.Errorf("%s %s body %.60q: status %d, want 4xx; %s", method, path, body, r.Status, r.Body)
		return
	}
	resp := r.JSON(t)
	if resp.Success || resp.ErrorText() == "" {
		t.Errorf("%s %s: %d without an error: %s", method, path, r.Status, r.Body)
	}
	if strings.Contains(string(r.Body), "goroutine ") || strings.Contains(string(r.Body), ".go:") {
		t.Errorf("%s %s: a stack in the answer: %s", method, path, r.Body)
	}
}
