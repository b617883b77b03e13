package bus_test

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/jobs"
	"github.com/jetjobs/jetjobs/jobs/jobstest"
)

// MarshalJSON writes what encoding/json writes for every record the engine
// stores, so that swapping the encoder changes no byte on the wire.
func TestMarshalJSONMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	tricky := map[string]any{
		"number": json.Number("12.50"), "raw": json.RawMessage(`{"k": [1, 2]}`),
		"html": "<b>\"x\" & y</b>", "separators": "a\u2028b\u2029c", "control": "\x01\t\n", "unicode": "é中🙂",
		"nested": map[string]any{"z": 1, "a": []any{true, nil, 2.5, int64(math.MaxInt64), "s"}},
		"empty":  map[string]any{}, "list": []any{}, "float": 1e21, "small": 1e-7, "negZero": math.Copysign(0, -1),
	}
	progress, errText := 40, "it failed: <bad>"
	at := time.Date(2026, 11, 27, 3, 4, 5, 6000, time.FixedZone("X", -5*3600))
	cases := map[string]any{
		"execution":         jobstest.FullExecution("import", "e-1"),
		"minimal execution": &jobs.Execution{ExecutionID: "e", JobType: "j"},
		"execution with tricky parameters": func() *jobs.Execution {
			e := jobstest.FullExecution("import", "e-2")
			e.Parameters = tricky
			return e
		}(),
		"audit entries": []*jobs.AuditEntry{
			{ExecutionID: "e", JobType: "j", Stage: jobs.StageStart, Status: jobs.StatusRunning, Outcome: "success",
				StartedAt: at, EndedAt: at.Add(time.Millisecond), DurationMs: 1.25, Attempt: 2, Parameters: tricky,
				Message: "ok", Metadata: map[string]string{"b": "2", "a": "<1>"}, SagaID: "s"},
			{ExecutionID: "e", JobType: "j", Stage: jobs.StageResult, Outcome: "failure", Error: errText,
				ErrorType: jobs.CodeInternal, StackTrace: "goroutine 1\n\tmain.go:1"},
		},
		"event data": jobs.EventData{EventType: "JOB_PROGRESS", ExecutionID: "e", JobType: "j", Status: jobs.StatusRunning,
			Error: &errText, Timestamp: at, Data: tricky, ProgressPercentage: &progress, Metadata: map[string]string{"t": "x"}},
		"empty event data": jobs.EventData{},
	}
	m := bus.NewOutMsg("x") // one message for all: its buffer is reused
	defer m.Release()
	for name, v := range cases {
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("%s: encoding/json: %v", name, err)
		}
		got, err := bus.MarshalJSON(v)
		if err != nil {
			t.Fatalf("%s: MarshalJSON: %v", name, err)
		}
		if string(got) != string(want) {
			t.Errorf("%s:\n got %s\nwant %s", name, got, want)
		}
		if err := m.EncodeJSON(v); err != nil || string(m.Data()) != string(want) {
			t.Errorf("%s: OutMsg.EncodeJSON:\n got %s %v\nwant %s", name, m.Data(), err, want)
		}
	}
}

type custom struct{ N int }

func (c custom) MarshalJSON() ([]byte, error) { return []byte(`{"custom":true}`), nil }

type plainStruct struct {
	A string `json:"a"`
	B []byte
}

// A job's own types in its data are written by encoding/json itself.
func TestMarshalJSONUserTypes(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for name, data := range map[string]map[string]any{
		"custom marshaler": {"c": custom{1}, "p": &custom{2}},
		"struct":           {"s": plainStruct{A: "<x>", B: []byte("hi")}},
		"time and nested":  {"t": at, "deep": map[string]any{"list": []any{1, custom{3}}}},
		"typed map":        {"m": map[string]int{"b": 2, "a": 1}},
	} {
		ev := jobs.EventData{EventType: "JOB_COMPLETED", ExecutionID: "e", JobType: "j", Timestamp: at, Data: data}
		want, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		got, err := bus.MarshalJSON(ev, ev.Data)
		if err != nil || string(got) != string(want) {
			t.Errorf("%s:\n got %s %v\nwant %s", name, got, err, want)
		}
		m := bus.NewOutMsg("x")
		if err := m.EncodeJSON(ev, ev.Data); err != nil || string(m.Data()) != string(want) {
			t.Errorf("%s: OutMsg.EncodeJSON:\n got %s %v\nwant %s", name, m.Data(), err, want)
		}
		m.Release()
	}
	// Neither encoder writes NaN.
	if _, err := bus.MarshalJSON(map[string]any{"x": math.NaN()}); err == nil {
		t.Error("NaN encoded")
	}
	m := bus.NewOutMsg("x")
	defer m.Release()
	if err := m.EncodeJSON(map[string]any{"x": math.NaN()}); err == nil {
		t.Error("NaN encoded into an OutMsg")
	}
}
