package saga

import (
	"context"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Limits bound what the coordinator stores (docs/operations.md, "Retention
// and limits"); zero values: no bound.
type Limits struct {
	CommandsMaxAge   time.Duration // 0: SAGA_COMMANDS keeps a command no coordinator took forever
	CommandsMaxBytes int64         // 0: no size bound on SAGA_COMMANDS; full, it refuses new commands
	TimersMaxAge     time.Duration // 0: no age bound on SAGA_TIMERS (a timer lives as long as its step waits)
	TimersMaxBytes   int64         // 0: no size bound on SAGA_TIMERS
	BucketMaxBytes   int64         // 0: no size bound on SAGAS; full, it refuses writes
	// FinishedTTL is how long SAGAS keeps a finished instance (COMPLETED,
	// COMPENSATED, CANCELLED) after its last write; 0, forever. Running
	// instances and FAILED ones, which wait for an operator, never expire.
	FinishedTTL time.Duration
}

// noBound maps a size of 0 (no bound) to JetStream's -1.
func noBound(b int64) int64 {
	if b <= 0 {
		return -1
	}
	return b
}

// expires reports whether an instance in status st may expire.
func expires(st Status) bool { return st.Terminal() && st != StatusFailed }

// ttlOf is the Nats-TTL of in's record: the store's for a finished
// instance, none otherwise.
func (s *store) ttlOf(in *Instance) string {
	if expires(in.Status) {
		return s.ttl
	}
	return ""
}

// write puts b at key if the key's last revision is last, with the
// per-message TTL ttl ("" for none). nats.go's KV sets a TTL only on
// Create, so an update that finishes a saga is a plain publish on the
// key's subject with the same compare-and-set header kv.Update sends.
func (s *store) write(ctx context.Context, key string, b []byte, last uint64, ttl string) (uint64, error) {
	msg := &nats.Msg{Subject: "$KV." + s.bucket + "." + key, Data: b,
		Header: nats.Header{jetstream.ExpectedLastSubjSeqHeader: []string{strconv.FormatUint(last, 10)}}}
	if ttl != "" {
		msg.Header[jetstream.MsgTTLHeader] = []string{ttl}
	}
	ack, err := s.js.PublishMsg(ctx, msg)
	if err != nil {
		return 0, err
	}
	return ack.Sequence, nil
}

// expireReservation lets a finished saga's id reservation (store.reserve)
// expire with it. Best effort: a reservation left behind only keeps the id
// taken, as before retention existed.
func (s *store) expireReservation(ctx context.Context, sagaID, saga string) {
	msg := &nats.Msg{Subject: "$KV." + s.bucket + "._ids." + sagaID, Data: []byte(saga),
		Header: nats.Header{jetstream.MsgTTLHeader: []string{s.ttl}}}
	_, _ = s.js.PublishMsg(ctx, msg)
}
