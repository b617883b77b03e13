package jobstest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/jetjobs/jetjobs/jobs"
)

// StateStoreConformance checks that a jobs.StateStore keeps the contract the
// runtime relies on (docs/architecture.md: every transition is a
// compare-and-set on the record's revision):
//
//   - Get of a missing record fails with an error matching jobs.ErrNotFound;
//   - Create then Get round-trips every field of jobs.Execution;
//   - a second Create of the same record fails with jobs.ErrAlreadyExists
//     (which also matches jobs.ErrConflict) and changes nothing;
//   - Update at the current revision succeeds and returns a higher one;
//     at any other revision it fails with jobs.ErrRevisionConflict;
//   - of concurrent writers at the same revision exactly one wins;
//   - records are keyed by job type and execution id together.
//
// A store returns the sentinels themselves, wrapped or not:
// errors.Is(err, jobs.ErrAlreadyExists) holds only for that very value.
//
// newStore is called once per subtest, from parallel subtests, and must
// return an empty store; it may use t for set-up, t.Cleanup and t.Skip.
// Parameters are compared as JSON decodes them, so a store may round-trip
// records through JSON; times are compared as instants (time zone and
// monotonic reading are not kept).
func StateStoreConformance(t *testing.T, newStore func(t *testing.T) jobs.StateStore) {
	t.Helper()
	tests := []struct {
		name string
		run  func(t *testing.T, s jobs.StateStore)
	}{
		{"GetMissing", testGetMissing},
		{"CreateGetRoundTrip", testCreateGetRoundTrip},
		{"MinimalRecordRoundTrip", testMinimalRecordRoundTrip},
		{"RecordsAreCopies", testRecordsAreCopies},
		{"CreateTwice", testCreateTwice},
		{"ConcurrentCreate", testConcurrentCreate},
		{"UpdateAtCurrentRevision", testUpdateAtCurrentRevision},
		{"UpdateStaleRevision", testUpdateStaleRevision},
		{"UpdateUnknownRevision", testUpdateUnknownRevision},
		{"UpdateMissing", testUpdateMissing},
		{"ConcurrentUpdate", testConcurrentUpdate},
		{"JobTypesAreSeparate", testJobTypesAreSeparate},
		{"DeleteAtRevision", testDeleteAtRevision},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.run(t, newStore(t))
		})
	}
}

// FullExecution returns a record with every field of jobs.Execution set to
// a value that survives a JSON round trip; times carry nanoseconds and a
// time zone.
func FullExecution(jobType, executionID string) *jobs.Execution {
	cet := time.FixedZone("CET", 3600)
	created := time.Date(2026, 1, 2, 3, 4, 5, 123456789, cet)
	ended := created.Add(90*time.Second + 1)
	return &jobs.Execution{
		ExecutionID: executionID,
		JobType:     jobType,
		Mode:        "async",
		Status:      jobs.StatusFailed,
		LastStage:   jobs.StageCheck,
		Parameters: map[string]any{
			"datasetId": "ds-1",
			"limit":     float64(1000),
			"ratio":     0.25,
			"dryRun":    true,
			"password":  jobs.Mask,
			"tags":      []any{"a", float64(2), false, nil},
			"target":    map[string]any{"bucket": "b", "prefix": []any{"x/"}, "nested": map[string]any{}},
			"unicode":   "żółw ☃ \u2028 \"quoted\" <html>",
		},
		ProgressPercentage: 42,
		Message:            "halfway there",
		Error:              "upstream said no",
		RequestID:          "req-1",
		Initiator:          "alice@example.com",
		Metadata:           map[string]string{"team": "data", "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
		SagaID:             "saga-1",
		CommandID:          "cmd-1",
		Attempts:           3,
		Checks:             7,
		CreatedAt:          created,
		UpdatedAt:          time.Now(), // local zone, with a monotonic reading
		EndedAt:            &ended,
		Deadline:           created.Add(24 * time.Hour).UTC(),
		TerminalEventSent:  true,
		Pending:            true,
	}
}

// normalize returns a copy of e with every time in UTC and without a
// monotonic reading, so that reflect.DeepEqual compares instants.
func normalize(e *jobs.Execution) *jobs.Execution {
	if e == nil {
		return nil
	}
	c := *e
	c.CreatedAt, c.UpdatedAt, c.Deadline = c.CreatedAt.UTC(), c.UpdatedAt.UTC(), c.Deadline.UTC()
	if c.EndedAt != nil {
		ended := c.EndedAt.UTC()
		c.EndedAt = &ended
	}
	return &c
}

func assertSame(t *testing.T, what string, got, want *jobs.Execution) {
	t.Helper()
	if g, w := normalize(got), normalize(want); !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\n got %#v\nwant %#v", what, g, w)
	}
}

func mustCreate(t *testing.T, s jobs.StateStore, e *jobs.Execution) uint64 {
	t.Helper()
	rev, err := s.Create(t.Context(), e)
	if err != nil {
		t.Fatalf("Create %s.%s: %v", e.JobType, e.ExecutionID, err)
	}
	if rev == 0 {
		t.Fatalf("Create %s.%s returned revision 0", e.JobType, e.ExecutionID)
	}
	return rev
}

func mustGet(t *testing.T, s jobs.StateStore, jobType, id string) (*jobs.Execution, uint64) {
	t.Helper()
	e, rev, err := s.Get(t.Context(), jobType, id)
	if err != nil {
		t.Fatalf("Get %s.%s: %v", jobType, id, err)
	}
	if e == nil {
		t.Fatalf("Get %s.%s returned a nil record and no error", jobType, id)
	}
	return e, rev
}

// wantErr fails unless err matches is and none of isNot.
func wantErr(t *testing.T, op string, err error, is error, isNot ...error) {
	t.Helper()
	if err == nil {
		t.Errorf("%s succeeded, want an error matching %v", op, is)
		return
	}
	if !errors.Is(err, is) {
		t.Errorf("%s: error %q (%T) does not match %v", op, err, err, is)
	}
	for _, n := range isNot {
		if errors.Is(err, n) {
			t.Errorf("%s: error %q matches %v, which it must not", op, err, n)
		}
	}
}

func testGetMissing(t *testing.T, s jobs.StateStore) {
	e, rev, err := s.Get(t.Context(), "conf-a", "missing")
	wantErr(t, "Get of a missing record", err, jobs.ErrNotFound, jobs.ErrConflict)
	if e != nil || rev != 0 {
		t.Errorf("Get of a missing record = %+v, %d; want nil, 0", e, rev)
	}
	// A neighbour does not make it exist.
	mustCreate(t, s, &jobs.Execution{JobType: "conf-a", ExecutionID: "present", Status: jobs.StatusStarted})
	_, _, err = s.Get(t.Context(), "conf-a", "missing")
	wantErr(t, "Get of a missing record next to another", err, jobs.ErrNotFound)
	_, _, err = s.Get(t.Context(), "conf-b", "present")
	wantErr(t, "Get of an id known only in another job type", err, jobs.ErrNotFound)
}

func testCreateGetRoundTrip(t *testing.T, s jobs.StateStore) {
	want := FullExecution("conf-a", "full-1")
	v := reflect.ValueOf(*want)
	for i := range v.NumField() {
		if v.Field(i).IsZero() {
			t.Fatalf("FullExecution leaves Execution.%s zero: give it a value so the round trip covers it",
				v.Type().Field(i).Name)
		}
	}
	rev := mustCreate(t, s, want)
	got, gotRev := mustGet(t, s, "conf-a", "full-1")
	if gotRev != rev {
		t.Errorf("Get revision = %d, Create returned %d", gotRev, rev)
	}
	assertSame(t, "Get after Create", got, want)
	if !got.CreatedAt.Equal(want.CreatedAt) || !got.UpdatedAt.Equal(want.UpdatedAt) ||
		!got.Deadline.Equal(want.Deadline) || !got.EndedAt.Equal(*want.EndedAt) {
		t.Errorf("times changed: got %v %v %v %v", got.CreatedAt, got.UpdatedAt, got.Deadline, got.EndedAt)
	}
}

func testMinimalRecordRoundTrip(t *testing.T, s jobs.StateStore) {
	want := &jobs.Execution{ExecutionID: "min-1", JobType: "conf-a", Mode: "sync", Status: jobs.StatusCompleted}
	rev := mustCreate(t, s, want)
	got, gotRev := mustGet(t, s, "conf-a", "min-1")
	if gotRev != rev {
		t.Errorf("Get revision = %d, Create returned %d", gotRev, rev)
	}
	assertSame(t, "Get after Create of a minimal record", got, want)
	if got.EndedAt != nil || got.Parameters != nil || got.Metadata != nil {
		t.Errorf("absent fields came back set: EndedAt=%v Parameters=%v Metadata=%v", got.EndedAt, got.Parameters, got.Metadata)
	}
}

func testRecordsAreCopies(t *testing.T, s jobs.StateStore) {
	in := FullExecution("conf-a", "copy-1")
	want := normalize(FullExecution("conf-a", "copy-1"))
	want.UpdatedAt = in.UpdatedAt.UTC()
	mustCreate(t, s, in)
	// Changing what was stored, or what Get returned, changes nothing stored.
	in.Status, in.Message = jobs.StatusRunning, "changed after Create"
	in.Parameters["datasetId"] = "changed"
	in.Metadata["team"] = "changed"
	got, _ := mustGet(t, s, "conf-a", "copy-1")
	assertSame(t, "Get after changing the created record", got, want)
	got.Message = "changed after Get"
	got.Parameters["target"].(map[string]any)["bucket"] = "changed"
	again, _ := mustGet(t, s, "conf-a", "copy-1")
	assertSame(t, "Get after changing a returned record", again, want)
}

func testCreateTwice(t *testing.T, s jobs.StateStore) {
	first := FullExecution("conf-a", "twice")
	rev := mustCreate(t, s, first)
	second := FullExecution("conf-a", "twice")
	second.Status, second.Message = jobs.StatusStarted, "second"
	gotRev, err := s.Create(t.Context(), second)
	wantErr(t, "second Create", err, jobs.ErrAlreadyExists, jobs.ErrRevisionConflict, jobs.ErrNotFound)
	wantErr(t, "second Create", err, jobs.ErrConflict)
	if got := jobs.CodeOf(err); got != jobs.CodeConflict {
		t.Errorf("CodeOf(second Create error) = %q, want %q", got, jobs.CodeConflict)
	}
	if gotRev != 0 {
		t.Errorf("failed Create returned revision %d, want 0", gotRev)
	}
	got, getRev := mustGet(t, s, "conf-a", "twice")
	if getRev != rev {
		t.Errorf("revision after a failed Create = %d, want %d", getRev, rev)
	}
	assertSame(t, "record after a failed Create", got, first)
}

func testConcurrentCreate(t *testing.T, s jobs.StateStore) {
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			e := &jobs.Execution{JobType: "conf-a", ExecutionID: "race", Status: jobs.StatusStarted, Message: fmt.Sprint(i)}
			<-start
			_, errs[i] = s.Create(t.Context(), e)
		})
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("Creates %d and %d of the same record both succeeded", winner, i)
		case err == nil:
			winner = i
		default:
			wantErr(t, fmt.Sprintf("losing Create %d", i), err, jobs.ErrAlreadyExists)
		}
	}
	if winner < 0 {
		t.Fatalf("no concurrent Create succeeded: %v", errs)
	}
	got, _ := mustGet(t, s, "conf-a", "race")
	if got.Message != fmt.Sprint(winner) {
		t.Errorf("stored record is from Create %s, the winner was %d", got.Message, winner)
	}
}

func testUpdateAtCurrentRevision(t *testing.T, s jobs.StateStore) {
	e := FullExecution("conf-a", "upd-1")
	e.Status, e.EndedAt, e.TerminalEventSent = jobs.StatusStarted, nil, false
	rev1 := mustCreate(t, s, e)

	e.Status, e.ProgressPercentage, e.Message, e.Checks = jobs.StatusRunning, 60, "running", e.Checks+1
	rev2, err := s.Update(t.Context(), e, rev1)
	if err != nil {
		t.Fatalf("Update at the current revision: %v", err)
	}
	if rev2 <= rev1 {
		t.Errorf("Update returned revision %d, not above %d", rev2, rev1)
	}
	got, gotRev := mustGet(t, s, "conf-a", "upd-1")
	if gotRev != rev2 {
		t.Errorf("Get revision after Update = %d, want %d", gotRev, rev2)
	}
	assertSame(t, "Get after Update", got, e)

	ended := time.Now()
	e.Status, e.EndedAt, e.TerminalEventSent = jobs.StatusCompleted, &ended, true
	rev3, err := s.Update(t.Context(), e, rev2)
	if err != nil {
		t.Fatalf("second Update at the current revision: %v", err)
	}
	if rev3 <= rev2 {
		t.Errorf("second Update returned revision %d, not above %d", rev3, rev2)
	}
	got, gotRev = mustGet(t, s, "conf-a", "upd-1")
	if gotRev != rev3 {
		t.Errorf("Get revision after the second Update = %d, want %d", gotRev, rev3)
	}
	assertSame(t, "Get after the second Update", got, e)
}

func testUpdateStaleRevision(t *testing.T, s jobs.StateStore) {
	e := &jobs.Execution{JobType: "conf-a", ExecutionID: "stale", Status: jobs.StatusStarted}
	rev1 := mustCreate(t, s, e)
	won := *e
	won.Status, won.Message = jobs.StatusRunning, "first writer"
	rev2, err := s.Update(t.Context(), &won, rev1)
	if err != nil {
		t.Fatalf("Update at the current revision: %v", err)
	}
	lost := *e
	lost.Status, lost.Message = jobs.StatusStopped, "stale writer"
	gotRev, err := s.Update(t.Context(), &lost, rev1)
	wantErr(t, "Update at a stale revision", err, jobs.ErrRevisionConflict, jobs.ErrAlreadyExists, jobs.ErrNotFound)
	wantErr(t, "Update at a stale revision", err, jobs.ErrConflict)
	if gotRev != 0 {
		t.Errorf("failed Update returned revision %d, want 0", gotRev)
	}
	got, getRev := mustGet(t, s, "conf-a", "stale")
	if getRev != rev2 {
		t.Errorf("revision after a stale Update = %d, want %d", getRev, rev2)
	}
	assertSame(t, "record after a stale Update", got, &won)
}

func testUpdateUnknownRevision(t *testing.T, s jobs.StateStore) {
	e := &jobs.Execution{JobType: "conf-a", ExecutionID: "future", Status: jobs.StatusStarted}
	rev := mustCreate(t, s, e)
	next := *e
	next.Status = jobs.StatusRunning
	for _, bad := range []uint64{rev + 1, rev + 1000} {
		_, err := s.Update(t.Context(), &next, bad)
		wantErr(t, fmt.Sprintf("Update at revision %d of a record at %d", bad, rev), err,
			jobs.ErrRevisionConflict, jobs.ErrAlreadyExists)
	}
	got, getRev := mustGet(t, s, "conf-a", "future")
	if getRev != rev {
		t.Errorf("revision after failed Updates = %d, want %d", getRev, rev)
	}
	assertSame(t, "record after failed Updates", got, e)
}

func testUpdateMissing(t *testing.T, s jobs.StateStore) {
	// Make the store's revisions move so that revision 1 is a real one.
	mustCreate(t, s, &jobs.Execution{JobType: "conf-a", ExecutionID: "other", Status: jobs.StatusStarted})
	e := &jobs.Execution{JobType: "conf-a", ExecutionID: "never-created", Status: jobs.StatusRunning}
	for _, rev := range []uint64{1, 2} {
		_, err := s.Update(t.Context(), e, rev)
		if err == nil {
			t.Fatalf("Update at revision %d of a record that was never created succeeded", rev)
		}
		if !errors.Is(err, jobs.ErrRevisionConflict) && !errors.Is(err, jobs.ErrNotFound) {
			t.Errorf("Update of a missing record: error %q matches neither ErrRevisionConflict nor ErrNotFound", err)
		}
		if errors.Is(err, jobs.ErrAlreadyExists) {
			t.Errorf("Update of a missing record: error %q matches ErrAlreadyExists", err)
		}
	}
	_, _, err := s.Get(t.Context(), "conf-a", "never-created")
	wantErr(t, "Get after a failed Update of a missing record", err, jobs.ErrNotFound)
}

func testConcurrentUpdate(t *testing.T, s jobs.StateStore) {
	base := &jobs.Execution{JobType: "conf-a", ExecutionID: "cas", Status: jobs.StatusRunning}
	rev := mustCreate(t, s, base)
	const n = 8
	revs := make([]uint64, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			e := *base
			e.Status, e.Message = jobs.StatusCompleted, fmt.Sprint(i)
			<-start
			revs[i], errs[i] = s.Update(t.Context(), &e, rev)
		})
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("Updates %d and %d at the same revision both succeeded", winner, i)
		case err == nil:
			winner = i
		default:
			wantErr(t, fmt.Sprintf("losing Update %d", i), err, jobs.ErrRevisionConflict, jobs.ErrAlreadyExists)
		}
	}
	if winner < 0 {
		t.Fatalf("no concurrent Update succeeded: %v", errs)
	}
	got, gotRev := mustGet(t, s, "conf-a", "cas")
	if got.Message != fmt.Sprint(winner) || gotRev != revs[winner] {
		t.Errorf("stored record is message %q at %d, the winner was %d at %d", got.Message, gotRev, winner, revs[winner])
	}
}

func testJobTypesAreSeparate(t *testing.T, s jobs.StateStore) {
	a := FullExecution("conf-a", "same")
	a.Message = "of a"
	b := FullExecution("conf-b", "same")
	b.Message, b.Mode, b.Status = "of b", "sync", jobs.StatusCompleted
	// Job type and id must not run together: "conf" + "a-x" is not "conf-a" + "x".
	c := &jobs.Execution{JobType: "conf", ExecutionID: "a-x", Message: "of conf"}
	d := &jobs.Execution{JobType: "conf-a", ExecutionID: "x", Message: "of conf-a"}
	revA := mustCreate(t, s, a)
	revB := mustCreate(t, s, b)
	mustCreate(t, s, c)
	mustCreate(t, s, d)

	for _, want := range []*jobs.Execution{a, b, c, d} {
		got, _ := mustGet(t, s, want.JobType, want.ExecutionID)
		assertSame(t, fmt.Sprintf("Get %s.%s", want.JobType, want.ExecutionID), got, want)
	}

	// Writing one does not move the other's revision.
	a.Message = "of a, updated"
	if _, err := s.Update(t.Context(), a, revA); err != nil {
		t.Fatalf("Update conf-a.same: %v", err)
	}
	b.Message = "of b, updated"
	if _, err := s.Update(t.Context(), b, revB); err != nil {
		t.Fatalf("Update conf-b.same at its own revision after conf-a.same moved: %v", err)
	}
	for _, want := range []*jobs.Execution{a, b} {
		got, _ := mustGet(t, s, want.JobType, want.ExecutionID)
		assertSame(t, fmt.Sprintf("Get %s.%s after Updates", want.JobType, want.ExecutionID), got, want)
	}
}

// testDeleteAtRevision: a stale revision does not delete; the right one
// does, and the id can be created again.
func testDeleteAtRevision(t *testing.T, s jobs.StateStore) {
	ctx := context.Background()
	e := FullExecution("del-job", "del-1")
	rev := mustCreate(t, s, e)
	if err := s.Delete(ctx, "del-job", "del-1", rev+1000); !errors.Is(err, jobs.ErrRevisionConflict) {
		t.Fatalf("delete at a wrong revision: %v, want ErrRevisionConflict", err)
	}
	if err := s.Delete(ctx, "del-job", "del-1", rev); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, _, err := s.Get(ctx, "del-job", "del-1"); !errors.Is(err, jobs.ErrNotFound) {
		t.Fatalf("get after delete: %v, want ErrNotFound", err)
	}
	mustCreate(t, s, e)
}
