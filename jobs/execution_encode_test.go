package jobs_test

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/jetjobs/jetjobs/internal/fastjson"
	"github.com/jetjobs/jetjobs/jobs"
	"github.com/jetjobs/jetjobs/jobs/jobstest"
)

// everyField is a record with every field set (by reflection, so that a
// field added to Execution and not to AppendJSON fails the test).
func everyField(t *testing.T) *jobs.Execution {
	t.Helper()
	e := jobstest.FullExecution("imp", "e-1")
	v := reflect.ValueOf(e).Elem()
	for i := range v.NumField() {
		f, sf := v.Field(i), v.Type().Field(i)
		if !f.IsZero() {
			continue
		}
		switch f.Kind() {
		case reflect.String:
			f.SetString("<" + sf.Name + ">")
		case reflect.Int:
			f.SetInt(int64(i))
		case reflect.Bool:
			f.SetBool(true)
		default:
			t.Fatalf("field %s is zero in FullExecution and of kind %s: teach AppendJSON and this test", sf.Name, f.Kind())
		}
	}
	return e
}

// AppendJSON writes what encoding/json writes.
func TestExecutionAppendJSON(t *testing.T) {
	t.Parallel()
	now := time.Now()
	cases := map[string]*jobs.Execution{
		"every field": everyField(t),
		"burn-down": {ExecutionID: "01JF3W7J6Q8Y2H9K4M5N6P7R8S", JobType: "noop", Mode: "async", Status: jobs.StatusCompleted,
			LastStage: jobs.StageStart, Parameters: map[string]any{"pad": "xx"}, ProgressPercentage: 100, Message: "ok",
			CommandID: "c", Attempts: 1, CreatedAt: now, UpdatedAt: now, EndedAt: &now, Deadline: now.Add(time.Hour)},
		"tricky parameters": {Parameters: map[string]any{"html": "<b>&</b>", "sep": "\u2028", "bad": "\xff", "n": 1e21,
			"small": 1e-7, "negZero": math.Copysign(0, -1), "list": []any{}, "nested": map[string]any{"z": nil, "a": true}}},
		"empty": {},
	}
	for name, e := range cases {
		want, err := json.Marshal(e)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, ok := e.AppendJSON([]byte("x"))
		if !ok || string(got[1:]) != string(want) {
			t.Errorf("%s: %v\n got %s\nwant %s", name, ok, got[1:], want)
		}
	}
	type own struct{ A int }
	for name, e := range map[string]*jobs.Execution{
		"a job's own type": {Parameters: map[string]any{"o": own{1}}},
		"a json.Number":    {Parameters: map[string]any{"n": json.Number("12.50")}},
		"year 10000":       {Deadline: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		if got, ok := e.AppendJSON([]byte("x")); ok || string(got) != "x" {
			t.Errorf("%s: %s %v, want the general encoder", name, got, ok)
		}
	}
}

// Result.AppendJSON writes what encoding/json writes.
func TestResultAppendJSON(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 27, 3, 4, 5, 6000, time.FixedZone("X", -5*3600))
	full := &jobs.Result{}
	v := reflect.ValueOf(full).Elem()
	for i := range v.NumField() {
		f, sf := v.Field(i), v.Type().Field(i)
		switch x := f.Addr().Interface().(type) {
		case *any:
			*x = []any{"<raw>", 1.5, map[string]any{"k": nil}}
		case *map[string]any:
			*x = map[string]any{"z": "\u2028", "a": []any{}}
		case *map[string]string:
			*x = map[string]string{"b": "&", "a": ""}
		case *time.Time:
			*x = at
		case *int64:
			*x = 12345
		default:
			if f.Kind() != reflect.String {
				t.Fatalf("field %s of kind %s: teach Result.AppendJSON and this test", sf.Name, f.Kind())
			}
			f.SetString("<" + sf.Name + ">")
		}
	}
	cases := map[string]*jobs.Result{
		"every field": full,
		"sync":        {ExecutionID: "e", JobType: "j", Status: jobs.StatusCompleted, CompletedAt: time.Now(), RawOutput: "", TransformedOutput: map[string]any{}},
		"empty":       {},
	}
	for name, r := range cases {
		want, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, ok := r.AppendJSON([]byte("x"))
		if !ok || string(got[1:]) != string(want) {
			t.Errorf("%s: %v\n got %s\nwant %s", name, ok, got[1:], want)
		}
	}
	type own struct{ A int }
	for name, r := range map[string]*jobs.Result{
		"own raw output":         {RawOutput: own{1}},
		"own transformed output": {TransformedOutput: map[string]any{"o": own{1}}},
		"year 10000":             {CompletedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		if got, ok := r.AppendJSON([]byte("x")); ok || string(got) != "x" {
			t.Errorf("%s: %s %v, want the general encoder", name, got, ok)
		}
	}
}

func BenchmarkExecutionEncode(b *testing.B) {
	now := time.Now()
	e := &jobs.Execution{ExecutionID: "01JF3W7J6Q8Y2H9K4M5N6P7R8S", JobType: "noop", Mode: "async", Status: jobs.StatusCompleted,
		LastStage: jobs.StageStart, Parameters: map[string]any{"pad": "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"},
		ProgressPercentage: 100, Message: "ok", CommandID: "01JF3W7J6Q8Y2H9K4M5N6P7R8S", Attempts: 1,
		CreatedAt: now, UpdatedAt: now, EndedAt: &now, Deadline: now.Add(time.Hour)}
	b.Run("hand", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			buf, _ = e.AppendJSON(buf[:0])
		}
	})
	b.Run("fastjson", func(b *testing.B) {
		b.ReportAllocs()
		var w fastjson.Writer
		for b.Loop() {
			if _, err := w.Encode(e, e.Parameters); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkResultEncode(b *testing.B) {
	r := &jobs.Result{ExecutionID: "01JF3W7J6Q8Y2H9K4M5N6P7R8S", JobType: "echo", Status: jobs.StatusCompleted, Message: "ok",
		TransformedOutput: map[string]any{"pad": "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}, CompletedAt: time.Now()}
	b.Run("hand", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			buf, _ = r.AppendJSON(buf[:0])
		}
	})
	b.Run("fastjson", func(b *testing.B) {
		b.ReportAllocs()
		var w fastjson.Writer
		for b.Loop() {
			if _, err := w.Encode(r, r.RawOutput, r.TransformedOutput); err != nil {
				b.Fatal(err)
			}
		}
	})
}
