package kv_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/jetjobs/jetjobs/internal/testutil"
	"github.com/jetjobs/jetjobs/jobs"
	"github.com/jetjobs/jetjobs/kv"
)

func TestExecutionIndexFollowsTheBucket(t *testing.T) {
	t.Parallel()
	_, js := startJetStream(t)
	ctx := t.Context()
	s, err := kv.NewStateStore(ctx, js, kv.StateConfig{Bucket: newBucketName()})
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	put := func(job, id string, st jobs.Status, at int) {
		t.Helper()
		e := &jobs.Execution{JobType: job, ExecutionID: id, Status: st, CreatedAt: base, UpdatedAt: base.Add(time.Duration(at) * time.Second)}
		if _, err := s.Create(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	put("a", "1", jobs.StatusCompleted, 1) // before Start: the initial load
	put("a.b", "2", jobs.StatusFailed, 2)  // a job type with a dot
	x := kv.NewExecutionIndex(s.Bucket(), kv.IndexConfig{})
	if err := x.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer x.Stop()
	<-x.Ready()
	put("a", "3", jobs.StatusRunning, 3) // after: an update of the watch
	testutil.Eventually(t, "3 entries", 10*time.Second, func() bool { return x.Len() == 3 })
	e, rev, err := s.Get(ctx, "a.b", "2")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "a.b", "2", rev); err != nil {
		t.Fatal(err)
	}
	_ = e
	testutil.Eventually(t, "the delete", 10*time.Second, func() bool { return x.Len() == 2 })
	counts, err := x.CountExecutions(ctx, "a")
	if err != nil || counts[jobs.StatusCompleted] != 1 || counts[jobs.StatusRunning] != 1 {
		t.Fatalf("counts = %v, %v", counts, err)
	}
}

// fill puts n executions of jobTypes into a fresh index, one second apart,
// statuses in turn.
func fill(t testing.TB, n int, jobTypes ...string) *kv.ExecutionIndex {
	return fillIDs(t, n, "%08d-0000-4000-8000-000000000000", jobTypes...)
}

// fillIDs is fill with the ids made by idFormat from the execution's
// number.
func fillIDs(t testing.TB, n int, idFormat string, jobTypes ...string) *kv.ExecutionIndex {
	x := kv.NewExecutionIndexLoaded()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	sts := []jobs.Status{jobs.StatusCompleted, jobs.StatusFailed, jobs.StatusRunning}
	for i := range n {
		job := jobTypes[i%len(jobTypes)]
		x.Put(job, jobs.ExecutionSummary{JobType: job, ExecutionID: fmt.Sprintf(idFormat, i),
			Status: sts[i%len(sts)], CreatedAt: base, UpdatedAt: base.Add(time.Duration(i) * time.Second), ProgressPercentage: i % 101})
	}
	return x
}

func TestExecutionIndexPages(t *testing.T) {
	t.Parallel()
	x := fill(t, 100, "a", "b")
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		q       jobs.ExecutionQuery
		want    int // items over every page
		first   int // index (update second) of the first item
		wantErr error
	}{
		{"all", jobs.ExecutionQuery{Limit: 7}, 100, 99, nil},
		{"job", jobs.ExecutionQuery{JobType: "a", Limit: 7}, 50, 98, nil},
		{"job and status", jobs.ExecutionQuery{JobType: "a", Status: jobs.StatusFailed, Limit: 4}, 16, 94, nil},
		{"status", jobs.ExecutionQuery{Status: jobs.StatusRunning}, 33, 98, nil},
		{"time window", jobs.ExecutionQuery{Since: base.Add(10 * time.Second), Until: base.Add(19 * time.Second), Limit: 3}, 10, 19, nil},
		{"unknown job", jobs.ExecutionQuery{JobType: "zzz"}, 0, -1, nil},
		{"bad cursor", jobs.ExecutionQuery{Cursor: "!!"}, 0, -1, kv.ErrBadCursor},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			q := tt.q
			seen, first := 0, -1
			prev := time.Time{}
			for {
				p, err := x.ListExecutions(context.Background(), q)
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if err != nil {
					return
				}
				for _, it := range p.Items {
					if first < 0 {
						first = int(it.UpdatedAt.Sub(base) / time.Second)
					}
					if !prev.IsZero() && !it.UpdatedAt.Before(prev) {
						t.Fatalf("not newest first: %v after %v", it.UpdatedAt, prev)
					}
					prev = it.UpdatedAt
					if (q.JobType != "" && it.JobType != q.JobType) || (q.Status != "" && it.Status != q.Status) {
						t.Fatalf("item %+v does not match %+v", it, q)
					}
				}
				seen += len(p.Items)
				if p.Next == "" {
					break
				}
				q.Cursor = p.Next
			}
			if seen != tt.want || first != tt.first {
				t.Fatalf("got %d items, first %d; want %d, first %d", seen, first, tt.want, tt.first)
			}
		})
	}
}

// BenchmarkIndexMemory reports the heap the index holds per execution
// with 1,000,000 of them (docs/console.md): with UUID ids (the engine's
// own) and with others (a client's, as the bench's "mem…-N").
func BenchmarkIndexMemory(b *testing.B) {
	for _, ids := range []struct{ name, format string }{
		{"uuid", "%08d-0000-4000-8000-000000000000"}, {"text", "bench-run-%d"},
	} {
		b.Run(ids.name, func(b *testing.B) {
			for range b.N {
				runtime.GC()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				x := fillIDs(b, 1_000_000, ids.format, "report", "email", "import", "etl")
				runtime.GC()
				runtime.ReadMemStats(&after)
				b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/1e6, "bytes/execution")
				runtime.KeepAlive(x)
			}
		})
	}
}

// BenchmarkIndexPage is one page of 50 out of 1,000,000 executions, for
// the console's usual queries.
func BenchmarkIndexPage(b *testing.B) {
	x := fill(b, 1_000_000, "report", "email", "import", "etl")
	first, _ := x.ListExecutions(context.Background(), jobs.ExecutionQuery{Limit: 50})
	for _, q := range []struct {
		name string
		q    jobs.ExecutionQuery
	}{
		{"newest", jobs.ExecutionQuery{Limit: 50}},
		{"next-page", jobs.ExecutionQuery{Limit: 50, Cursor: first.Next}},
		{"job+status", jobs.ExecutionQuery{JobType: "email", Status: jobs.StatusFailed, Limit: 50}},
		{"time-window", jobs.ExecutionQuery{Limit: 50, Until: time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)}},
	} {
		b.Run(q.name, func(b *testing.B) {
			for range b.N {
				if _, err := x.ListExecutions(context.Background(), q.q); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("counts", func(b *testing.B) {
		for range b.N {
			_, _ = x.CountExecutions(context.Background(), "")
		}
	})
}

// A terminal record that expires (execution-retention-days) leaves a purge
// marker, which takes it out of the index.
func TestExecutionIndexDropsExpired(t *testing.T) {
	t.Parallel()
	_, js := startJetStream(t)
	ctx := t.Context()
	s, err := kv.NewStateStore(ctx, js, kv.StateConfig{Bucket: newBucketName(), TerminalTTL: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	x := kv.NewExecutionIndex(s.Bucket(), kv.IndexConfig{})
	if err := x.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer x.Stop()
	<-x.Ready()
	now := time.Now()
	for i, st := range []jobs.Status{jobs.StatusCompleted, jobs.StatusRunning} {
		if _, err := s.Create(ctx, &jobs.Execution{JobType: "a", ExecutionID: fmt.Sprint(i), Status: st, CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	testutil.Eventually(t, "both indexed", 10*time.Second, func() bool { return x.Len() == 2 })
	testutil.Eventually(t, "the COMPLETED one expired", 10*time.Second, func() bool { return x.Len() == 1 })
	if _, ok := x.Lookup("a", "1"); !ok {
		t.Fatal("the live execution left the index")
	}
}
