package kv

import (
	"context"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/jobs"
)

// Retention of terminal records (docs/operations.md, "Retention and
// limits"). A terminal record is written, like every record, as a publish
// on $KV.<bucket>.<key> with Nats-Expected-Last-Subject-Sequence (the
// compare-and-set of every transition), and in addition with a Nats-TTL
// header: the server removes it that long after its last write and leaves
// a short-lived delete marker. Every later write of the terminal record
// (the terminal-event flag) carries the TTL again, so the clock counts from
// the last one. A live record carries no TTL and never expires. nats.go's
// KeyTTL exists only on Create, which is why the store writes the header
// itself: the server accepts Nats-TTL on any publish to a stream that
// allows per-message TTLs, and the bucket's LimitMarkerTTL allows them
// (bus.BucketMarkerTTL; enabling it on an existing bucket is an in-place
// update).

// markerTTL is the bucket's LimitMarkerTTL for a terminal TTL.
func markerTTL(ctx context.Context, js jetstream.JetStream, bucket string, ttl time.Duration) (time.Duration, error) {
	return bus.BucketMarkerTTL(ctx, js, bucket, ttl)
}

// ttlOf is the Nats-TTL of e's record: the store's for a terminal record,
// none for a live one.
func (s *StateStore) ttlOf(e *jobs.Execution) string {
	if e.Status.Terminal() {
		return s.ttl
	}
	return ""
}

// bucketError explains a failure to create or update a bucket at start-up.
func bucketError(bucket string, err error) error {
	return bus.StreamError("KV_"+bucket, translate(err))
}
