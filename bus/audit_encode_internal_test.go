package bus

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/jetjobs/jetjobs/internal/fastjson"
	"github.com/jetjobs/jetjobs/jobs"
)

func auditCases() map[string][]*jobs.AuditEntry {
	at := time.Date(2026, 11, 27, 3, 4, 5, 6000, time.FixedZone("X", -5*3600))
	return map[string][]*jobs.AuditEntry{
		"start and result": {
			{ExecutionID: "e", JobType: "j", Stage: jobs.StageStart, Status: jobs.StatusCompleted, Outcome: "success",
				StartedAt: at, EndedAt: at.Add(1234567 * time.Nanosecond), DurationMs: 1.234, Attempt: 1},
			{ExecutionID: "e", JobType: "j", Stage: jobs.StageResult, Status: jobs.StatusCompleted, Outcome: "success",
				StartedAt: time.Now(), EndedAt: time.Now(), Attempt: 1},
		},
		"every field": {{ExecutionID: "e<1>", JobType: "j&k", Stage: jobs.StageCheck, Status: jobs.StatusFailed,
			Outcome: "failure", StartedAt: at, EndedAt: at, DurationMs: 1e-7, Attempt: 3, Message: "m\u2028\n",
			Error: "it failed: <bad> \"x\" \xff", ErrorType: jobs.CodeInternal, StackTrace: "goroutine 1\n\tmain.go:1",
			RequestID: "r", Initiator: "i", Metadata: map[string]string{"b": "2", "a": "<1>", "é": "\t", "": ""},
			SagaID: "s"}},
		"empty":       {{}},
		"filled":      {nil}, // every field: set in the test (filled)
		"nil entry":   {nil, {ExecutionID: "e"}},
		"many metas":  {{Metadata: map[string]string{"k1": "1", "k2": "2", "k3": "3", "k4": "4", "k5": "5", "k6": "6", "k7": "7", "k8": "8", "k9": "9", "k10": "10"}}},
		"big numbers": {{Attempt: math.MaxInt64, DurationMs: 1e21}, {Attempt: -1, DurationMs: math.Copysign(0, -1)}},
	}
}

// The hand-written audit encoder writes what encoding/json writes.
func TestAppendAuditEntries(t *testing.T) {
	t.Parallel()
	for name, entries := range auditCases() {
		if name == "filled" {
			e := filled[jobs.AuditEntry](t, "Parameters")
			e.Parameters = map[string]any{"pad": "<x>", "n": 1.5, "l": []any{nil, true}, "m": map[string]any{}}
			entries = []*jobs.AuditEntry{e}
		}
		want, err := json.Marshal(entries)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, ok := appendAuditEntries([]byte("x"), entries)
		if !ok || string(got[1:]) != string(want) {
			t.Errorf("%s: %v\n got %s\nwant %s", name, ok, got[1:], want)
		}
	}
	for name, e := range map[string]*jobs.AuditEntry{
		"own parameters": {Parameters: map[string]any{"a": struct{ A int }{1}}},
		"year 10000":     {StartedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
		"NaN":            {DurationMs: math.NaN()},
	} {
		if got, ok := appendAuditEntries([]byte("x"), []*jobs.AuditEntry{{}, e}); ok || string(got) != "x" {
			t.Errorf("%s: %s %v, want the general encoder", name, got, ok)
		}
	}
}

func FuzzAppendAuditEntry(f *testing.F) {
	f.Add("e", "j", "msg", "err", "k", "v", int64(0), 1.5)
	f.Add("<>&", "\u2028", "\xff\x00", "", "", "", int64(-7), 1e-9)
	f.Fuzz(func(t *testing.T, id, job, msg, errText, k, v string, ns int64, ms float64) {
		at := time.Unix(0, ns)
		entries := []*jobs.AuditEntry{{ExecutionID: id, JobType: job, Message: msg, Error: errText,
			Metadata: map[string]string{k: v}, StartedAt: at, EndedAt: at.In(time.FixedZone("Z", 3600)), DurationMs: ms}}
		want, err := json.Marshal(entries)
		got, ok := appendAuditEntries(nil, entries)
		if ok != (err == nil) || ok && string(got) != string(want) {
			t.Fatalf("got %s %v, want %s %v", got, ok, want, err)
		}
	})
}

func BenchmarkAuditEncode(b *testing.B) {
	// As a START that completed at once writes them: times of this second,
	// the parameters (persist-input-parameters) of the burn-down's job.
	now := time.Now()
	params := map[string]any{"pad": "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}
	entries := []*jobs.AuditEntry{
		{ExecutionID: "01JF3W7J6Q8Y2H9K4M5N6P7R8S", JobType: "noop", Stage: jobs.StageStart, Status: jobs.StatusCompleted,
			Outcome: "success", StartedAt: now, EndedAt: now.Add(12345), DurationMs: 0.012, Attempt: 1, Parameters: params},
		{ExecutionID: "01JF3W7J6Q8Y2H9K4M5N6P7R8S", JobType: "noop", Stage: jobs.StageResult, Status: jobs.StatusCompleted,
			Outcome: "success", StartedAt: now.Add(23456), EndedAt: now.Add(34567), DurationMs: 0.011, Attempt: 1, Parameters: params},
	}
	b.Run("hand", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			buf, _ = appendAuditEntries(buf[:0], entries)
		}
	})
	b.Run("fastjson", func(b *testing.B) {
		b.ReportAllocs()
		var w fastjson.Writer
		for b.Loop() {
			if _, err := w.Encode(entries, auditUserData(entries)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// filled sets every exported field of the struct *p to a value that is not
// empty (but for the user-data maps skip names, which the hand encoders
// leave to the general one), so that a field added to the struct and not
// to its hand encoder fails the tests.
func filled[T any](t *testing.T, skip ...string) *T {
	t.Helper()
	p := new(T)
	v := reflect.ValueOf(p).Elem()
	at := time.Date(2026, 11, 27, 3, 4, 5, 6000, time.FixedZone("X", -5*3600))
	for i := range v.NumField() {
		f, sf := v.Field(i), v.Type().Field(i)
		if !sf.IsExported() || sf.Tag.Get("json") == "-" || slicesContains(skip, sf.Name) {
			continue
		}
		switch x := f.Addr().Interface().(type) {
		case *time.Time:
			*x = at
		case **time.Time:
			*x = &at
		case **int:
			n := 42
			*x = &n
		case **string:
			s := "<p> " + sf.Name
			*x = &s
		case *map[string]string:
			*x = map[string]string{"z": "1", "a": "&", sf.Name: "\u2028"}
		default:
			switch f.Kind() {
			case reflect.String:
				f.SetString("v\"" + sf.Name + "\n")
			case reflect.Int:
				f.SetInt(int64(i + 1))
			case reflect.Float64:
				f.SetFloat(float64(i) + 0.125)
			case reflect.Bool:
				f.SetBool(true)
			default:
				t.Fatalf("field %s of %T: kind %s not filled: teach the hand encoder and this test", sf.Name, p, f.Kind())
			}
		}
	}
	return p
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
