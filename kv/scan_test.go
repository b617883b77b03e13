package kv_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jetjobs/jetjobs/jobs"
	"github.com/jetjobs/jetjobs/kv"
)

// ScanLister filters, sorts, pages and counts what the bucket holds.
func TestScanLister(t *testing.T) {
	t.Parallel()
	_, js := startJetStream(t)
	bucket := newBucketName()
	st, err := kv.NewStateStore(t.Context(), js, kv.StateConfig{Bucket: bucket})
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	put := func(job, id string, s jobs.Status, minute int) {
		t.Helper()
		at := base.Add(time.Duration(minute) * time.Minute)
		if _, err := st.Create(t.Context(), &jobs.Execution{JobType: job, ExecutionID: id, Status: s, Mode: "async",
			CreatedAt: at, UpdatedAt: at}); err != nil {
			t.Fatal(err)
		}
	}
	put("import", "a", jobs.StatusRunning, 1)
	put("import", "b", jobs.StatusCompleted, 2)
	put("import", "c", jobs.StatusRunning, 3)
	put("import", "d", jobs.StatusFailed, 4)
	put("validate", "e", jobs.StatusCompleted, 5)
	put("validate", "f", jobs.StatusCompleted, 5) // same time as e: ordered by id
	put("import", "gone", jobs.StatusCompleted, 6)
	if err := st.Delete(t.Context(), "import", "gone", 0); err != nil { // a deleted record is not listed
		t.Fatal(err)
	}
	l := kv.NewScanLister(js, bucket)

	ids := func(p jobs.ExecutionPage) string {
		s := ""
		for _, it := range p.Items {
			s += it.ExecutionID
		}
		return s
	}
	cases := []struct {
		name    string
		q       jobs.ExecutionQuery
		want    string
		next    bool
		wantErr error
	}{
		{"everything, newest first", jobs.ExecutionQuery{}, "efdcba", false, nil},
		{"one job", jobs.ExecutionQuery{JobType: "import"}, "dcba", false, nil},
		{"status", jobs.ExecutionQuery{JobType: "import", Status: jobs.StatusRunning}, "ca", false, nil},
		{"since", jobs.ExecutionQuery{Since: base.Add(4 * time.Minute)}, "efd", false, nil},
		{"until", jobs.ExecutionQuery{Until: base.Add(2 * time.Minute)}, "ba", false, nil},
		{"first page", jobs.ExecutionQuery{Limit: 4}, "efdc", true, nil},
		{"unknown job", jobs.ExecutionQuery{JobType: "nope"}, "", false, nil},
		{"bad job name", jobs.ExecutionQuery{JobType: "a b"}, "", false, jobs.ErrInvalidArgument},
		{"bad cursor", jobs.ExecutionQuery{Cursor: "!!"}, "", false, jobs.ErrInvalidArgument},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := l.ListExecutions(t.Context(), tc.q)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if got := ids(p); got != tc.want || (p.Next != "") != tc.next {
				t.Fatalf("got %q next %q, want %q next %v", got, p.Next, tc.want, tc.next)
			}
		})
	}
	// Paging walks every item once.
	var walked string
	q := jobs.ExecutionQuery{Limit: 2}
	for range 10 {
		p, err := l.ListExecutions(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		walked += ids(p)
		if p.Next == "" {
			break
		}
		q.Cursor = p.Next
	}
	if walked != "efdcba" {
		t.Fatalf("pages walked %q", walked)
	}
	counts, err := l.CountExecutions(t.Context(), "import")
	if err != nil || fmt.Sprint(counts) != "map[COMPLETED:1 FAILED:1 RUNNING:2]" {
		t.Fatalf("counts %v %v", counts, err)
	}
	byJob, err := l.CountByJob(t.Context())
	if err != nil || fmt.Sprint(byJob) != "map[import:map[COMPLETED:1 FAILED:1 RUNNING:2] validate:map[COMPLETED:2]]" {
		t.Fatalf("by job %v %v", byJob, err)
	}
	if _, err := kv.NewScanLister(js, "NO_SUCH_BUCKET").CountExecutions(t.Context(), ""); err == nil {
		t.Fatal("a missing bucket should be an error")
	}
}
