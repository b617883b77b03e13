package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/jobs"
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
		Storage: jetstream.FileStorage, Duplicates: 2 * time.Minute, Replicas: e.replicas()})
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
	writes := max(int(math.Round(out[0].PersistedOpsPerJob))-1, 0)
	stop, err := e.rawResponder(ctx, writes)
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
	full.PersistedOpsPerJob = float64(writes + 1)
	full.note("raw JetStream doing the engine's writes without the engine (request stored and consumed, %d writes "+
		"pipelined, reply on core NATS) %s, from engine loadgen", writes, what)
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
