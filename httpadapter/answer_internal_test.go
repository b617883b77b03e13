package httpadapter

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jetjobs/jetjobs/jobs"
)

// type of its own in a job's output: not plain JSON, so the answer goes
// through encoding/json.
type ownType struct {
	A string `json:"a"`
	B int    `json:"-"`
}

// Every answer is written as json.Marshal writes it, and a newline, with
// the JSON headers: stage answers on the pooled fast path included, with
// HTML characters, non-ASCII text, nested data and a job's own types.
func TestWriteJSONAsEncodingJSON(t *testing.T) {
	t.Parallel()
	msg := "<b>&\u2028 failed: é \x7f"
	ts := time.Date(2026, 12, 7, 22, 0, 0, 123456789, time.UTC)
	for i, v := range []any{
		&jobs.Response{Success: true, Status: jobs.StatusCompleted, ExecutionID: "e-1", Stage: jobs.StageExecute,
			ProgressPercentage: 100, Timestamp: ts, Message: "ok"},
		&jobs.Response{Success: true, Timestamp: ts, Metadata: map[string]string{"z": "1", "a": "<2>"},
			Data: map[string]any{"html": "<script>&", "n": 1.5e300, "i": float64(42), "nested": map[string]any{
				"b": []any{nil, true, "ü", map[string]any{"y": 1.0, "x": "\u2029"}}, "a": map[string]any{}}, "empty": []any{}}},
		&jobs.Response{Success: false, Stage: jobs.StageCheck, Timestamp: ts, Error: &msg},
		&jobs.Response{Success: true, Timestamp: ts, Data: map[string]any{"own": ownType{A: "<x>", B: 3}}},
		&jobs.Response{},
		Health{Status: StatusUp},
		map[string]any{"k": "<v>"},
	} {
		rec := httptest.NewRecorder()
		writeJSON(rec, http.StatusAccepted, v)
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if got := rec.Body.String(); got != string(want)+"\n" {
			t.Errorf("%d: wrote\n%s\nwant\n%s", i, got, want)
		}
		h := rec.Result().Header
		if rec.Code != http.StatusAccepted || h.Get("Content-Type") != "application/json" ||
			h.Get("Cache-Control") != "no-store" || h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%d: status %d, headers %v", i, rec.Code, h)
		}
	}
}

// An answer that cannot be encoded is a 500 with a JSON error.
func TestWriteJSONEncodingFails(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	writeJSON(rec, http.StatusOK, &jobs.Response{Data: map[string]any{"ch": make(chan int)}})
	var resp jobs.Response
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil || rec.Code != http.StatusInternalServerError || resp.Success {
		t.Fatalf("status %d, body %s (%v)", rec.Code, rec.Body, err)
	}
}

// A request read from a pooled body buffer keeps nothing of it: the next
// body read into the same buffer leaves the first request as it was.
func TestReadRequestKeepsNothingOfTheBody(t *testing.T) {
	t.Parallel()
	read := func(body string) *jobs.Request {
		r := httptest.NewRequest(http.MethodPost, "/x/execute", strings.NewReader(body))
		req, status, err := readRequest(r, jobs.StageExecute, "")
		if err != nil {
			t.Fatalf("%s: %d %v", body, status, err)
		}
		return req
	}
	first := read(`{"executionId":"aaaa","reason":"bbbb","parameters":{"k":"vvvv","n":1234,"l":["xx"]},"metadata":{"m":"yyyy"}}`)
	for range 4 {
		read(`{"executionId":"ZZZZ","reason":"ZZZZ","parameters":{"k":"ZZZZ","n":9999,"l":["ZZ"]},"metadata":{"m":"ZZZZ"}}`)
	}
	want := &jobs.Request{ExecutionID: "aaaa", Reason: "bbbb", Parameters: map[string]any{"k": "vvvv", "n": 1234.0, "l": []any{"xx"}},
		Metadata: map[string]string{"m": "yyyy"}, Initiator: first.Initiator, RequestID: first.RequestID}
	if !reflect.DeepEqual(first, want) {
		t.Fatalf("first request changed: %+v", first)
	}
}
