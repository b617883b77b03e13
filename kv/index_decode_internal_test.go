package kv

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/jobs"
)

// sampleRecord is a record as the engine writes it (bus.MarshalJSON).
func sampleRecord(tb testing.TB) []byte {
	tb.Helper()
	at := time.Date(2026, 12, 7, 20, 0, 0, 123456789, time.UTC)
	end := at.Add(time.Second)
	e := &jobs.Execution{ExecutionID: "0193a0c4-7f1e-7c3a-9a57-3c1d2b4e5f60", JobType: "bench-noop-async", Mode: "async",
		Status: jobs.StatusCompleted, LastStage: jobs.StageStart, ProgressPercentage: 100,
		Parameters: map[string]any{"payload": "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
			"n": 3.0, "nested": map[string]any{"a": []any{1.0, "b", nil, true}}},
		Message: "done", RequestID: "req-1", Initiator: "bench", Metadata: map[string]string{"k": "v"},
		CommandID: "cmd-1", Attempts: 1, CreatedAt: at, UpdatedAt: end, EndedAt: &end, Deadline: at.Add(time.Hour),
		Error: "a <b> & \"c\" é"}
	b, err := bus.MarshalJSON(e, e.Parameters)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// equalToStdlib checks decodeIndexRecord against json.Unmarshal.
func equalToStdlib(t *testing.T, b []byte) {
	t.Helper()
	var want, got indexRecord
	wantErr := json.Unmarshal(b, &want)
	gotErr := decodeIndexRecord(b, &got)
	if (wantErr == nil) != (gotErr == nil) {
		t.Fatalf("%q: error %v, encoding/json %v", b, gotErr, wantErr)
	}
	if wantErr == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("%q:\n got %+v\nwant %+v", b, got, want)
	}
}

func TestDecodeIndexRecordIsEncodingJSON(t *testing.T) {
	t.Parallel()
	rec := sampleRecord(t)
	var r indexRecord
	if !fastIndexRecord(rec, &r) {
		t.Fatalf("the engine's own record took the slow path: %s", rec)
	}
	cases := []string{
		string(rec),
		`{}`, ` { } `, `null`, `[]`, `"x"`, `{"status":"RUNNING"}`, `{"status":"RUNNING",}`, `{"status":"RUNNING"} x`,
		`{"Status":"FAILED"}`, `{"STATUS":"FAILED","status":"RUNNING"}`, `{"status":null}`, `{"status":1}`,
		`{"status":"RUN\u004eING"}`, `{"st\u0061tus":"RUNNING"}`, `{"ſtatus":"RUNNING"}`, `{"error":"\ud800x"}`,
		`{"error":"` + "\xff\xfe" + `"}`, `{"progressPercentage":1.5}`, `{"progressPercentage":-0}`,
		`{"progressPercentage":1e2}`, `{"progressPercentage":99999999999999999999}`, `{"progressPercentage":01}`,
		`{"progressPercentage":"1"}`, `{"createdAt":"2026-01-01T00:00:00Z","createdAt":"2026-01-02T00:00:00+02:00"}`,
		`{"createdAt":"yesterday"}`, `{"createdAt":null}`, `{"updatedAt":"2026-01-01T00:00:00.5Z"}`,
		`{"parameters":{"a":[1,2,{"b":null}],"c":-1.5e-3},"jobType":"j","executionId":"e"}`,
		`{"parameters":{"a":[1,2,}]}}`, `{"parameters":tru}`, `{"a":"\x01"}`, `{"a":"\q"}`, `{"a":"\u12"}`,
		`{"a" "b"}`, `{"a":1 "b":2}`, `{"a":-}`, `{"a":1.}`, `{"a":1e}`, "{\"a\":\n1\t}\r\n",
		`{"jobType":"a\/b","sagaId":"s","error":""}`, `{"ExecutionId":"x"}`,
	}
	for _, c := range cases {
		equalToStdlib(t, []byte(c))
	}
}

// FuzzDecodeIndexRecord holds the fast path equal to encoding/json.
func FuzzDecodeIndexRecord(f *testing.F) {
	f.Add(sampleRecord(f))
	f.Add([]byte(`{"status":"RUNNING","progressPercentage":5,"parameters":{"a":[1,{"b":"c"}]}}`))
	f.Add([]byte(`{"Status":"x","createdAt":"2026-01-01T00:00:00Z"}`))
	f.Fuzz(func(t *testing.T, b []byte) { equalToStdlib(t, b) })
}

func BenchmarkDecodeIndexRecord(b *testing.B) {
	rec := sampleRecord(b)
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var r indexRecord
			if err := decodeIndexRecord(rec, &r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var r indexRecord
			if err := json.Unmarshal(rec, &r); err != nil {
				b.Fatal(err)
			}
		}
	})
}
