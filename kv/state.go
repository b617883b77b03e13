package kv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/jobs"
)

// StateBucket is the bucket of execution records.
const StateBucket = "JOBS_STATE"

// StateConfig sizes the state bucket.
type StateConfig struct {
	Bucket   string                // JOBS_STATE
	Replicas int                   // 1; 3 in a cluster
	Storage  jetstream.StorageType // file
	TTL      time.Duration         // 0: records are kept until deleted
	Compress bool                  // false
	MaxBytes int64                 // 0: no size bound (nats.limits.state.max-bytes); a full bucket refuses writes
	// TerminalTTL is how long a terminal record (COMPLETED, FAILED,
	// STOPPED, TIMED_OUT) is kept after its last write
	// (orchestration.persistence.execution-retention-days): 0, forever.
	// Live records never expire. See retention.go.
	TerminalTTL time.Duration
	Extra       func(*jetstream.KeyValueConfig) // last word on the bucket config, for tests and tuning
}

// StateStore implements jobs.StateStore on a JetStream KV bucket.
type StateStore struct {
	kv   jetstream.KeyValue
	js   jetstream.JetStream
	put  string        // subject prefix of the bucket's keys
	ttl  string        // Nats-TTL of a terminal record, "" for none
	ttlD time.Duration // the same as a duration
}

var _ jobs.StateStore = (*StateStore)(nil)

// NewStateStore creates or updates the bucket (idempotent) and returns the
// store.
func NewStateStore(ctx context.Context, js jetstream.JetStream, cfg StateConfig) (*StateStore, error) {
	if cfg.Bucket == "" {
		cfg.Bucket = StateBucket
	}
	kvc := jetstream.KeyValueConfig{
		Bucket: cfg.Bucket, Description: "jetjobs execution records",
		History: 1, Replicas: max(cfg.Replicas, 1), Storage: cfg.Storage, TTL: cfg.TTL, Compression: cfg.Compress,
		MaxBytes: cfg.MaxBytes,
	}
	var err error
	if kvc.LimitMarkerTTL, err = markerTTL(ctx, js, cfg.Bucket, cfg.TerminalTTL); err != nil {
		return nil, fmt.Errorf("kv: bucket %s: %w", cfg.Bucket, translate(err))
	}
	if cfg.Extra != nil {
		cfg.Extra(&kvc)
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, kvc)
	if err != nil {
		return nil, bucketError(cfg.Bucket, err)
	}
	if kvc.Replicas > 1 {
		// A CHECK timer whose record a lagging replica does not have yet
		// would be dropped (found by TestClusterFaults): read from the
		// leader.
		if kv, err = bus.LeaderReads(ctx, js, cfg.Bucket); err != nil {
			return nil, bucketError(cfg.Bucket, err)
		}
	}
	return &StateStore{kv: kv, js: js, put: putPrefix(cfg.Bucket), ttl: bus.TTLHeader(cfg.TerminalTTL),
		ttlD: cfg.TerminalTTL}, nil
}

// putPrefix is the subject prefix of a bucket's keys: a put is a publish
// on it, which can ride in a command's pipeline (bus.Publish).
func putPrefix(bucket string) string { return "$KV." + bucket + "." }

// Key is the KV key of an execution.
func Key(jobType, executionID string) string { return jobType + "." + executionID }

// Get returns the record and its revision.
func (s *StateStore) Get(ctx context.Context, jobType, executionID string) (*jobs.Execution, uint64, error) {
	entry, err := s.kv.Get(ctx, Key(jobType, executionID))
	if err != nil {
		return nil, 0, fmt.Errorf("kv: get %s: %w", Key(jobType, executionID), translate(err))
	}
	var e jobs.Execution
	if err := json.Unmarshal(entry.Value(), &e); err != nil {
		return nil, 0, jobs.Errorf(jobs.CodeInternal, "kv: record %s is not valid JSON: %v", entry.Key(), err)
	}
	return &e, entry.Revision(), nil
}

// Create stores a new record; jobs.ErrAlreadyExists if the key is taken.
func (s *StateStore) Create(ctx context.Context, e *jobs.Execution) (uint64, error) {
	ttl := s.ttlOf(e)
	m, err := s.record(e, 0, ttl)
	if err != nil {
		return 0, err
	}
	rev, err := bus.PublishOutAcked(ctx, s.js, m)
	if isCASConflict(err) {
		// Taken, or held by a deleted or expired record's marker, which
		// Create may reuse: nats.go's Create tells the two apart. (m is
		// back in its pool: the record is encoded again, on this rare path.)
		var opts []jetstream.KVCreateOpt
		if ttl != "" {
			opts = append(opts, jetstream.KeyTTL(s.ttlD))
		}
		b, err := bus.MarshalJSON(e, e.Parameters)
		if err != nil {
			return 0, jobs.Errorf(jobs.CodeInternal, "kv: encode record: %v", err)
		}
		if rev, err = s.kv.Create(ctx, Key(e.JobType, e.ExecutionID), b, opts...); err == nil {
			return rev, nil
		}
		return 0, fmt.Errorf("kv: create %s: %w", Key(e.JobType, e.ExecutionID), translate(err))
	}
	if err != nil {
		return 0, fmt.Errorf("kv: create %s: %w", Key(e.JobType, e.ExecutionID), translate(err))
	}
	return rev, nil
}

// Update replaces the record at revision rev; jobs.ErrRevisionConflict if it
// moved on.
func (s *StateStore) Update(ctx context.Context, e *jobs.Execution, rev uint64) (uint64, error) {
	m, err := s.record(e, rev, s.ttlOf(e))
	if err != nil {
		return 0, err
	}
	newRev, err := bus.PublishOutAcked(ctx, s.js, m)
	if isCASConflict(err) {
		// jetstream.ErrKeyExists matches this code too: test it first.
		return 0, fmt.Errorf("kv: update %s: %w", Key(e.JobType, e.ExecutionID), jobs.ErrRevisionConflict)
	}
	if err != nil {
		return 0, fmt.Errorf("kv: update %s: %w", Key(e.JobType, e.ExecutionID), translate(err))
	}
	return newRev, nil
}

// record is the write of e if the key's last revision is last (0: the key
// has none), with the per-message TTL ttl ("" for none: the record never
// expires): a KV put is a publish on the key's subject. Within a command
// it goes through the command's pipeline (bus.PublishOutAcked), which reads
// the acknowledgement without nats.go's per-publish machinery.
func (s *StateStore) record(e *jobs.Execution, last uint64, ttl string) (*bus.OutMsg, error) {
	m := bus.NewOutMsg(s.put + e.JobType + "." + e.ExecutionID) // s.put + Key(...), in one allocation
	if !m.AppendData(e.AppendJSON) {
		if err := m.EncodeJSON(e, e.Parameters); err != nil {
			m.Release()
			return nil, jobs.Errorf(jobs.CodeInternal, "kv: encode record: %v", err)
		}
	}
	m.SetHeader(jetstream.ExpectedLastSubjSeqHeader, strconv.FormatUint(last, 10))
	if ttl != "" {
		m.SetHeader(jetstream.MsgTTLHeader, ttl)
	}
	return m, nil
}

// Delete removes the record at revision rev; jobs.ErrRevisionConflict if it
// moved on.
func (s *StateStore) Delete(ctx context.Context, jobType, executionID string, rev uint64) error {
	err := s.kv.Delete(ctx, Key(jobType, executionID), jetstream.LastRevision(rev))
	if isCASConflict(err) {
		return fmt.Errorf("kv: delete %s: %w", Key(jobType, executionID), jobs.ErrRevisionConflict)
	}
	if err != nil {
		return fmt.Errorf("kv: delete %s: %w", Key(jobType, executionID), translate(err))
	}
	return nil
}

// Bucket exposes the underlying bucket (health checks, watchers).
func (s *StateStore) Bucket() jetstream.KeyValue { return s.kv }

// JetStream error codes of a failed compare-and-set: "wrong last sequence"
// comes back as either of these depending on the server path.
const (
	errCodeWrongLastSequence      = 10071
	errCodeWrongLastSequenceConst = 10164
)

// isCASConflict reports a failed compare-and-set.
func isCASConflict(err error) bool {
	if err == nil {
		return false // without the allocation of apiErr, which errors.As takes
	}
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && (apiErr.ErrorCode == errCodeWrongLastSequence || apiErr.ErrorCode == errCodeWrongLastSequenceConst)
}

// translate maps NATS errors to jobs errors at the adapter edge.
func translate(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, jetstream.ErrKeyExists):
		return jobs.ErrAlreadyExists
	case errors.Is(err, jetstream.ErrKeyNotFound), errors.Is(err, jetstream.ErrKeyDeleted):
		return &jobs.Error{Code: jobs.CodeNotFound, Msg: "not found", Err: err}
	case isCASConflict(err):
		return jobs.ErrRevisionConflict
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout), errors.Is(err, nats.ErrConnectionClosed),
		errors.Is(err, nats.ErrNoResponders), errors.Is(err, jetstream.ErrNoStreamResponse), errors.Is(err, nats.ErrDisconnected):
		return &jobs.Error{Code: jobs.CodeUnavailable, Msg: "JetStream unavailable", Err: err}
	}
	return bus.PortError("JetStream write", err)
}
