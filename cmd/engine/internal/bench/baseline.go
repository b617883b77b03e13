package bench

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Baseline streams, deleted after use.
const (
	rawStream = "BENCH_RAW"
	rawBucket = "BENCH_KV"
)

// baselineOps is how many messages (and KV puts) the baseline measures:
// four times the job count, for a measurement long enough to be stable.
func (e *env) baselineOps() int { return 4 * e.cfg.Jobs }

func (e *env) storage() jetstream.StorageType {
	if e.cfg.Storage == "memory" {
		return jetstream.MemoryStorage
	}
	return jetstream.FileStorage
}

// baseline measures raw JetStream with messages the size of a START
// command (its headers and body, with a fresh Nats-Msg-Id each, into a
// stream with the engine's duplicate window): async publish with at most
// 4096 in flight, a pull consumer acking each, and KV puts from
// Concurrency goroutines.
func (e *env) baseline(ctx context.Context) (Baseline, error) {
	n := e.baselineOps()
	b := Baseline{Messages: n}
	tmpl, err := e.startMsg(ctx, JobAsync, "raw-0")
	if err != nil {
		return b, err
	}
	for k, v := range tmpl.Header {
		b.MessageBytes += len(k) + len(strings.Join(v, ",")) + 4
	}
	b.MessageBytes += len(tmpl.Data)
	_ = e.js.DeleteStream(ctx, rawStream)
	st, err := e.js.CreateStream(ctx, jetstream.StreamConfig{Name: rawStream, Subjects: []string{"bench.raw.>"},
		Storage: e.storage(), Duplicates: 2 * time.Minute, Replicas: e.replicas()})
	if err != nil {
		return b, fmt.Errorf("stream %s: %w", rawStream, err)
	}
	defer func() { _ = e.js.DeleteStream(context.WithoutCancel(ctx), rawStream) }()

	// Async publish.
	var sent atomic.Int64
	stop := progress(e.log, "baseline publish", n, func() int { return int(sent.Load()) })
	errs0 := e.pubErrs.Load()
	t0 := time.Now()
	for i := range n {
		h := make(nats.Header, len(tmpl.Header))
		for k, v := range tmpl.Header {
			h[k] = v
		}
		h.Set(nats.MsgIdHdr, "raw-"+strconv.Itoa(i))
		// A replicated stream on a loaded machine may keep all 4096 in flight
		// for longer than nats.go's default 200ms stall: wait for room, as
		// the rate measured is what the server sustains.
		if _, err := e.js.PublishMsgAsync(&nats.Msg{Subject: "bench.raw.cmd", Header: h, Data: tmpl.Data},
			jetstream.WithStallWait(30*time.Second)); err != nil {
			stop()
			return b, fmt.Errorf("async publish: %w", err)
		}
		sent.Add(1)
	}
	select {
	case <-e.js.PublishAsyncComplete():
	case <-ctx.Done():
		stop()
		return b, ctx.Err()
	}
	b.AsyncPublishOpsPerSec = float64(n) / time.Since(t0).Seconds()
	stop()
	if bad := e.pubErrs.Load() - errs0; bad > 0 {
		return b, fmt.Errorf("async publish: %d publishes failed", bad)
	}
	e.say("  async publish: %s msgs/s", num(b.AsyncPublishOpsPerSec))

	// Consume with explicit acks.
	cons, err := st.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: "bench", AckPolicy: jetstream.AckExplicitPolicy,
		MaxAckPending: 4 * maxPending})
	if err != nil {
		return b, err
	}
	var got atomic.Int64
	done := make(chan struct{})
	stop = progress(e.log, "baseline consume", n, func() int { return int(got.Load()) })
	t0 = time.Now()
	cc, err := cons.Consume(func(m jetstream.Msg) {
		_ = m.Ack()
		if got.Add(1) == int64(n) {
			close(done)
		}
	}, jetstream.PullMaxMessages(maxPending))
	if err != nil {
		stop()
		return b, err
	}
	select {
	case <-done:
	case <-ctx.Done():
	case <-time.After(2 * time.Minute):
	}
	cc.Stop()
	stop()
	if got.Load() < int64(n) {
		return b, fmt.Errorf("consume: %d of %d messages", got.Load(), n)
	}
	b.ConsumeOpsPerSec = float64(n) / time.Since(t0).Seconds()
	e.say("  consume: %s msgs/s", num(b.ConsumeOpsPerSec))

	b.KVPutOpsPerSec, err = e.kvPuts(ctx, n, len(tmpl.Data))
	if err == nil {
		e.say("  kv put: %s puts/s", num(b.KVPutOpsPerSec))
	}
	return b, err
}

// kvPuts puts n values of size bytes under distinct keys from Concurrency
// goroutines.
func (e *env) kvPuts(ctx context.Context, n, size int) (float64, error) {
	_ = e.js.DeleteKeyValue(ctx, rawBucket)
	kv, err := e.js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: rawBucket, Storage: e.storage(), Replicas: e.replicas()})
	if err != nil {
		return 0, fmt.Errorf("bucket %s: %w", rawBucket, err)
	}
	defer func() { _ = e.js.DeleteKeyValue(context.WithoutCancel(ctx), rawBucket) }()
	val := []byte(strings.Repeat("v", size))
	var next, done atomic.Int64
	var firstErr atomic.Value
	stop := progress(e.log, "baseline kv put", n, func() int { return int(done.Load()) })
	defer stop()
	t0 := time.Now()
	var wg sync.WaitGroup
	for range e.cfg.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(n) || ctx.Err() != nil {
					return
				}
				if _, err := kv.Put(ctx, "k"+strconv.FormatInt(i, 10), val); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return 0, fmt.Errorf("kv put: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return float64(n) / time.Since(t0).Seconds(), nil
}
