package kv_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetjobs/jetjobs/jobs"
	"github.com/jetjobs/jetjobs/jobs/jobstest"
	"github.com/jetjobs/jetjobs/kv"
)

// waitGone waits until the record is gone (not found), failing at the
// deadline.
func waitGone(t *testing.T, s *kv.StateStore, job, id string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		_, _, err := s.Get(t.Context(), job, id)
		if errors.Is(err, jobs.ErrNotFound) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s/%s still there after %s (err %v)", job, id, within, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// The store keeps its compare-and-set semantics on a bucket whose terminal
// records expire.
func TestStateStoreConformanceTerminalTTL(t *testing.T) {
	t.Parallel()
	_, js := startJetStream(t)
	jobstest.StateStoreConformance(t, func(t *testing.T) jobs.StateStore {
		s, err := kv.NewStateStore(t.Context(), js, kv.StateConfig{Bucket: newBucketName(), TerminalTTL: time.Hour})
		if err != nil {
			t.Fatalf("NewStateStore: %v", err)
		}
		return s
	})
}

func TestTerminalRecordExpires(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		oldBucket bool // the bucket exists from before the retention key, without per-message TTLs
	}{
		{"new bucket", false},
		{"bucket created the old way, updated in place", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, js := startJetStream(t)
			ctx := t.Context()
			bucket := newBucketName()
			var oldCreated time.Time
			if tt.oldBucket {
				old, err := kv.NewStateStore(ctx, js, kv.StateConfig{Bucket: bucket})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := old.Create(ctx, jobstest.FullExecution("ret", "before")); err != nil {
					t.Fatal(err)
				}
				oldCreated = streamCreated(t, js, bucket)
			}
			s, err := kv.NewStateStore(ctx, js, kv.StateConfig{Bucket: bucket, TerminalTTL: time.Second})
			if err != nil {
				t.Fatalf("NewStateStore: %v", err)
			}
			if tt.oldBucket {
				if got := streamCreated(t, js, bucket); !got.Equal(oldCreated) {
					t.Fatalf("bucket recreated (created %v, was %v): want an in-place update", got, oldCreated)
				}
				if _, _, err := s.Get(ctx, "ret", "before"); err != nil {
					t.Fatalf("record from before the update: %v", err)
				}
			}
			live := jobstest.FullExecution("ret", "live")
			live.Status = jobs.StatusRunning
			if _, err := s.Create(ctx, live); err != nil {
				t.Fatal(err)
			}
			done := jobstest.FullExecution("ret", "done")
			done.Status = jobs.StatusRunning
			rev, err := s.Create(ctx, done)
			if err != nil {
				t.Fatal(err)
			}
			done.Status = jobs.StatusCompleted
			if _, err := s.Update(ctx, done, rev+100); !errors.Is(err, jobs.ErrRevisionConflict) {
				t.Fatalf("terminal Update at a stale revision = %v, want a revision conflict", err)
			}
			if _, err = s.Update(ctx, done, rev); err != nil {
				t.Fatalf("terminal Update: %v", err)
			}
			waitGone(t, s, "ret", "done", 15*time.Second)
			// A record of a later execution with the same id starts afresh.
			if _, err := s.Create(ctx, done); err != nil {
				t.Fatalf("Create over an expired record: %v", err)
			}
			if _, _, err := s.Get(ctx, "ret", "live"); err != nil {
				t.Fatalf("live record: %v (it must never expire)", err)
			}
			if tt.oldBucket {
				if _, _, err := s.Get(ctx, "ret", "before"); err != nil {
					t.Fatalf("live record from before the update: %v", err)
				}
			}
		})
	}
}

func streamCreated(t *testing.T, js jetstream.JetStream, bucket string) time.Time {
	t.Helper()
	st, err := js.Stream(t.Context(), "KV_"+bucket)
	if err != nil {
		t.Fatal(err)
	}
	return st.CachedInfo().Created
}

// A full bucket refuses writes with jobs.ErrStorageFull (REST 507), and
// accepts them again once space is freed.
func TestStateStoreFull(t *testing.T) {
	t.Parallel()
	_, js := startJetStream(t)
	ctx := t.Context()
	bucket := newBucketName()
	s, err := kv.NewStateStore(ctx, js, kv.StateConfig{Bucket: bucket, MaxBytes: 4 << 10})
	if err != nil {
		t.Fatal(err)
	}
	var full error
	n := 0
	for ; n < 100 && full == nil; n++ {
		_, full = s.Create(ctx, jobstest.FullExecution("full", fmt.Sprintf("e%03d", n)))
	}
	if !errors.Is(full, jobs.ErrStorageFull) {
		t.Fatalf("after %d records: %v, want jobs.ErrStorageFull", n, full)
	}
	if !strings.Contains(full.Error(), "storage is full") {
		t.Errorf("error %q does not say the storage is full", full)
	}
	st, err := js.Stream(ctx, "KV_"+bucket)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Purge(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, jobstest.FullExecution("full", "after-purge")); err != nil {
		t.Fatalf("Create after purge: %v", err)
	}
}
