package kv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/jobs"
)

// Buckets of the results: small ones in the KV bucket, the ones over the
// NATS message size in the object store with a pointer in the bucket.
const (
	ResultsBucket = "JOBS_RESULTS"
	ObjectsBucket = "JOBS_RESULTS_OBJECTS"
)

// ResultsConfig sizes the result store; zero values take the defaults in
// comments.
type ResultsConfig struct {
	Replicas     int           // 1
	TTL          time.Duration // 0: kept forever (persistence.result-retention-days)
	CacheTTL     time.Duration // 0: no cache (result-cache-ttl-seconds when enable-result-caching)
	CacheEntries int           // 10,000: the cache's bound, so memory stays flat however many results exist
	InlineMax    int           // NATS max payload − 8 KiB: larger results go to the object store
	MaxBytes     int64         // 0: no size bound on JOBS_RESULTS (nats.limits.results.max-bytes)
	// ObjectsMaxBytes bounds JOBS_RESULTS_OBJECTS; 0: no bound
	// (nats.limits.result-objects.max-bytes).
	ObjectsMaxBytes int64
}

// ResultStore implements jobs.ResultStore on JOBS_RESULTS, with an
// in-process cache kept coherent by a watch on the bucket: a result written
// by any engine invalidates every engine's cached copy.
type ResultStore struct {
	js      jetstream.JetStream
	kv      jetstream.KeyValue
	objects jetstream.ObjectStore
	cfg     ResultsConfig

	mu      sync.Mutex
	cache   map[string]cached
	watcher jetstream.KeyWatcher
	stopW   context.CancelFunc
	done    chan struct{}
	closed  bool
}

type cached struct {
	r       *jobs.Result
	expires time.Time
}

var _ jobs.ResultStore = (*ResultStore)(nil)

// stored is the bucket's value: the result itself or a pointer to the
// object that holds it.
type stored struct {
	Result    *jobs.Result `json:"result,omitempty"`
	ObjectRef string       `json:"objectRef,omitempty"`
	SizeBytes int          `json:"sizeBytes,omitempty"`
}

// appendStored appends stored{Result: r} as encoding/json writes it, with
// the result's hand encoder (jobs.Result.AppendJSON); false (b unchanged)
// where that declines.
func appendStored(b []byte, r *jobs.Result) ([]byte, bool) {
	start := len(b)
	b, ok := r.AppendJSON(append(b, `{"result":`...))
	if !ok {
		return b[:start], false
	}
	return append(b, '}'), true
}

// NewResultStore creates or updates the buckets (their TTL follows the
// retention) and starts the cache's watch.
func NewResultStore(ctx context.Context, js jetstream.JetStream, maxPayload int, cfg ResultsConfig) (*ResultStore, error) {
	if cfg.InlineMax <= 0 {
		cfg.InlineMax = max(maxPayload-8<<10, 1<<10)
	}
	if cfg.CacheEntries <= 0 {
		cfg.CacheEntries = 10_000
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: ResultsBucket,
		Description: "jetjobs final results", History: 1, TTL: cfg.TTL, Replicas: max(cfg.Replicas, 1), MaxBytes: cfg.MaxBytes})
	if err != nil {
		return nil, bucketError(ResultsBucket, err)
	}
	objects, err := js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: ObjectsBucket,
		Description: "jetjobs results too large for one message", TTL: cfg.TTL, Replicas: max(cfg.Replicas, 1),
		MaxBytes: max(cfg.ObjectsMaxBytes, 0)})
	if err != nil {
		return nil, bus.StreamError("OBJ_"+ObjectsBucket, translate(err))
	}
	s := &ResultStore{js: js, kv: kv, objects: objects, cfg: cfg, cache: map[string]cached{}, done: make(chan struct{}),
		stopW: func() {}}
	if cfg.CacheTTL > 0 {
		// The watch lives until Close, not until the caller's ctx ends.
		wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		s.stopW = cancel
		w, err := kv.WatchAll(wctx, jetstream.UpdatesOnly(), jetstream.IgnoreDeletes(), jetstream.MetaOnly()) // keys are enough
		if err != nil {
			cancel()
			return nil, fmt.Errorf("kv: watch %s: %w", ResultsBucket, translate(err))
		}
		s.watcher = w
		go s.invalidate(w)
	} else {
		close(s.done)
	}
	return s, nil
}

// invalidate drops a cached result whenever its key is written.
func (s *ResultStore) invalidate(w jetstream.KeyWatcher) {
	defer close(s.done)
	for e := range w.Updates() {
		if e == nil {
			continue
		}
		s.mu.Lock()
		delete(s.cache, e.Key())
		s.mu.Unlock()
	}
}

// Close stops the cache's watch. Safe twice.
func (s *ResultStore) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	w := s.watcher
	s.mu.Unlock()
	if w != nil {
		_ = w.Stop()
	}
	s.stopW()
	<-s.done
}

// Put stores a result, in the object store when it is too large for one
// message.
func (s *ResultStore) Put(ctx context.Context, r *jobs.Result) error {
	key := Key(r.JobType, r.ExecutionID)
	// A KV put is a publish on the key's subject; sent this way it rides in
	// the pipeline of the command being handled, if any.
	m := bus.NewOutMsg(putPrefix(ResultsBucket) + key)
	if !m.AppendData(func(b []byte) ([]byte, bool) { return appendStored(b, r) }) {
		if err := m.EncodeJSON(&stored{Result: r}, r.RawOutput, r.TransformedOutput); err != nil {
			m.Release()
			return jobs.Errorf(jobs.CodeInternal, "kv: encode result: %v", err)
		}
	}
	if size := len(m.Data()); size > s.cfg.InlineMax {
		if _, err := s.objects.PutBytes(ctx, key, m.Data()); err != nil {
			m.Release()
			return fmt.Errorf("kv: object %s: %w", key, translate(err))
		}
		if err := m.EncodeJSON(&stored{ObjectRef: key, SizeBytes: size}); err != nil {
			m.Release()
			return err
		}
	}
	s.forget(key)
	if err := bus.PublishOut(ctx, s.js, m); err != nil {
		return fmt.Errorf("kv: put %s: %w", key, translate(err))
	}
	return nil
}

// Get returns a result: from the cache when fresh, else from the bucket.
func (s *ResultStore) Get(ctx context.Context, jobType, executionID string) (*jobs.Result, error) {
	key := Key(jobType, executionID)
	if r := s.cached(key); r != nil {
		return r, nil
	}
	entry, err := s.kv.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("kv: result %s: %w", key, translate(err))
	}
	r, err := decodeStoredResult(ctx, key, entry.Value(), s.objects)
	if err != nil {
		return nil, err
	}
	s.remember(key, r)
	return r, nil
}

// decodeStoredResult reads a value of the results bucket: the result, or the
// object it points to.
func decodeStoredResult(ctx context.Context, key string, value []byte, objects jetstream.ObjectStore) (*jobs.Result, error) {
	var v stored
	if err := json.Unmarshal(value, &v); err != nil {
		return nil, jobs.Errorf(jobs.CodeInternal, "kv: result %s is not valid JSON: %v", key, err)
	}
	if v.ObjectRef != "" {
		b, err := objects.GetBytes(ctx, v.ObjectRef)
		if errors.Is(err, jetstream.ErrObjectNotFound) {
			return nil, &jobs.Error{Code: jobs.CodeNotFound, Msg: "result object " + v.ObjectRef + " not found", Err: err}
		}
		if err != nil {
			return nil, fmt.Errorf("kv: object %s: %w", v.ObjectRef, translate(err))
		}
		if err := json.Unmarshal(b, &v); err != nil {
			return nil, jobs.Errorf(jobs.CodeInternal, "kv: result object %s is not valid JSON: %v", key, err)
		}
	}
	if v.Result == nil {
		return nil, jobs.Errorf(jobs.CodeInternal, "kv: result %s is empty", key)
	}
	return v.Result, nil
}

func (s *ResultStore) cached(key string) *jobs.Result {
	if s.cfg.CacheTTL <= 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.cache[key]
	if !ok || time.Now().After(c.expires) {
		delete(s.cache, key)
		return nil
	}
	return c.r
}

func (s *ResultStore) remember(key string, r *jobs.Result) {
	if s.cfg.CacheTTL <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.cache { // full: drop arbitrary entries, the map's order is random enough
		if len(s.cache) < s.cfg.CacheEntries {
			break
		}
		delete(s.cache, k)
	}
	s.cache[key] = cached{r: r, expires: time.Now().Add(s.cfg.CacheTTL)}
}

func (s *ResultStore) forget(key string) {
	s.mu.Lock()
	delete(s.cache, key)
	s.mu.Unlock()
}

// CacheLen is the number of cached results (tests, metrics).
func (s *ResultStore) CacheLen() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.cache)
}
