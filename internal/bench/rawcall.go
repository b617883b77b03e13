package bench

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetjobs/jetjobs/bus"
)

// The raw call baseline: raw JetStream doing what one sync EXECUTE
// persists, with no engine.
const (
	rawCallStream  = "BENCH_RAWCALL"
	rawCallSubject = "bench.rawcall.in"
	// rawReplyHeader carries the caller's inbox on a raw call.
	rawReplyHeader = "Bench-Reply"
)

// rawResponder consumes each request of the raw call baseline from a
// stream (a durable pull consumer, explicit acks, the engine's pool size),
// publishes writes messages of the request's size (pipelined, each with
// its own id) and waits for their acknowledgements, answers on the
// request's reply inbox (core NATS) and acks the request: the JetStream
// work of one sync EXECUTE, as the engine does it, without the engine.
func (e *env) rawResponder(ctx context.Context, writes int) (stop func(), err error) {
	_ = e.js.DeleteStream(ctx, rawCallStream)
	st, err := e.js.CreateStream(ctx, jetstream.StreamConfig{Name: rawCallStream, Subjects: []string{"bench.rawcall.>"},
		Storage: jetstream.FileStorage, Duplicates: 2 * time.Minute})
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", rawCallStream, err)
	}
	cons, err := st.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: "rawcall", FilterSubject: rawCallSubject,
		AckPolicy: jetstream.AckExplicitPolicy, MaxAckPending: 16384})
	if err != nil {
		return nil, err
	}
	js, err := jetstream.New(e.nc, jetstream.WithPublishAsyncMaxPending(maxPending))
	if err != nil {
		return nil, err
	}
	var seq atomic.Int64
	pool, err := bus.Consume(cons, jetjobsPool, func(m jetstream.Msg) {
		futures := make([]jetstream.PubAckFuture, 0, writes)
		for range writes {
			id := "rw-" + strconv.FormatInt(seq.Add(1), 36)
			f, err := js.PublishMsgAsync(&nats.Msg{Subject: "bench.rawcall.out", Data: m.Data(),
				Header: nats.Header{nats.MsgIdHdr: {id}}})
			if err != nil {
				_ = m.Nak()
				return
			}
			futures = append(futures, f)
		}
		for _, f := range futures {
			select {
			case <-f.Ok():
			case <-f.Err():
				_ = m.Nak()
				return
			}
		}
		_ = e.nc.Publish(m.Headers().Get(rawReplyHeader), []byte(`{"success":true}`))
		_ = m.Ack()
	})
	if err != nil {
		return nil, err
	}
	return func() {
		pool.Stop(context.WithoutCancel(ctx))
		_ = e.js.DeleteStream(context.WithoutCancel(ctx), rawCallStream)
	}, nil
}

// jetjobsPool is the engine's default command-concurrency, for the raw
// responder to match.
const jetjobsPool = 256

// rawCalls measures the raw call baseline from `engine loadgen` at full
// speed and at rate (the engine's half-rate pass's), with as many writes
// per call as the engine stored per sync call besides the command.
func (e *env) rawCalls(ctx context.Context, stored float64, rate float64, n int) []Result {
	const name = "sync-raw"
	writes := max(int(math.Round(stored))-1, 0)
	stop, err := e.rawResponder(ctx, writes)
	if err != nil {
		return failed(name, err)
	}
	defer stop()
	full, _, err := e.loadgen(ctx, name, e.url, e.cfg.Jobs, 0, "--raw-subject", rawCallSubject)
	if err != nil {
		return failed(name, err)
	}
	full.PersistedOpsPerJob = float64(writes + 1)
	full.note("raw JetStream doing a sync call's writes without the engine (request stored and consumed, %d writes "+
		"pipelined, reply on core NATS), from engine loadgen", writes)
	if rate <= 0 || ctx.Err() != nil {
		return []Result{full}
	}
	half, _, err := e.loadgen(ctx, name+"-at-half-rate", e.url, n, rate, "--raw-subject", rawCallSubject)
	if err != nil {
		return append([]Result{full}, failed(name+"-at-half-rate", err)...)
	}
	half.PersistedOpsPerJob = full.PersistedOpsPerJob
	half.note("the raw calls at the engine's half rate (%.0f/s), open loop: the latency floor for sync-half-rate", rate)
	return []Result{full, half}
}
