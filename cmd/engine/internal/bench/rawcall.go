package bench

import (
	"context"
	"encoding/json"
	"io"
	"math"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/jobs"
	"github.com/jetjobs/jetjobs/kv"
)

// The raw call baseline: raw JetStream doing the NATS work of one sync
// EXECUTE, with no engine, in the raw burn-down's copies of the engine's
// streams and buckets (rawburndown.go) and a copy of JOBS_RESULTS.
const (
	rawBDResults = "BENCH_RAWBD_RESULTS" // its stream is KV_BENCH_RAWBD_RESULTS
	// rawCallWrites is what a sync EXECUTE of the no-op job stores besides
	// its command: the record, the audit entry, the result, JOB_COMPLETED.
	rawCallWrites = 4
	// rawReplyHeader carries the caller's inbox on a raw call.
	rawReplyHeader = "Bench-Reply"
)

// rawCallSubject is where a raw call's EXECUTE goes: the engine's command
// subject under the raw prefix, in the copy of JOBS_COMMANDS.
var rawCallSubject = bus.Subjects{Prefix: rawBDPrefix}.Command(JobSync, jobs.StageExecute.Token())

// rawResponder consumes each raw call with a copy of the engine's command
// consumer for the sync job (the engine's pool size), and does what the
// engine does for it: the record created in the state bucket's copy,
// waiting for the answer; the audit entry, the result (a put in the
// results bucket's copy) and JOB_COMPLETED pipelined and their acks
// awaited; the answer on the caller's inbox (core NATS); the command
// acked. Watchers on both buckets stand for the execution index and the
// result store's cache. The bodies are shaped like the engine's and the
// same for every call (no encoding).
func (e *env) rawResponder(ctx context.Context) (stop func(), err error) {
	if err := e.rawBDStreams(ctx); err != nil {
		return nil, err
	}
	drop := func() { e.dropRawBD(context.WithoutCancel(ctx)) }
	cons, err := e.copyConsumer(ctx, JobSync, rawCallSubject)
	if err != nil {
		drop()
		return nil, err
	}
	var watchers []func()
	stopAll := func() {
		for _, w := range watchers {
			w()
		}
		drop()
	}
	for _, b := range []string{rawBDBucket, rawBDResults} {
		bucket, err := e.js.KeyValue(ctx, b)
		if err != nil {
			stopAll()
			return nil, err
		}
		var seen atomic.Int64
		w, err := watchBucket(ctx, bucket, &seen)
		if err != nil {
			stopAll()
			return nil, err
		}
		watchers = append(watchers, w)
	}
	js, err := jetstream.New(e.nc, jetstream.WithPublishAsyncMaxPending(maxPending))
	if err != nil {
		stopAll()
		return nil, err
	}
	const job = JobSync
	subj := bus.Subjects{Prefix: rawBDPrefix}
	b := newRawSyncBodies(job, 36, e.params) // the engine's execution ids are UUIDs
	ttl := rawRecordTTL()
	var msgIDs atomic.Int64
	pool, err := bus.Consume(cons, jetjobsPool, func(m jetstream.Msg) {
		id := m.Headers().Get("ce-id")
		if err := rawCreate(ctx, js, job, id, b.record, ttl, &msgIDs); err != nil {
			_ = m.Nak()
			return
		}
		key := kv.Key(job, id)
		msgs := [rawCallWrites - 1]*nats.Msg{
			rawAuditMsg(subj, job, id, b.audit, &msgIDs),
			{Subject: "$KV." + rawBDResults + "." + key, Data: b.result, Header: nats.Header{
				nats.MsgIdHdr: {rawMsgID(&msgIDs)}}},
			{Subject: subj.Event(job, jobs.EventCompleted), Data: b.completed,
				Header: rawEventHeader(job, id, jobs.EventCompleted, time.Now().UTC().Format(time.RFC3339Nano))},
		}
		if err := publishAll(ctx, js, msgs[:]); err != nil {
			_ = m.Nak()
			return
		}
		_ = e.nc.Publish(m.Headers().Get(rawReplyHeader), b.reply)
		_ = m.Ack()
	})
	if err != nil {
		stopAll()
		return nil, err
	}
	return func() {
		pool.Stop(context.WithoutCancel(ctx))
		stopAll()
	}, nil
}

// rawCaller is the client side of the raw call baseline: it publishes the
// EXECUTE command a bus.Client would send to a subject of the raw stream,
// with the caller's inbox in a header, and waits for any answer there.
type rawCaller struct {
	nc      *nats.Conn
	js      jetstream.JetStream
	client  *bus.Client
	job     string
	subject string
	timeout time.Duration
	inboxes chan *nats.Subscription // idle inbox subscriptions, one per concurrent caller at most
}

func newRawCaller(nc *nats.Conn, js jetstream.JetStream, client *bus.Client, job, subject string, timeout time.Duration) *rawCaller {
	return &rawCaller{nc: nc, js: js, client: client, job: job, subject: subject, timeout: timeout,
		inboxes: make(chan *nats.Subscription, 1024)}
}

func (c *rawCaller) call(ctx context.Context, params map[string]any) error {
	var sub *nats.Subscription
	select {
	case sub = <-c.inboxes:
	default: // (a sync.Pool would drop them at each collection and leak the subscriptions)
		var err error
		if sub, err = c.nc.SubscribeSync(nats.NewInbox()); err != nil {
			return err
		}
	}
	defer func() {
		select {
		case c.inboxes <- sub:
		default:
			_ = sub.Unsubscribe()
		}
	}()
	ev, err := c.client.Command(ctx, c.job, jobs.StageExecute, &jobs.Request{Parameters: params}, bus.SendOptions{})
	if err != nil {
		return err
	}
	h, body, err := bus.Encode(ev)
	if err != nil {
		return err
	}
	h.Set(rawReplyHeader, sub.Subject)
	if _, err := c.js.PublishMsg(ctx, &nats.Msg{Subject: c.subject, Header: h, Data: body}); err != nil {
		return err
	}
	_, err = sub.NextMsg(c.timeout)
	return err
}

// rawREST serves the raw call baseline over HTTP, as the REST adapter
// serves EXECUTE: POST /execute with a JobStageRequest body, decoded, sent
// as a raw call, 200 with a small JSON answer. Plain net/http, no router,
// no middleware, no engine. It returns the URL and a stop function.
func (e *env) rawREST(ctx context.Context) (string, func(), error) {
	rc := newRawCaller(e.nc, e.js, e.client, JobSync, rawCallSubject, 30*time.Second)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /execute", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Parameters map[string]any `json:"parameters"`
		}
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if err := rc.call(r.Context(), req.Parameters); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"success":true}`))
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String() + "/execute", func() { _ = srv.Shutdown(context.WithoutCancel(ctx)) }, nil
}

// jetjobsPool is the engine's default command-concurrency, for the raw
// responder to match.
const jetjobsPool = 256

// withRawBaseline follows an engine scenario's two passes (full speed,
// half rate) with its raw baseline, on a fresh server: raw calls with as
// many writes per call as the engine stored besides the command, sent by
// `engine loadgen` (with extra flags) to the URL that serve gives, at full
// speed and at the rate of the engine's half-rate pass. what says what the
// raw calls go through; floor names the engine's pass they bound.
func (e *env) withRawBaseline(ctx context.Context, out []Result, name, what, floor string,
	serve func(context.Context) (url string, stop func(), err error), extra ...string) []Result {
	if len(out) < 2 || out[0].Error != "" || out[1].Error != "" || ctx.Err() != nil {
		return out
	}
	if err := e.between(ctx); err != nil { // a fresh server, as the engine had
		return append(out, failed(name, err)...)
	}
	stop, err := e.rawResponder(ctx)
	if err != nil {
		return append(out, failed(name, err)...)
	}
	defer stop()
	url, stopServe, err := serve(ctx)
	if err != nil {
		return append(out, failed(name, err)...)
	}
	defer stopServe()
	full, _, err := e.loadgen(ctx, name, url, e.cfg.Jobs, 0, extra...)
	if err != nil {
		return append(out, failed(name, err)...)
	}
	full.PersistedOpsPerJob = rawCallWrites + 1
	full.note("raw JetStream doing a sync EXECUTE's NATS work without the engine (the request stored in a copy of "+
		"JOBS_COMMANDS and consumed, the record created and awaited, audit entry, result and JOB_COMPLETED pipelined "+
		"and awaited, watchers on both buckets, reply on core NATS) %s, from engine loadgen", what)
	if engine := out[0].PersistedOpsPerJob; math.Abs(engine-full.PersistedOpsPerJob) > 0.05 {
		full.note("the engine stored %.2f messages per call, the raw call %d: not the same work", engine, rawCallWrites+1)
	}
	out = append(out, full)
	rate, n := out[1].Throughput, out[1].Ops+out[1].Errors
	if ctx.Err() != nil {
		return out
	}
	half, _, err := e.loadgen(ctx, name+"-at-half-rate", url, n, rate, extra...)
	if err != nil {
		return append(out, failed(name+"-at-half-rate", err)...)
	}
	half.PersistedOpsPerJob = full.PersistedOpsPerJob
	half.note("the raw calls at the engine's half rate (%.0f/s), open loop: the latency floor for %s", rate, floor)
	return append(out, half)
}
