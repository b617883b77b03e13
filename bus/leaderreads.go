package bus

import (
	"context"

	"github.com/nats-io/nats.go/jetstream"
)

// LeaderReads turns a replicated KV bucket's direct gets off and opens the
// bucket again, so that every read of it is answered by its stream leader.
//
// A direct get may be answered by any replica, also one that has not
// applied the latest write yet (a replica just restarted is still catching
// up): a read right after a write (the read half of a compare-and-set) can
// miss it. The engine and the saga coordinator decide from what they read
// (a CHECK timer whose record is not found is dropped; a saga with nothing
// left to do has its message acknowledged), so their buckets must read
// their own writes. Call it after creating or updating the bucket, which
// turns direct gets back on. A bucket with one replica is opened as it is.
// docs/operations.md, "Faults on a cluster".
func LeaderReads(ctx context.Context, js jetstream.JetStream, bucket string) (jetstream.KeyValue, error) {
	st, err := js.Stream(ctx, "KV_"+bucket)
	if err != nil {
		return nil, err
	}
	if cfg := st.CachedInfo().Config; cfg.Replicas > 1 && cfg.AllowDirect {
		cfg.AllowDirect = false
		if _, err := js.UpdateStream(ctx, cfg); err != nil {
			return nil, err
		}
	}
	return js.KeyValue(ctx, bucket)
}
