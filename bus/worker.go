package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/jetjobs/jetjobs/jobs"
)

// WorkerConfig tunes the command and timer consumers; zero values take the
// defaults in comments.
type WorkerConfig struct {
	Prefix      string        // jobs
	Concurrency int           // 64: stages of one job type processed at once by this instance
	AckWait     time.Duration // 30s: a silent handler's command is redelivered after this (long ones send in-progress acks)
	MaxDeliver  int           // 5: poison deliveries of a command before it is dead-lettered (outages do not count; see redeliver.go)
	// RedeliveryBackoff is the wait before the 1st, 2nd, ... redelivery of
	// a command that could not be processed, the last repeating; default
	// DefaultRedeliveryBackoff (1s, 5s, 30s, 2m, 5m).
	RedeliveryBackoff []time.Duration
	MaxLiveTimers     int           // 1,000,000: live executions per job type whose CHECK timers may wait at once
	MaxAckPending     int           // 16,384: commands of a job type in flight across all instances (a shared consumer limit)
	Source            string        // /jetjobs: CloudEvents source of stage responses
	DisableUnrouted   bool          // false: dead-letter commands for job types no engine serves
	SweepInterval     time.Duration // 2s: how often commands no job consumer takes are looked for
	Tracer            trace.Tracer  // no-op: spans for processing each command and timer
	// ReplyRule says which replyto subjects commands may name; default
	// NewReplyRule(Prefix, "", nil): only under _INBOX.
	ReplyRule *ReplyRule
	// Delays stores STARTs that carry a startat or delay extension
	// (delayed.go); nil: such STARTs are dead-lettered as not available.
	Delays DelayedStarts
}

// WithDefaults fills zero fields.
func (c WorkerConfig) WithDefaults() WorkerConfig {
	if c.Prefix == "" {
		c.Prefix = "jobs"
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 64
	}
	if c.AckWait <= 0 {
		c.AckWait = 30 * time.Second
	}
	if c.MaxDeliver <= 0 {
		c.MaxDeliver = 5
	}
	if len(c.RedeliveryBackoff) == 0 {
		c.RedeliveryBackoff = DefaultRedeliveryBackoff
	}
	if c.SweepInterval <= 0 {
		c.SweepInterval = 2 * time.Second
	}
	if c.MaxAckPending <= 0 {
		c.MaxAckPending = 16_384
	}
	if c.MaxLiveTimers <= 0 {
		c.MaxLiveTimers = 1_000_000
	}
	if c.Source == "" {
		c.Source = "/jetjobs"
	}
	if s, ok := sdkSource(c.Source); ok {
		c.Source = s // as the SDK writes a source: replies are encoded directly
	}
	if c.Tracer == nil {
		c.Tracer = tracenoop.NewTracerProvider().Tracer("")
	}
	if c.ReplyRule == nil {
		c.ReplyRule, _ = NewReplyRule(c.Prefix, "", nil) // cannot fail: a valid prefix and no patterns
	}
	return c
}

// Worker consumes commands and timers for every job type of a runtime.
type Worker struct {
	nc   *nats.Conn
	js   jetstream.JetStream
	rt   *jobs.Runtime
	cfg  WorkerConfig
	log  zerolog.Logger
	dlq  *deadLetters
	ctx  context.Context
	stop context.CancelFunc

	acks     *acker // reads the acknowledgements of the commands' publishes
	mu       sync.Mutex
	pools    []*Pool
	advisory *nats.Subscription
	known    sync.Map // job type -> true, for the sweeper
	sweeping sync.WaitGroup
	stopped  bool

	poison   poisonCounts // poison deliveries of commands, by stream sequence
	waitLog  *logLimiter  // commands waiting out an outage
	timerLog *logLimiter  // engine-driven CHECKs failing during an outage
}

// outageLogEvery is how often a kind of outage warning is logged (with
// the number held back since the last one).
const outageLogEvery = 10 * time.Second

// NewWorker prepares a worker; Start creates its consumers.
func NewWorker(nc *nats.Conn, js jetstream.JetStream, rt *jobs.Runtime, cfg WorkerConfig, log zerolog.Logger) *Worker {
	cfg = cfg.WithDefaults()
	return &Worker{nc: nc, js: js, rt: rt, cfg: cfg, log: log,
		dlq:     &deadLetters{js: js, subjects: Subjects{Prefix: cfg.Prefix}},
		waitLog: &logLimiter{every: outageLogEvery}, timerLog: &logLimiter{every: outageLogEvery}}
}

// CommandConsumer is the durable consumer name of a job type's commands.
func CommandConsumer(job string) string { return "cmd-" + job }

// TimerConsumer is the durable consumer name of a job type's CHECK timers.
func TimerConsumer(job string) string { return "timer-" + job }

// Start creates (idempotently) and consumes one command and one timer
// consumer per registered job type, plus the unrouted-command consumer.
func (w *Worker) Start(ctx context.Context) error {
	w.ctx, w.stop = context.WithCancel(context.WithoutCancel(ctx))
	acks, err := newAcker(w.nc, w.cfg.AckWait)
	if err != nil {
		return err
	}
	w.acks = acks
	p := w.cfg.Prefix
	for _, def := range w.rt.Registry().Definitions() {
		cons, err := w.js.CreateOrUpdateConsumer(ctx, StreamCommands, jetstream.ConsumerConfig{
			Durable: CommandConsumer(def.Name), Description: "jetjobs commands of " + def.Name,
			FilterSubject: p + ".cmd." + def.Name + ".*", AckPolicy: jetstream.AckExplicitPolicy,
			// No max-deliver: outages are waited out; the engine counts
			// poison deliveries itself (redeliver.go).
			AckWait: w.cfg.AckWait, MaxDeliver: -1, MaxAckPending: max(w.cfg.MaxAckPending, w.cfg.Concurrency),
		})
		if err != nil {
			return fmt.Errorf("bus: consumer %s: %w", CommandConsumer(def.Name), err)
		}
		w.known.Store(def.Name, true)
		if err := w.run(cons, w.cfg.Concurrency, w.handleCommand); err != nil {
			return err
		}
		if def.Async == nil {
			continue
		}
		tcons, err := w.js.CreateOrUpdateConsumer(ctx, StreamTimers, jetstream.ConsumerConfig{
			Durable: TimerConsumer(def.Name), Description: "jetjobs CHECK timers of " + def.Name,
			// Both subjects: P.timer.<job>.<id> now, P.timer.<job> for
			// timers armed by engines before issue 13 (streams.go).
			FilterSubjects: []string{p + ".timer." + def.Name, p + ".timer." + def.Name + ".*"}, AckPolicy: jetstream.AckExplicitPolicy,
			AckWait: w.cfg.AckWait, MaxDeliver: -1, MaxAckPending: w.cfg.MaxLiveTimers,
		})
		if err != nil {
			return fmt.Errorf("bus: consumer %s: %w", TimerConsumer(def.Name), err)
		}
		if err := w.run(tcons, w.cfg.Concurrency, w.handleTimer); err != nil {
			return err
		}
	}
	if !w.cfg.DisableUnrouted {
		w.startSweeper(ctx)
	}
	sub, err := w.nc.Subscribe("$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES."+StreamCommands+".*", w.handleMaxDeliveries)
	if err != nil {
		return fmt.Errorf("bus: advisory subscription: %w", err)
	}
	w.mu.Lock()
	w.advisory = sub
	w.mu.Unlock()
	return nil
}

func (w *Worker) run(cons jetstream.Consumer, n int, handle func(jetstream.Msg)) error {
	p, err := Consume(cons, n, handle, PoolOptions{Logger: w.log, Conn: w.nc})
	if err != nil {
		return fmt.Errorf("bus: consume: %w", err)
	}
	w.mu.Lock()
	w.pools = append(w.pools, p)
	w.mu.Unlock()
	return nil
}

// Stop drains every consumer: no new message is taken, the ones in hand
// finish (at most until ctx ends; the rest is redelivered). Safe twice.
func (w *Worker) Stop(ctx context.Context) {
	w.mu.Lock()
	if w.stopped {
		w.mu.Unlock()
		return
	}
	w.stopped = true
	pools, sub := w.pools, w.advisory
	w.mu.Unlock()
	if sub != nil {
		_ = sub.Unsubscribe()
	}
	var wg sync.WaitGroup
	for _, p := range pools {
		wg.Add(1)
		go func() { defer wg.Done(); p.Stop(ctx) }()
	}
	wg.Wait()
	if w.stop != nil {
		w.stop()
	}
	w.sweeping.Wait()
	if w.acks != nil {
		w.acks.close()
	}
}

// handleTimer runs one engine-driven CHECK and re-arms the timer.
func (w *Worker) handleTimer(msg jetstream.Msg) {
	job, _ := strings.CutPrefix(msg.Subject(), w.cfg.Prefix+".timer.")
	job, _, _ = strings.Cut(job, ".") // P.timer.<job>.<id>, or P.timer.<job> (older engines)
	id := msg.Headers().Get(headerExecutionID)
	defer func() {
		if v := recover(); v != nil {
			w.log.Error().Str("jobType", job).Str("executionId", id).Str("panic", fmt.Sprint(v)).
				Bytes("stack", debug.Stack()).Msg("engine-driven CHECK panicked; retrying")
			_ = msg.NakWithDelay(time.Second)
		}
	}()
	if jobs.ValidateExecutionID(id) != nil {
		_ = msg.Term()
		return
	}
	meta, err := msg.Metadata()
	if err != nil {
		_ = msg.Term()
		return
	}
	n := int(meta.NumDelivered)
	if n == 1 {
		if nb, err := strconv.ParseInt(msg.Headers().Get(headerNotBefore), 10, 64); err == nil {
			if wait := time.Until(time.Unix(0, nb)); wait > 0 {
				_ = msg.NakWithDelay(wait)
				return
			}
		}
	}
	ctx := traceContext.Extract(w.ctx, headerCarrier(msg.Headers()))
	ctx, span := w.cfg.Tracer.Start(ctx, "check-timer "+job, trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(attribute.String("jetjobs.job_type", job), attribute.String("jetjobs.execution_id", id),
			attribute.Int("jetjobs.tick", n)))
	defer span.End()
	stop := KeepAlive(msg, w.cfg.AckWait)
	defer stop() // also on a panic
	ctx, pipe := withPipeline(ctx, w.acks)
	done, next, err := w.rt.TickBatch(ctx, jobs.NewBatch(pipe), job, id, max(n-1, 1)) // waits for the pipeline
	stop()
	switch {
	case err != nil:
		// During an outage every live timer fails each second: one line
		// per interval says so.
		if ok, held := w.timerLog.allow(time.Now()); ok {
			w.log.Warn().Err(err).Str("jobType", job).Str("executionId", id).Int("alsoFailed", held).
				Msg("engine-driven CHECK failed; retrying")
		}
		_ = msg.NakWithDelay(time.Second)
	case done:
		_ = msg.Ack()
	default:
		_ = msg.NakWithDelay(next)
	}
}

// isKnown reports whether some engine has a command consumer for job.
func (w *Worker) isKnown(job string) bool {
	if _, ok := w.known.Load(job); ok {
		return true
	}
	ctx, cancel := context.WithTimeout(w.ctx, 5*time.Second)
	defer cancel()
	_, err := w.js.Consumer(ctx, StreamCommands, CommandConsumer(job))
	if err == nil {
		w.known.Store(job, true)
		return true
	}
	// Unsure (NATS trouble) counts as known: never dead-letter a good
	// command by mistake.
	return !errors.Is(err, jetstream.ErrConsumerNotFound)
}

// handleMaxDeliveries dead-letters a command the server gave up on because
// no engine acknowledged it in MaxDeliver deliveries (the engine crashed or
// hung on it every time).
func (w *Worker) handleMaxDeliveries(m *nats.Msg) {
	var adv struct {
		Stream     string `json:"stream"`
		Consumer   string `json:"consumer"`
		StreamSeq  uint64 `json:"stream_seq"`
		Deliveries uint64 `json:"deliveries"`
	}
	if err := json.Unmarshal(m.Data, &adv); err != nil || adv.Stream != StreamCommands {
		return
	}
	ctx, cancel := context.WithTimeout(w.ctx, 5*time.Second)
	defer cancel()
	stream, err := w.js.Stream(ctx, StreamCommands)
	if err != nil {
		return
	}
	raw, err := stream.GetMsg(ctx, adv.StreamSeq)
	if err != nil {
		return
	}
	rest, _ := strings.CutPrefix(raw.Subject, w.cfg.Prefix+".cmd.")
	job, stage, _ := strings.Cut(rest, ".")
	reason := fmt.Sprintf("exhausted %d deliveries without an acknowledgement (consumer %s)", adv.Deliveries, adv.Consumer)
	if err := w.dlq.put(ctx, raw.Subject, raw.Header, raw.Data, job, stage, reason, adv.StreamSeq, adv.Deliveries); err != nil {
		w.log.Error().Err(err).Uint64("seq", adv.StreamSeq).Msg("dead-lettering an exhausted command failed")
		return
	}
	// The work queue keeps a message its consumer gave up on: it is in the
	// DLQ now, so it goes (another engine may have removed it already).
	if err := stream.DeleteMsg(ctx, adv.StreamSeq); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
		w.log.Warn().Err(err).Uint64("seq", adv.StreamSeq).Msg("removing a dead-lettered command from the command stream failed")
	}
}

func (w *Worker) source(job string) string {
	if jobs.ValidateJobName(job) == nil {
		return w.cfg.Source + "/" + job
	}
	return w.cfg.Source
}
