package kv_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/jobs"
	"github.com/jetjobs/jetjobs/jobs/jobstest"
	"github.com/jetjobs/jetjobs/kv"
)

// startJetStream starts an embedded server for one test and connects to it;
// both are closed when the test ends.
func startJetStream(t *testing.T) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	srv, err := bus.StartEmbedded(bus.EmbeddedConfig{Port: -1, StoreDir: t.TempDir()})
	if err != nil {
		t.Fatalf("start embedded NATS: %v", err)
	}
	t.Cleanup(srv.Shutdown)
	nc, js, err := bus.Connect(bus.ConnConfig{URL: srv.ClientURL()})
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(nc.Close)
	return nc, js
}

var bucketSeq atomic.Int64

// newBucketName returns a bucket name no other store of this process uses.
func newBucketName() string { return fmt.Sprintf("STATE_TEST_%d", bucketSeq.Add(1)) }

func TestStateStoreConformance(t *testing.T) {
	t.Parallel()
	_, js := startJetStream(t)
	jobstest.StateStoreConformance(t, func(t *testing.T) jobs.StateStore {
		s, err := kv.NewStateStore(t.Context(), js, kv.StateConfig{Bucket: newBucketName()})
		if err != nil {
			t.Fatalf("NewStateStore: %v", err)
		}
		return s
	})
}

// pipelinedStore runs every call of a StateStore inside a command's
// pipeline (bus.Pipelined), where Create and Update take the pipeline's
// acknowledgement reader instead of nats.go's KV calls.
type pipelinedStore struct {
	*kv.StateStore
	nc *nats.Conn
}

func (p pipelinedStore) in(ctx context.Context, t func(context.Context) error) error {
	ctx, wait, release, err := bus.Pipelined(ctx, p.nc, 5*time.Second)
	if err != nil {
		return err
	}
	defer release()
	if err := t(ctx); err != nil {
		return err
	}
	return wait(ctx)
}

func (p pipelinedStore) Create(ctx context.Context, e *jobs.Execution) (rev uint64, err error) {
	err = p.in(ctx, func(ctx context.Context) (err error) { rev, err = p.StateStore.Create(ctx, e); return err })
	return rev, err
}

func (p pipelinedStore) Update(ctx context.Context, e *jobs.Execution, last uint64) (rev uint64, err error) {
	err = p.in(ctx, func(ctx context.Context) (err error) { rev, err = p.StateStore.Update(ctx, e, last); return err })
	return rev, err
}

func (p pipelinedStore) Delete(ctx context.Context, job, id string, last uint64) error {
	return p.in(ctx, func(ctx context.Context) error { return p.StateStore.Delete(ctx, job, id, last) })
}

// Within a command's pipeline the store behaves the same.
func TestStateStoreConformancePipelined(t *testing.T) {
	t.Parallel()
	nc, js := startJetStream(t)
	jobstest.StateStoreConformance(t, func(t *testing.T) jobs.StateStore {
		s, err := kv.NewStateStore(t.Context(), js, kv.StateConfig{Bucket: newBucketName()})
		if err != nil {
			t.Fatalf("NewStateStore: %v", err)
		}
		return pipelinedStore{StateStore: s, nc: nc}
	})
}

// The store also works on a bucket with a TTL and compression, as the
// engine may configure it.
func TestStateStoreConformanceCompressedTTL(t *testing.T) {
	t.Parallel()
	_, js := startJetStream(t)
	jobstest.StateStoreConformance(t, func(t *testing.T) jobs.StateStore {
		s, err := kv.NewStateStore(t.Context(), js, kv.StateConfig{
			Bucket: newBucketName(), TTL: time.Hour, Compress: true, Storage: jetstream.MemoryStorage,
		})
		if err != nil {
			t.Fatalf("NewStateStore: %v", err)
		}
		return s
	})
}

func TestNewStateStoreIsIdempotent(t *testing.T) {
	t.Parallel()
	_, js := startJetStream(t)
	ctx := t.Context()
	cfg := kv.StateConfig{Bucket: newBucketName()}
	first, err := kv.NewStateStore(ctx, js, cfg)
	if err != nil {
		t.Fatalf("first NewStateStore: %v", err)
	}
	rec := jobstest.FullExecution("idem", "e1")
	rev, err := first.Create(ctx, rec)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}

	second, err := kv.NewStateStore(ctx, js, cfg)
	if err != nil {
		t.Fatalf("second NewStateStore on the same bucket: %v", err)
	}
	got, gotRev, err := second.Get(ctx, "idem", "e1")
	if err != nil {
		t.Fatalf("Get through the second store: %v", err)
	}
	if gotRev != rev || got.Message != rec.Message {
		t.Errorf("second store sees %q at %d, want %q at %d", got.Message, gotRev, rec.Message, rev)
	}
	if _, err := second.Create(ctx, rec); !errors.Is(err, jobs.ErrAlreadyExists) {
		t.Errorf("Create through the second store of a record the first made: %v, want ErrAlreadyExists", err)
	}
	if first.Bucket().Bucket() != cfg.Bucket || second.Bucket().Bucket() != cfg.Bucket {
		t.Errorf("buckets %q and %q, want %q", first.Bucket().Bucket(), second.Bucket().Bucket(), cfg.Bucket)
	}

	// The bucket is configured as StateConfig says: one value per key.
	st, err := second.Bucket().Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.History() != 1 {
		t.Errorf("bucket history = %d, want 1", st.History())
	}
	if st.Values() != 1 {
		t.Errorf("bucket holds %d values after two NewStateStore calls, want 1", st.Values())
	}
}

func TestNewStateStoreDefaultBucket(t *testing.T) {
	t.Parallel()
	_, js := startJetStream(t)
	s, err := kv.NewStateStore(t.Context(), js, kv.StateConfig{})
	if err != nil {
		t.Fatalf("NewStateStore: %v", err)
	}
	if got := s.Bucket().Bucket(); got != kv.StateBucket {
		t.Errorf("default bucket = %q, want %q", got, kv.StateBucket)
	}
	if kv.StateBucket != "JOBS_STATE" {
		t.Errorf("StateBucket = %q, want JOBS_STATE", kv.StateBucket)
	}
}

func TestNewStateStoreBadBucketName(t *testing.T) {
	t.Parallel()
	_, js := startJetStream(t)
	_, err := kv.NewStateStore(t.Context(), js, kv.StateConfig{Bucket: "bad.name"})
	if err == nil {
		t.Fatal("NewStateStore with an invalid bucket name succeeded")
	}
	if !strings.Contains(err.Error(), "bad.name") {
		t.Errorf("error %q does not name the bucket", err)
	}
}

func TestStateStoreGetInvalidJSON(t *testing.T) {
	t.Parallel()
	_, js := startJetStream(t)
	ctx := t.Context()
	s, err := kv.NewStateStore(ctx, js, kv.StateConfig{Bucket: newBucketName()})
	if err != nil {
		t.Fatal(err)
	}
	key := kv.Key("broken", "e1")
	if key != "broken.e1" {
		t.Fatalf("Key = %q, want broken.e1", key)
	}
	if _, err := s.Bucket().Put(ctx, key, []byte("{not json")); err != nil {
		t.Fatal(err)
	}
	e, rev, err := s.Get(ctx, "broken", "e1")
	if err == nil {
		t.Fatalf("Get of garbage = %+v, %d, want an error", e, rev)
	}
	if got := jobs.CodeOf(err); got != jobs.CodeInternal {
		t.Errorf("CodeOf(%v) = %q, want %q", err, got, jobs.CodeInternal)
	}
	if !errors.Is(err, jobs.ErrInternal) {
		t.Errorf("errors.Is(%v, ErrInternal) = false", err)
	}
	if errors.Is(err, jobs.ErrNotFound) {
		t.Errorf("a broken record is reported as missing: %v", err)
	}
	if !strings.Contains(err.Error(), key) {
		t.Errorf("error %q does not name the key %q", err, key)
	}
	if e != nil || rev != 0 {
		t.Errorf("Get of garbage returned %+v, %d alongside the error", e, rev)
	}
}

func TestStateStoreDeletedRecordIsNotFound(t *testing.T) {
	t.Parallel()
	_, js := startJetStream(t)
	ctx := t.Context()
	s, err := kv.NewStateStore(ctx, js, kv.StateConfig{Bucket: newBucketName()})
	if err != nil {
		t.Fatal(err)
	}
	rec := &jobs.Execution{JobType: "del", ExecutionID: "e1", Status: jobs.StatusCompleted}
	if _, err := s.Create(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if err := s.Bucket().Delete(ctx, kv.Key("del", "e1")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Get(ctx, "del", "e1"); !errors.Is(err, jobs.ErrNotFound) {
		t.Errorf("Get of a deleted record: %v, want ErrNotFound", err)
	}
	// A deleted record may be created again.
	if _, err := s.Create(ctx, rec); err != nil {
		t.Errorf("Create after delete: %v", err)
	}
}

func TestStateStoreUnavailableAfterClose(t *testing.T) {
	t.Parallel()
	nc, js := startJetStream(t)
	ctx := t.Context()
	s, err := kv.NewStateStore(ctx, js, kv.StateConfig{Bucket: newBucketName()})
	if err != nil {
		t.Fatal(err)
	}
	nc.Close()
	rec := &jobs.Execution{JobType: "closed", ExecutionID: "e1", Status: jobs.StatusStarted}
	_, _, getErr := s.Get(ctx, "closed", "e1")
	_, createErr := s.Create(ctx, rec)
	_, updateErr := s.Update(ctx, rec, 1)
	for op, err := range map[string]error{"Get": getErr, "Create": createErr, "Update": updateErr} {
		if !errors.Is(err, jobs.ErrUnavailable) {
			t.Errorf("%s on a closed connection: %v, want ErrUnavailable", op, err)
		}
		if jobs.IsPermanent(err) {
			t.Errorf("%s on a closed connection: %v is permanent; it should be retried", op, err)
		}
	}
}
