package kv

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// SetDuplicateWindow sets the duplicate window of a bucket's stream (a KV
// bucket is created with 2m). Every pipelined write carries a Nats-Msg-Id
// so that a resend after a leader election is not stored twice (bus
// acker), and the server keeps each id for the whole window: the window
// only needs to cover the resends, which end within the ack wait, and a
// shorter one saves much server memory at high rates. Unchanged if it is
// already d.
func SetDuplicateWindow(ctx context.Context, js jetstream.JetStream, bucket string, d time.Duration) error {
	name := "KV_" + bucket
	s, err := js.Stream(ctx, name)
	if err != nil {
		return fmt.Errorf("kv: bucket %s: %w", bucket, translate(err))
	}
	cfg := s.CachedInfo().Config
	if d <= 0 || cfg.Duplicates == d {
		return nil
	}
	cfg.Duplicates = d
	if _, err := js.UpdateStream(ctx, cfg); err != nil {
		return fmt.Errorf("kv: bucket %s: duplicate window: %w", bucket, translate(err))
	}
	return nil
}
