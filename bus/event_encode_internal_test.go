package bus

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/jetjobs/jetjobs/internal/fastjson"
	"github.com/jetjobs/jetjobs/jobs"
)

// The hand-written event encoder writes what encoding/json writes.
func TestAppendEventData(t *testing.T) {
	t.Parallel()
	errText, progress := "failed: <x>", 0
	cases := map[string]*jobs.EventData{
		"every field": filled[jobs.EventData](t, "Data"),
		"started": {EventType: jobs.EventStarted, ExecutionID: "e", JobType: "j", Success: true,
			Status: jobs.StatusStarted, Timestamp: time.Now()},
		"failed": {EventType: jobs.EventFailed, ExecutionID: "e", JobType: "j", Status: jobs.StatusFailed,
			Error: &errText, ProgressPercentage: &progress, Data: map[string]any{}},
		"empty": {},
	}
	for name, d := range cases {
		want, err := json.Marshal(d)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, ok := appendEventData([]byte("x"), d)
		if !ok || string(got[1:]) != string(want) {
			t.Errorf("%s: %v\n got %s\nwant %s", name, ok, got[1:], want)
		}
	}
	for name, d := range map[string]*jobs.EventData{
		"data":       {Data: map[string]any{"a": 1}},
		"year 10000": {Timestamp: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		if got, ok := appendEventData([]byte("x"), d); ok || string(got) != "x" {
			t.Errorf("%s: %s %v, want the general encoder", name, got, ok)
		}
	}
}

func FuzzAppendEventData(f *testing.F) {
	f.Add("JOB_STARTED", "e", "msg", "err", "k", "v", int64(0), true)
	f.Add("<>&", "\u2028", "\xff\x00", "", "", "", int64(-7), false)
	f.Fuzz(func(t *testing.T, typ, id, msg, errText, k, v string, ns int64, success bool) {
		d := &jobs.EventData{EventType: typ, ExecutionID: id, Message: msg, Error: &errText, Success: success,
			Metadata: map[string]string{k: v}, Timestamp: time.Unix(0, ns).In(time.FixedZone("Z", 3600))}
		want, err := json.Marshal(d)
		got, ok := appendEventData(nil, d)
		if ok != (err == nil) || ok && string(got) != string(want) {
			t.Fatalf("got %s %v, want %s %v", got, ok, want, err)
		}
	})
}

func BenchmarkEventDataEncode(b *testing.B) {
	d := &jobs.EventData{EventType: jobs.EventCompleted, ExecutionID: "01JF3W7J6Q8Y2H9K4M5N6P7R8S", JobType: "noop",
		Success: true, Status: jobs.StatusCompleted, Timestamp: time.Now(), Message: "ok"}
	b.Run("hand", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			buf, _ = appendEventData(buf[:0], d)
		}
	})
	b.Run("fastjson", func(b *testing.B) {
		b.ReportAllocs()
		var w fastjson.Writer
		for b.Loop() {
			if _, err := w.Encode(d, d.Data); err != nil {
				b.Fatal(err)
			}
		}
	})
}
