package kv

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/jobs"
)

// equalLiveToStdlib checks decodeLiveRecord against json.Unmarshal.
func equalLiveToStdlib(t *testing.T, b []byte) {
	t.Helper()
	var want, got liveRecord
	wantErr := json.Unmarshal(b, &want)
	gotErr := decodeLiveRecord(b, &got)
	if (wantErr == nil) != (gotErr == nil) {
		t.Fatalf("%q: error %v, encoding/json %v", b, gotErr, wantErr)
	}
	if wantErr == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("%q:\n got %+v\nwant %+v", b, got, want)
	}
}

func TestDecodeLiveRecordIsEncodingJSON(t *testing.T) {
	t.Parallel()
	rec := sampleRecord(t)
	var r liveRecord
	if !fastLiveRecord(rec, &r) {
		t.Fatalf("the engine's own record took the slow path: %s", rec)
	}
	if r.ExecutionID == "" || r.Status != jobs.StatusCompleted || r.Deadline.IsZero() {
		t.Fatalf("read %+v", r)
	}
	cases := []string{
		string(rec),
		`{}`, `null`, `[]`, `{"status":"RUNNING","pending":true}`, `{"pending":false}`, `{"pending":true,"pending":false}`,
		`{"pending":null}`, `{"pending":1}`, `{"pending":"true"}`, `{"Pending":true}`, `{"PENDING":true,"pending":false}`,
		`{"pending":tru}`, `{"deadline":"2026-01-01T00:00:00Z"}`, `{"deadline":"2026-01-01T00:00:00.123+02:00"}`,
		`{"deadline":"soon"}`, `{"deadline":null}`, `{"deadline":0}`, `{"Deadline":"2026-01-01T00:00:00Z"}`,
		`{"deadline":"2026-01-01T00:00:00Z","deadline":"2027-01-01T00:00:00Z"}`, `{"de\u0061dline":"2026-01-01T00:00:00Z"}`,
		`{"executionId":"e\u0031","status":"RUN\u004eING"}`, `{"executionId":1}`, `{"executionId":"` + "\xff" + `"}`,
		`{"status":"RUNNING",}`, `{"status":"RUNNING"} x`, `{"ſtatus":"FAILED"}`, `{"parameters":{"a":[1,{"pending":true}]}}`,
	}
	for _, c := range cases {
		equalLiveToStdlib(t, []byte(c))
	}
}

// FuzzDecodeLiveRecord holds the fast path equal to encoding/json.
func FuzzDecodeLiveRecord(f *testing.F) {
	f.Add(sampleRecord(f))
	f.Add([]byte(`{"status":"RUNNING","pending":true,"deadline":"2026-01-01T00:00:00Z","parameters":{"a":[1]}}`))
	f.Add([]byte(`{"Pending":false,"deadline":null}`))
	f.Fuzz(func(t *testing.T, b []byte) { equalLiveToStdlib(t, b) })
}

// TestLiveSummary: the lean listing passes on each live record's id,
// status, claim flag and deadline as they were when it was listed,
// leaves out ended and deleted records, and is not upset by records
// that change or go while fn runs.
func TestLiveSummary(t *testing.T) {
	t.Parallel()
	srv, err := bus.StartEmbedded(bus.EmbeddedConfig{Port: -1, StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	nc, js, err := bus.Connect(bus.ConnConfig{URL: srv.ClientURL()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	ctx := t.Context()
	s, err := NewStateStore(ctx, js, StateConfig{Bucket: "LIVE_SUMMARY_TEST"})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	create := func(job, id string, st jobs.Status, deadline time.Time, pending bool) uint64 {
		t.Helper()
		rev, err := s.Create(ctx, &jobs.Execution{JobType: job, ExecutionID: id, Status: st, CreatedAt: at, UpdatedAt: at,
			Deadline: deadline, Pending: pending, Parameters: map[string]any{"p": "x"}})
		if err != nil {
			t.Fatal(err)
		}
		return rev
	}
	east := time.FixedZone("", 2*3600)
	want := []jobs.LiveSummary{
		{ExecutionID: "r1", Status: jobs.StatusRunning, Deadline: at.Add(time.Hour)},
		{ExecutionID: "claim", Status: jobs.StatusStarted, Pending: true, Deadline: at.Add(2 * time.Hour)},
		{ExecutionID: "r2", Status: jobs.StatusStarted, Deadline: at.Add(90 * time.Minute).In(east)},
		{ExecutionID: "r3", Status: jobs.StatusRunning, Deadline: at.Add(3 * time.Hour)},
		{ExecutionID: "r4", Status: jobs.StatusRunning, Deadline: at.Add(4 * time.Hour)},
	}
	for _, w := range want {
		create("j", w.ExecutionID, w.Status, w.Deadline, w.Pending)
	}
	create("j", "done", jobs.StatusCompleted, at, false)
	create("other", "o1", jobs.StatusRunning, at, false) // another job type
	rev := create("j", "gone", jobs.StatusRunning, at, false)
	if err := s.Delete(ctx, "j", "gone", rev); err != nil {
		t.Fatal(err)
	}
	e, rev, err := s.Get(ctx, "j", "r1")
	if err != nil {
		t.Fatal(err)
	}
	e.Status = jobs.StatusCompleted // r1 ends before the listing, and another one starts
	if _, err := s.Update(ctx, e, rev); err != nil {
		t.Fatal(err)
	}
	want = want[1:]
	create("j", "r1-again", jobs.StatusRunning, at.Add(5*time.Hour), false)
	want = append(want, jobs.LiveSummary{ExecutionID: "r1-again", Status: jobs.StatusRunning, Deadline: at.Add(5 * time.Hour)})

	// While fn looks at the claim, r3 ends and r4 goes: both are passed on
	// as listed (the reconciler reads a record again before it acts).
	var seen []jobs.LiveSummary
	err = s.LiveSummary(ctx, "j", func(sum jobs.LiveSummary) error {
		seen = append(seen, sum)
		if sum.ExecutionID != "claim" {
			return nil
		}
		return endAndDelete(ctx, s, "j", "r3", "r4")
	})
	if err != nil {
		t.Fatal(err)
	}
	byID := func(a, b jobs.LiveSummary) int {
		switch {
		case a.ExecutionID < b.ExecutionID:
			return -1
		case a.ExecutionID > b.ExecutionID:
			return 1
		}
		return 0
	}
	slices.SortFunc(seen, byID)
	slices.SortFunc(want, byID)
	if len(seen) != len(want) {
		t.Fatalf("seen %+v\nwant %+v", seen, want)
	}
	for i := range want {
		g, w := seen[i], want[i]
		if g.ExecutionID != w.ExecutionID || g.Status != w.Status || g.Pending != w.Pending || !g.Deadline.Equal(w.Deadline) {
			t.Errorf("seen %+v, want %+v", g, w)
		}
	}
	// The next listing sees the world as it is now; an error of fn stops it.
	stop := errors.New("stop")
	var n int
	err = s.LiveSummary(ctx, "j", func(sum jobs.LiveSummary) error {
		if sum.ExecutionID == "r3" || sum.ExecutionID == "r4" {
			t.Errorf("%s passed on after it ended or went", sum.ExecutionID)
		}
		n++
		return stop
	})
	if !errors.Is(err, stop) || n != 1 {
		t.Errorf("fn's error: %v after %d calls, want stop after 1", err, n)
	}
}

// BenchmarkDecodeLiveRecord: what the lean listing reads of a record,
// against encoding/json into the same four fields and into the whole
// record (what Live did for each live one).
func BenchmarkDecodeLiveRecord(b *testing.B) {
	rec := sampleRecord(b)
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var r liveRecord
			if err := decodeLiveRecord(rec, &r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var r liveRecord
			if err := json.Unmarshal(rec, &r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("whole-record", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var e jobs.Execution
			if err := json.Unmarshal(rec, &e); err != nil {
				b.Fatal(err)
			}
		}
	})
}
