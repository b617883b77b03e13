package kv

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/jetjobs/jetjobs/jobs"
)

// appendStored writes what encoding/json writes of stored{Result: r}.
func TestAppendStored(t *testing.T) {
	t.Parallel()
	r := &jobs.Result{ExecutionID: "e", JobType: "j", Status: jobs.StatusCompleted, Message: "<ok>",
		TransformedOutput: map[string]any{"n": 1.0}, CompletedAt: time.Now(), SizeBytes: 42}
	want, err := json.Marshal(&stored{Result: r})
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := appendStored([]byte("x"), r); !ok || string(got[1:]) != string(want) {
		t.Fatalf("%v\n got %s\nwant %s", ok, got[1:], want)
	}
	type own struct{ A int }
	if got, ok := appendStored([]byte("x"), &jobs.Result{RawOutput: own{1}}); ok || string(got) != "x" {
		t.Fatalf("got %s %v, want the general encoder", got, ok)
	}
}
