package bus

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// MarkerTTL is how long a bucket keeps the delete marker the server leaves
// when a record's per-message TTL runs out (KeyValueConfig.LimitMarkerTTL),
// so that watchers see the record go. Setting it is also what allows
// per-message TTLs (Nats-TTL) on the bucket's stream.
const MarkerTTL = time.Minute

// BucketMarkerTTL is the LimitMarkerTTL to give bucket when its records may
// expire after ttl: MarkerTTL when ttl > 0. With ttl 0 (keep forever) a
// bucket that already allows per-message TTLs keeps its setting, since
// JetStream does not let a stream turn them off again; records written from
// then on simply carry no TTL.
func BucketMarkerTTL(ctx context.Context, js jetstream.JetStream, bucket string, ttl time.Duration) (time.Duration, error) {
	if ttl > 0 {
		return MarkerTTL, nil
	}
	kv, err := js.KeyValue(ctx, bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	st, err := kv.Status(ctx)
	if err != nil {
		return 0, err
	}
	if kvs, ok := st.(*jetstream.KeyValueBucketStatus); ok {
		return kvs.LimitMarkerTTL(), nil
	}
	return 0, nil
}

// TTLHeader is the Nats-TTL header value for ttl, whole seconds (the
// server's unit, at least 1); "" for ttl <= 0, which never expires.
func TTLHeader(ttl time.Duration) string {
	if ttl <= 0 {
		return ""
	}
	return strconv.FormatInt(max(int64(ttl/time.Second), 1), 10)
}
