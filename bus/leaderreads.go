package bus

import (
	"context"

	"github.com/nats-io/nats.go/jetstream"
)

// LeaderReads makes every read of a replicated bucket go to its stream's
// leader. A bucket is created with allow_direct, which lets any replica
// answer a get, a follower too, however far behind it is: on a cluster, a
// read right after a write (the read half of a compare-and-set) may see an
// older revision or no key at all, and a decision taken on it ("nothing
// left to do") is wrong. A bucket with one replica is left as it is.
func LeaderReads(ctx context.Context, js jetstream.JetStream, kv jetstream.KeyValue) (jetstream.KeyValue, error) {
	name := "KV_" + kv.Bucket()
	st, err := js.Stream(ctx, name)
	if err != nil {
		return nil, err
	}
	cfg := st.CachedInfo().Config
	if cfg.Replicas <= 1 || !cfg.AllowDirect {
		return kv, nil
	}
	cfg.AllowDirect = false
	if _, err := js.UpdateStream(ctx, cfg); err != nil {
		return nil, err
	}
	return js.KeyValue(ctx, kv.Bucket())
}
