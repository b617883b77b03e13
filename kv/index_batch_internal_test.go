package kv

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetjobs/jetjobs/jobs"
)

// fakeEntry is one update of a watch.
type fakeEntry struct {
	key string
	val []byte
	op  jetstream.KeyValueOp
}

func (e fakeEntry) Bucket() string                  { return "B" }
func (e fakeEntry) Key() string                     { return e.key }
func (e fakeEntry) Value() []byte                   { return e.val }
func (e fakeEntry) Revision() uint64                { return 1 }
func (e fakeEntry) Created() time.Time              { return time.Time{} }
func (e fakeEntry) Delta() uint64                   { return 0 }
func (e fakeEntry) Operation() jetstream.KeyValueOp { return e.op }

var _ jetstream.KeyValueEntry = fakeEntry{}

func put(key, job, id string, st jobs.Status, sec int) fakeEntry {
	at := time.Date(2026, 1, 1, 0, 0, sec, 0, time.UTC).Format(time.RFC3339Nano)
	return fakeEntry{key: key, op: jetstream.KeyValuePut, val: []byte(`{"executionId":"` + id + `","jobType":"` + job +
		`","status":"` + string(st) + `","createdAt":"` + at + `","updatedAt":"` + at + `"}`)}
}

// TestIndexBatchIsEntryByEntry: a batch leaves the index as applying its
// updates one by one would.
func TestIndexBatchIsEntryByEntry(t *testing.T) {
	t.Parallel()
	x := NewExecutionIndexLoaded()
	b := &indexBatch{last: map[string]struct{}{}}
	for _, e := range []fakeEntry{
		put("a.1", "a", "1", jobs.StatusStarted, 1),
		put("a.1", "a", "1", jobs.StatusRunning, 2),
		put("a.1", "a", "1", jobs.StatusCompleted, 3), // the newest of a.1
		put("a.2", "a", "2", jobs.StatusRunning, 4),
		{key: "a.2", op: jetstream.KeyValueDelete}, // a.2 is gone
		put("a.3", "a", "3", jobs.StatusRunning, 5),
		{key: "a.3", op: jetstream.KeyValuePut, val: []byte(`{not json`)}, // ignored: a.3 stays RUNNING
		put("a.4", "a", "4", jobs.StatusFailed, 6),
		put("a.4", "a", "4", "NOT_A_STATUS", 7), // ignored: a.4 stays FAILED
	} {
		b.add(e)
	}
	x.applyBatch(b)
	want := map[string]jobs.Status{"1": jobs.StatusCompleted, "3": jobs.StatusRunning, "4": jobs.StatusFailed}
	if x.Len() != len(want) {
		t.Fatalf("Len = %d, want %d", x.Len(), len(want))
	}
	for id, st := range want {
		s, ok := x.Lookup("a", id)
		if !ok || s.Status != st {
			t.Errorf("a.%s = %v %v, want %v", id, s.Status, ok, st)
		}
	}
	if len(b.entries) != 0 {
		t.Errorf("the batch kept %d entries", len(b.entries))
	}
	// A later batch that deletes a.1 removes what the first one put.
	b.add(fakeEntry{key: "a.1", op: jetstream.KeyValuePurge})
	x.applyBatch(b)
	if _, ok := x.Lookup("a", "1"); ok || x.Len() != 2 {
		t.Errorf("after the purge: Len = %d, a.1 present %v", x.Len(), ok)
	}
}
