package saga

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/jobs"
)

// Bucket is the KV bucket of saga instances.
const Bucket = "SAGAS"

// Errors of the store; both match jobs.ErrConflict too.
var (
	errExists   = &jobs.Error{Code: jobs.CodeConflict, Msg: "saga instance already exists"}
	errConflict = &jobs.Error{Code: jobs.CodeConflict, Msg: "saga instance changed concurrently (revision conflict)"}
)

// store keeps instances in the SAGAS bucket, one key <saga>.<sagaId>.
type store struct {
	kv     jetstream.KeyValue
	js     jetstream.JetStream
	bucket string
	ttl    string // Nats-TTL of a finished instance (limits.go), "" for none
}

func openStore(ctx context.Context, js jetstream.JetStream, bucket string, replicas int, storage jetstream.StorageType, l Limits) (*store, error) {
	marker, err := bus.BucketMarkerTTL(ctx, js, bucket, l.FinishedTTL)
	if err != nil {
		return nil, fmt.Errorf("saga: bucket %s: %w", bucket, translate(err))
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: bucket, Description: "jetjobs saga instances", History: 1,
		Replicas: max(replicas, 1), Storage: storage, MaxBytes: l.BucketMaxBytes, LimitMarkerTTL: marker,
	})
	if err != nil {
		return nil, fmt.Errorf("saga: %w", bus.StreamError("KV_"+bucket, translate(err)))
	}
	if kv, err = bus.LeaderReads(ctx, js, kv); err != nil {
		return nil, fmt.Errorf("saga: %w", bus.StreamError("KV_"+bucket, translate(err)))
	}
	return &store{kv: kv, js: js, bucket: bucket, ttl: bus.TTLHeader(l.FinishedTTL)}, nil
}

// bindStore opens an existing bucket (clients that only read).
func bindStore(ctx context.Context, js jetstream.JetStream, bucket string) (*store, error) {
	kv, err := js.KeyValue(ctx, bucket)
	if err != nil {
		return nil, fmt.Errorf("saga: bucket %s: %w", bucket, translate(err))
	}
	return &store{kv: kv, js: js, bucket: bucket}, nil
}

func key(saga, sagaID string) string { return saga + "." + sagaID }

func (s *store) get(ctx context.Context, saga, sagaID string) (*Instance, uint64, error) {
	e, err := s.kv.Get(ctx, key(saga, sagaID))
	if err != nil {
		err = translate(err)
		if errors.Is(err, jobs.ErrNotFound) {
			return nil, 0, jobs.Errorf(jobs.CodeNotFound, "saga %s/%s not found", saga, sagaID)
		}
		return nil, 0, fmt.Errorf("saga: get %s: %w", key(saga, sagaID), err)
	}
	var in Instance
	if err := json.Unmarshal(e.Value(), &in); err != nil {
		return nil, 0, jobs.Errorf(jobs.CodeInternal, "saga: instance %s is not valid JSON: %v", e.Key(), err)
	}
	return &in, e.Revision(), nil
}

func (s *store) create(ctx context.Context, in *Instance) (uint64, error) {
	b, err := json.Marshal(in)
	if err != nil {
		return 0, jobs.Errorf(jobs.CodeInternal, "saga: encode instance: %v", err)
	}
	rev, err := s.kv.Create(ctx, key(in.Saga, in.SagaID), b)
	if errors.Is(err, jetstream.ErrKeyExists) {
		return 0, errExists
	}
	if err != nil {
		return 0, fmt.Errorf("saga: create %s: %w", key(in.Saga, in.SagaID), translate(err))
	}
	return rev, nil
}

func (s *store) update(ctx context.Context, in *Instance, rev uint64) (uint64, error) {
	b, err := json.Marshal(in)
	if err != nil {
		return 0, jobs.Errorf(jobs.CodeInternal, "saga: encode instance: %v", err)
	}
	rev, err = s.write(ctx, key(in.Saga, in.SagaID), b, rev, s.ttlOf(in))
	if err != nil {
		return 0, fmt.Errorf("saga: update %s: %w", key(in.Saga, in.SagaID), translate(err))
	}
	if s.ttlOf(in) != "" {
		s.expireReservation(ctx, in.SagaID, in.Saga)
	}
	return rev, nil
}

// reserve makes a saga id belong to one saga: the execution ids of its
// steps (<sagaId>-<step>) must not collide with another saga's that uses
// the same jobs. Reserving it again for the same saga is a no-op.
func (s *store) reserve(ctx context.Context, saga, sagaID string) error {
	k := "_ids." + sagaID // saga names cannot start with "_"
	_, err := s.kv.Create(ctx, k, []byte(saga))
	if err == nil {
		return nil
	}
	if !errors.Is(err, jetstream.ErrKeyExists) {
		return fmt.Errorf("saga: reserve %s: %w", sagaID, translate(err))
	}
	e, err := s.kv.Get(ctx, k)
	if err != nil {
		return fmt.Errorf("saga: reserve %s: %w", sagaID, translate(err))
	}
	if owner := string(e.Value()); owner != saga {
		return jobs.Errorf(jobs.CodeConflict, "sagaId %q is already used by saga %q", sagaID, owner)
	}
	return nil
}

// list returns the ids of a saga's instances.
//
// It reads the subjects of the bucket's stream, a consistent snapshot: a KV
// key lister is a watcher, which leaves out a key updated while it lists.
func (s *store) list(ctx context.Context, saga string) ([]string, error) {
	stream, err := s.js.Stream(ctx, "KV_"+s.bucket)
	if err != nil {
		return nil, translate(err)
	}
	prefix := "$KV." + s.bucket + "." + saga + "."
	info, err := stream.Info(ctx, jetstream.WithSubjectFilter(prefix+"*"))
	if err != nil {
		return nil, translate(err)
	}
	ids := make([]string, 0, len(info.State.Subjects))
	for subj := range info.State.Subjects {
		ids = append(ids, strings.TrimPrefix(subj, prefix))
	}
	sort.Strings(ids)
	return ids, nil
}

// maxCASAttempts bounds the read-modify-write loop on a contended instance.
const maxCASAttempts = 32

// modify applies mutate to the latest instance with compare-and-set,
// reading again and re-deciding on a conflict. mutate returns false when
// there is nothing to change; the instance is then returned as read.
func (s *store) modify(ctx context.Context, saga, sagaID string, mutate func(in *Instance) (bool, error)) (*Instance, error) {
	for range maxCASAttempts {
		in, rev, err := s.get(ctx, saga, sagaID)
		if err != nil {
			return nil, err
		}
		changed, err := mutate(in)
		if err != nil || !changed {
			return in, err
		}
		in.UpdatedAt = time.Now().UTC()
		if _, err = s.update(ctx, in, rev); err == nil {
			return in, nil
		}
		if !errors.Is(err, errConflict) {
			return nil, err
		}
	}
	return nil, jobs.Errorf(jobs.CodeUnavailable, "saga %s/%s: too many concurrent updates", saga, sagaID)
}

// JetStream error codes of a failed compare-and-set: "wrong last sequence"
// comes back as either, depending on the server path.
const (
	errCodeWrongLastSequence      = 10071
	errCodeWrongLastSequenceConst = 10164
)

// translate maps NATS errors to jobs errors at the adapter edge.
func translate(err error) error {
	var apiErr *jetstream.APIError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &apiErr) && (apiErr.ErrorCode == errCodeWrongLastSequence || apiErr.ErrorCode == errCodeWrongLastSequenceConst):
		// Checked before anything else: jetstream.ErrKeyExists matches code
		// 10071 too, so a failed Update would pass for a failed Create.
		return errConflict
	case errors.Is(err, jetstream.ErrKeyNotFound), errors.Is(err, jetstream.ErrKeyDeleted),
		errors.Is(err, jetstream.ErrBucketNotFound):
		return &jobs.Error{Code: jobs.CodeNotFound, Msg: "not found", Err: err}
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout), errors.Is(err, nats.ErrConnectionClosed),
		errors.Is(err, nats.ErrNoResponders), errors.Is(err, jetstream.ErrNoStreamResponse), errors.Is(err, nats.ErrDisconnected):
		return &jobs.Error{Code: jobs.CodeUnavailable, Msg: "JetStream unavailable", Err: err}
	}
	return bus.PortError("JetStream write", err)
}
