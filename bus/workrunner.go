package bus

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/jetjobs/jetjobs/jobs"
)

// WorkRunnerConfig tunes a WorkRunner; zero values take the defaults in
// comments.
type WorkRunnerConfig struct {
	Prefix string // jobs
	// Concurrency is how many Work calls of one worker job type this
	// instance runs at once, unless the job sets its own
	// (jobs.WithConcurrency): 100.
	Concurrency int
	// AckWait is how long a work message may go without a heartbeat before
	// it is redelivered to another instance: 30s. Heartbeats (in-progress
	// acknowledgements) go every AckWait/3 while Work runs.
	AckWait time.Duration
	// ErrorDelay is the wait before a work message whose run failed on the
	// engine's side (state store unavailable) is tried again: 1s.
	ErrorDelay time.Duration
	// FetchWait is how long one pull waits for work: 5s.
	FetchWait time.Duration
}

// WithDefaults fills zero fields.
func (c WorkRunnerConfig) WithDefaults() WorkRunnerConfig {
	if c.Prefix == "" {
		c.Prefix = "jobs"
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 100
	}
	if c.AckWait <= 0 {
		c.AckWait = 30 * time.Second
	}
	if c.ErrorDelay <= 0 {
		c.ErrorDelay = time.Second
	}
	if c.FetchWait <= 0 {
		c.FetchWait = 5 * time.Second
	}
	return c
}

// WorkRunner runs worker jobs' Work (jobs.WorkerJob): one durable pull
// consumer per worker job type on JOBS_WORK, each with its own slots, so a
// flood of one type cannot starve another. It takes only as many messages
// as it has free slots. (Worker, in worker.go, is the command consumer
// pool; this is its counterpart for queued work.)
type WorkRunner struct {
	nc  *nats.Conn
	js  jetstream.JetStream
	rt  *jobs.Runtime
	cfg WorkRunnerConfig
	log zerolog.Logger

	acks       *acker          // reads the acknowledgements of the runs' pipelined writes
	fetchCtx   context.Context // ends the pulls (Stop)
	stopFetch  context.CancelFunc
	workCtx    context.Context // ends the Work calls still running when Stop gives up
	cancelWork context.CancelFunc
	loops      sync.WaitGroup // the pull loops
	inflight   sync.WaitGroup // Work calls and cancel answers

	mu      sync.Mutex
	held    map[string]*heldWork // <job>.<executionId> -> the Work running here
	sub     *nats.Subscription
	stopped bool
}

// heldWork is one Work call running on this instance.
type heldWork struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// NewWorkRunner prepares a runner; Start creates its consumers.
func NewWorkRunner(nc *nats.Conn, js jetstream.JetStream, rt *jobs.Runtime, cfg WorkRunnerConfig, log zerolog.Logger) *WorkRunner {
	return &WorkRunner{nc: nc, js: js, rt: rt, cfg: cfg.WithDefaults(), log: log, held: map[string]*heldWork{}}
}

// Start subscribes to the STOP broadcasts and starts one pull loop per
// worker job type. Without worker jobs it does nothing.
func (r *WorkRunner) Start(ctx context.Context) error {
	r.fetchCtx, r.stopFetch = context.WithCancel(context.WithoutCancel(ctx))
	r.workCtx, r.cancelWork = context.WithCancel(context.WithoutCancel(ctx))
	var defs []*jobs.Definition
	for _, d := range r.rt.Registry().Definitions() {
		if d.Worker != nil {
			defs = append(defs, d)
		}
	}
	if len(defs) == 0 {
		return nil
	}
	acks, err := newAcker(r.nc, r.cfg.AckWait)
	if err != nil {
		return err
	}
	sub, err := r.nc.Subscribe(r.cfg.Prefix+".cancel.>", r.onCancel)
	if err != nil {
		acks.close()
		return fmt.Errorf("bus: cancel subscription: %w", err)
	}
	r.mu.Lock()
	r.sub, r.acks = sub, acks
	r.mu.Unlock()
	for _, def := range defs {
		cons, err := r.js.CreateOrUpdateConsumer(ctx, StreamWork, jetstream.ConsumerConfig{
			Durable: WorkConsumer(def.Name), Description: "jetjobs work of " + def.Name,
			FilterSubject: r.cfg.Prefix + ".work." + def.Name + ".*", AckPolicy: jetstream.AckExplicitPolicy,
			// No max-deliver: the runtime counts attempts in the record.
			AckWait: r.cfg.AckWait, MaxDeliver: -1, MaxAckPending: 65_536,
		})
		if err != nil {
			return fmt.Errorf("bus: consumer %s: %w", WorkConsumer(def.Name), err)
		}
		n := def.Options.Concurrency
		if n <= 0 {
			n = r.cfg.Concurrency
		}
		r.loops.Add(1)
		go r.loop(cons, def.Name, n)
	}
	return nil
}

// loop pulls work for one job type into its n slots.
func (r *WorkRunner) loop(cons jetstream.Consumer, job string, n int) {
	defer r.loops.Done()
	slots := make(chan struct{}, n)
	for {
		select {
		case slots <- struct{}{}:
		case <-r.fetchCtx.Done():
			return
		}
		free := 1
	more:
		for free < n {
			select {
			case slots <- struct{}{}:
				free++
			default:
				break more
			}
		}
		fctx, cancel := context.WithTimeout(r.fetchCtx, r.cfg.FetchWait)
		batch, err := cons.Fetch(free, jetstream.FetchContext(fctx))
		got := 0
		if err == nil {
			for msg := range batch.Messages() {
				got++
				r.inflight.Add(1)
				go func() {
					defer func() { <-slots; r.inflight.Done() }()
					r.handle(job, msg)
				}()
			}
			err = batch.Error()
		}
		cancel()
		for range free - got {
			<-slots
		}
		if err != nil && r.fetchCtx.Err() == nil && fctx.Err() == nil {
			r.log.Debug().Err(err).Str("jobType", job).Msg("pulling work failed; trying again")
			select {
			case <-time.After(r.cfg.ErrorDelay):
			case <-r.fetchCtx.Done():
				return
			}
		}
	}
}

// handle runs one work message: Work with a heartbeat, then the ack, or
// the message handed back for a retry.
func (r *WorkRunner) handle(job string, msg jetstream.Msg) {
	id := msg.Subject()[strings.LastIndexByte(msg.Subject(), '.')+1:]
	var body workBody
	if err := json.Unmarshal(msg.Data(), &body); err != nil {
		r.log.Error().Err(err).Str("jobType", job).Str("executionId", id).Msg("undecodable work message dropped")
		_ = msg.Term()
		return
	}
	ctx, cancel := context.WithCancel(r.workCtx)
	defer cancel()
	key := job + "." + id
	h := &heldWork{cancel: cancel, done: make(chan struct{})}
	r.mu.Lock()
	r.held[key] = h
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		if r.held[key] == h {
			delete(r.held, key)
		}
		r.mu.Unlock()
		close(h.done)
	}()
	hbDone := make(chan struct{})
	hbStopped := make(chan struct{})
	go r.heartbeat(ctx, msg, job, id, cancel, hbDone, hbStopped)
	// The run's writes go out pipelined; RunWorkBatch returns once they are
	// stored, so the ack below never stands for a write still in flight.
	pctx, pipe := withPipeline(ctx, r.acks)
	out, err := r.rt.RunWorkBatch(pctx, jobs.NewBatch(pipe), jobs.WorkItem{JobType: job, ExecutionID: id, Parameters: body.Parameters})
	close(hbDone)
	<-hbStopped
	switch {
	case err != nil:
		r.log.Warn().Err(err).Str("jobType", job).Str("executionId", id).Msg("running work failed on the engine's side; it is tried again")
		_ = msg.NakWithDelay(r.cfg.ErrorDelay)
	case out.Done:
		_ = msg.Ack()
	case out.RetryAfter > 0:
		_ = msg.NakWithDelay(out.RetryAfter)
	default:
		_ = msg.Nak() // abandoned at shutdown: another instance takes it
	}
}

// heartbeat keeps the message from being redelivered while Work runs and
// cancels Work once the record is terminal (a STOP broadcast missed).
func (r *WorkRunner) heartbeat(ctx context.Context, msg jetstream.Msg, job, id string, cancel context.CancelFunc, done <-chan struct{}, stopped chan<- struct{}) {
	defer close(stopped)
	t := time.NewTicker(max(r.cfg.AckWait/3, 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			_ = msg.InProgress()
			live, err := r.rt.WorkLive(ctx, job, id)
			if err == nil && !live {
				cancel()
			}
		}
	}
}

// onCancel is a STOP broadcast: the instance running the Work cancels it
// and answers once Work has returned (bounded by the sender's wait).
func (r *WorkRunner) onCancel(m *nats.Msg) {
	key := strings.TrimPrefix(m.Subject, r.cfg.Prefix+".cancel.")
	r.mu.Lock()
	h, stopped := r.held[key], r.stopped
	if h != nil && !stopped {
		r.inflight.Add(1)
	}
	r.mu.Unlock()
	if h == nil || stopped {
		return
	}
	h.cancel()
	go func() {
		defer r.inflight.Done()
		select {
		case <-h.done:
		case <-time.After(r.cfg.AckWait):
		}
		if m.Reply != "" {
			_ = m.Respond(nil)
		}
	}()
}

// Stop takes no new work, waits for the Work calls running here until ctx
// ends, then cancels those still running: they are handed back and run
// again by another instance. Safe twice.
func (r *WorkRunner) Stop(ctx context.Context) {
	r.mu.Lock()
	if r.stopped || r.stopFetch == nil {
		r.stopped = true
		r.mu.Unlock()
		return
	}
	r.stopped = true
	sub, acks := r.sub, r.acks
	r.mu.Unlock()
	r.stopFetch()
	r.loops.Wait()
	done := make(chan struct{})
	go func() { r.inflight.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		r.cancelWork()
		<-done
	}
	r.cancelWork()
	if sub != nil {
		_ = sub.Unsubscribe()
	}
	if acks != nil {
		acks.close() // after the runs: none waits on it any more
	}
}
