package jetjobs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/console"
	"github.com/jetjobs/jetjobs/httpadapter"
	"github.com/jetjobs/jetjobs/internal/config"
	"github.com/jetjobs/jetjobs/internal/telemetry"
	"github.com/jetjobs/jetjobs/jobs"
	"github.com/jetjobs/jetjobs/jobs/observe"
	"github.com/jetjobs/jetjobs/jobs/orchestrated"
	"github.com/jetjobs/jetjobs/jobs/resilience"
	"github.com/jetjobs/jetjobs/kv"
)

// Engine is one jetjobs instance. Instances are stateless: any number can
// share a NATS deployment and its durable consumers.
type Engine struct {
	cfg   Config
	reg   *jobs.Registry
	log   zerolog.Logger
	mws   []jobs.Middleware
	clock jobs.Clock
	conn  *nats.Conn // given by WithConn: not ours to close
	tp    trace.TracerProvider
	mp    metric.MeterProvider

	mu         sync.Mutex
	state      engineState
	emb        *bus.Embedded
	nc         *nats.Conn
	js         jetstream.JetStream
	store      *kv.StateStore
	rt         *jobs.Runtime
	worker     *bus.Worker
	work       *bus.WorkRunner // worker jobs' Work (worker.go)
	client     *bus.Client
	http       *httpadapter.Server
	router     chi.Router
	drainBy    time.Duration
	components []Component
	started    []Component
	audit      *bus.AuditLog
	results    *kv.ResultStore
	tel        *telemetry.Telemetry
	obs        *observe.Observer
	pol        *resilience.Policies
	dlq        atomic.Pointer[bus.DLQ] // dead letters (dlq.go), set by Start

	// The execution index and the web console (console.go).
	index   *kv.ExecutionIndex
	console *console.Console

	authStop context.CancelFunc // ends the REST authenticator's background work (JWKS refresh)
	// The timer reconciler (reconcile.go); its own lock, as failed writes
	// kick it from the workers' goroutines.
	reconMu             sync.Mutex
	recon               *jobs.Reconciler
	reconcileFirstAfter time.Duration  // WithReconcileAfter; 0: 10s
	replies             *bus.ReplyRule // which replyto subjects commands may name
	// Orchestrators (orchestrated.go): those given with WithOrchestrator,
	// those built (by type, retry-wrapped), and what closes them.
	orchMu    sync.Mutex
	orchGiven map[string]orchestrated.Orchestrator
	orchs     map[string]*orchestrated.Retrying
	closers   []func()
	// Schedules (schedules.go): the store, set by Start, and the relay of
	// the server's ticks.
	sched atomic.Pointer[bus.Schedules]
	relay *bus.TickRelay
}

// engineState is where an Engine is in its one lifecycle: Start once, then
// Stop (safe twice).
type engineState int

const (
	engineNew engineState = iota
	engineStarted
	engineStopped
)

// Option configures an Engine.
type Option func(*Engine)

// WithLogger sets the engine's logger (default: JSON on stderr at the
// configured level).
func WithLogger(l zerolog.Logger) Option { return func(e *Engine) { e.log = l } }

// WithMiddleware adds middleware around every stage, after the engine's own;
// the first listed is the outermost of these.
func WithMiddleware(mws ...jobs.Middleware) Option {
	return func(e *Engine) { e.mws = append(e.mws, mws...) }
}

// WithClock sets the runtime's clock (tests).
func WithClock(c jobs.Clock) Option { return func(e *Engine) { e.clock = c } }

// WithConn uses an open NATS connection instead of nats.url or an embedded
// server. The engine does not close it.
func WithConn(nc *nats.Conn) Option { return func(e *Engine) { e.conn = nc } }

// WithTracerProvider sets where spans go, instead of the configured
// exporter (tests use an in-memory recorder).
func WithTracerProvider(tp trace.TracerProvider) Option { return func(e *Engine) { e.tp = tp } }

// WithMeterProvider sets where metrics go, instead of the Prometheus
// registry behind Metrics().
func WithMeterProvider(mp metric.MeterProvider) Option { return func(e *Engine) { e.mp = mp } }

// WithShutdownTimeout bounds how long Stop waits for in-flight stages
// (default 30s); what is unfinished then is redelivered.
func WithShutdownTimeout(d time.Duration) Option { return func(e *Engine) { e.drainBy = d } }

// New checks the configuration and applies the per-job settings of the
// `jobs:` tree to the registered job types.
func New(cfg Config, reg *jobs.Registry, opts ...Option) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	e := &Engine{cfg: cfg, reg: reg, drainBy: 30 * time.Second}
	e.log = NewLogger(cfg.Log.Level, cfg.Log.Format, os.Stderr)
	for _, o := range opts {
		o(e)
	}
	for _, w := range cfg.Warnings {
		e.log.Warn().Msg("config: " + w)
	}
	if err := e.buildStageChain(); err != nil {
		return nil, err
	}
	if err := e.setUpOrchestrators(); err != nil {
		return nil, err
	}
	for name, jc := range cfg.Jobs {
		def, ok := reg.Lookup(name)
		switch {
		case jc.Orchestrated != nil:
			// A job declared in YAML with no Go code: the generic orchestrated
			// job on the configured orchestrator, registered under its name.
			if ok {
				return nil, fmt.Errorf("config: jobs.%s.orchestrated: a job named %q is already registered in code; rename one of them", name, name)
			}
			if err := e.registerOrchestrated(name, jc); err != nil {
				return nil, err
			}
			def, _ = reg.Lookup(name)
		case !ok:
			return nil, fmt.Errorf("config: jobs.%s: no job of that name is registered", name)
		}
		if jc.DefaultTimeout > 0 && def.Options.DefaultTimeout == 0 {
			def.Options.DefaultTimeout = jc.DefaultTimeout
		}
		if jc.CheckInterval > 0 && def.Options.CheckInterval == 0 {
			def.Options.CheckInterval = jc.CheckInterval
		}
		if jc.BasePath != "" && def.Options.BasePath == "" {
			def.Options.BasePath = jc.BasePath
		}
		if jc.StageTimeout > 0 && def.Options.StageTimeout == 0 {
			def.Options.StageTimeout = jc.StageTimeout
		}
	}
	return e, nil
}

// Start connects (or starts the embedded server), creates streams, buckets
// and consumers idempotently, and begins consuming. A failed Start cleans up
// after itself.
func (e *Engine) Start(ctx context.Context) (err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.state != engineNew {
		return errors.New("jetjobs: engine already started")
	}
	e.state = engineStarted
	defer func() {
		if err != nil {
			e.shutdown(context.Background())
		}
	}()
	e.declareBreakers()
	if err := e.connect(); err != nil {
		return err
	}
	if err := bus.WaitJetStream(ctx, e.js); err != nil {
		return fmt.Errorf("jetjobs: JetStream not available: %w", err)
	}
	n := e.cfg.NATS
	if err := bus.EnsureStreams(ctx, e.js, bus.StreamsConfig{
		Prefix: n.SubjectPrefix, Replicas: n.Replicas, DuplicateWindow: n.DuplicateWindow,
		// Replays of events come within the ack wait plus a retry delay.
		EventDuplicateWindow: min(max(time.Minute, 2*n.AckWait), n.DuplicateWindow),
		DLQMaxAge:            dlqMaxAge(n.DLQMaxAge),
		CommandMaxAge:        noAgeBound(n.Limits.Commands.MaxAge), EventMaxAge: noAgeBound(n.Limits.Events.MaxAge),
		TimerMaxAge: n.Limits.Timers.MaxAge, CommandMaxBytes: n.Limits.Commands.MaxBytes,
		EventMaxBytes: n.Limits.Events.MaxBytes, DLQMaxBytes: n.Limits.DLQ.MaxBytes, TimerMaxBytes: n.Limits.Timers.MaxBytes,
		WorkMaxAge: n.Limits.Work.MaxAge, WorkMaxBytes: n.Limits.Work.MaxBytes,
	}); err != nil {
		return err
	}
	if err := e.ensureSchedules(ctx); err != nil { // schedules.go
		return err
	}
	if e.store, err = kv.NewStateStore(ctx, e.js, kv.StateConfig{Replicas: n.Replicas, MaxBytes: n.Limits.State.MaxBytes,
		TerminalTTL: executionRetention(e.cfg.Orchestration.Persistence)}); err != nil {
		return err
	}
	// Record writes carry dedup ids for their resends (bus acker), which
	// come within the ack wait: the window of the events is enough.
	if err := kv.SetDuplicateWindow(ctx, e.js, kv.StateBucket, min(max(time.Minute, 2*n.AckWait), n.DuplicateWindow)); err != nil {
		return err
	}
	if err := e.startIndex(ctx); err != nil {
		return err
	}
	o := e.cfg.Orchestration
	san := e.Sanitizer()
	if err := e.startPersistence(ctx); err != nil {
		return err
	}
	timers := bus.NewTimers(e.js, n.SubjectPrefix)
	e.rt = jobs.NewRuntime(e.reg, e.store, bus.NewEventPublisher(e.js, n.SubjectPrefix, o.JobEventsTopic),
		timers, jobs.RuntimeConfig{
			DefaultTimeout: o.DefaultTimeout, CheckInterval: o.CheckInterval,
			MaxCheckInterval: o.MaxCheckInterval, CheckBackoff: o.CheckBackoffMultiplier,
			DisableEvents: !o.PublishJobEvents, Sanitizer: san, Middleware: e.stageChain(), Clock: e.clock, Logger: e.log,
			Audit: e.auditSink(), Results: e.resultStore(), Persist: jobs.PersistConfig{
				AuditParameters: o.Persistence.PersistInputParameters, AuditStackTraces: o.Persistence.IncludeStackTraces,
				PersistRaw: o.Persistence.PersistRawOutput, PersistTrans: o.Persistence.PersistTransformedOutput,
				MaxDataSizeBytes: o.Persistence.MaxDataSizeBytes,
			},
			OnTransientCheck: e.obs.TransientCheck,
			OnWriteFailure:   e.kickReconciler,
		})
	e.wireWork()
	e.setReconciler(jobs.NewReconciler(e.rt, e.store, timers, jobs.ReconcilerConfig{
		Interval: o.TimerReconcileInterval, FirstAfter: e.reconcileFirstAfter, Logger: e.log}))
	if e.replies, err = bus.NewReplyRule(n.SubjectPrefix, n.InboxPrefix, n.ReplyPrefixes); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	e.worker = bus.NewWorker(e.nc, e.js, e.rt, bus.WorkerConfig{
		Prefix: n.SubjectPrefix, ReplyRule: e.replies, Concurrency: n.CommandConcurrency, AckWait: n.AckWait, MaxDeliver: n.MaxDeliver,
		RedeliveryBackoff: n.RedeliveryBackoffDurations(),
		Tracer:            e.tracerProvider().Tracer("github.com/jetjobs/jetjobs/bus"),
		Delays:            e.delays(), // STARTs with startat or delay (schedules.go)
	}, e.log)
	if err := e.worker.Start(ctx); err != nil {
		return err
	}
	if err := e.startWork(ctx); err != nil {
		return err
	}
	e.reconciler().Start(ctx)
	e.client = bus.NewClient(e.nc, e.js, bus.WithPrefix(n.SubjectPrefix), bus.WithPublishRetry(n.PublishRetry))
	e.dlq.Store(bus.NewDLQ(e.js, n.SubjectPrefix, san))
	if err := e.startSchedules(ctx); err != nil {
		return err
	}
	if err := e.startComponents(ctx); err != nil {
		return err
	}
	if err := e.startHTTP(ctx); err != nil {
		return err
	}
	names := []string{}
	for _, d := range e.reg.Definitions() {
		names = append(names, d.Name+"("+d.Mode()+")")
	}
	e.log.Info().Strs("jobs", names).Str("nats", e.ClientURL()).Str("prefix", n.SubjectPrefix).
		Str("http", e.HTTPAddr()).Msg("engine started")
	return nil
}

func (e *Engine) connect() error {
	n := e.cfg.NATS
	if e.conn != nil {
		e.nc = e.conn
		e.watchNATS()
		js, err := jetstream.New(e.nc)
		e.js = js
		return err
	}
	if n.URL == "" {
		ec, err := embeddedConfig(e.cfg)
		if err != nil {
			return err
		}
		if e.emb, err = bus.StartEmbedded(ec); err != nil {
			return err
		}
		if n.Server.Auth == config.NATSAuthNone && e.emb.Listening() {
			e.log.Warn().Str("listen", n.Listen).Msg("the embedded NATS server has no authentication (nats.server.auth: none): anyone who reaches it may do anything")
		}
		cc, opts, err := e.embeddedDial("jetjobs-engine")
		if err != nil {
			return err
		}
		e.nc, e.js, err = bus.Connect(cc, append(opts, e.connWatch(true)...)...)
		e.watchNATS()
		return err
	}
	var err error
	e.nc, e.js, err = bus.Connect(ConnConfig(e.cfg, n.URL, "jetjobs-engine"), append(inboxOption(n), e.connWatch(true)...)...)
	e.watchNATS()
	return err
}

// watchNATS reports the connection's state as a metric
// (<metric-prefix>.nats.connection_state).
func (e *Engine) watchNATS() {
	if nc := e.nc; nc != nil && e.obs != nil {
		e.obs.WatchNATS(nc.IsConnected)
	}
}

// ConnConfig is the connection to url with the credentials and TLS settings
// of cfg's nats tree; name is the connection name the server shows.
func ConnConfig(cfg Config, url, name string) bus.ConnConfig {
	n := cfg.NATS
	return bus.ConnConfig{URL: url, Name: name, User: n.User, Password: n.Password, Token: n.Token,
		CredsFile: n.Creds, NKeyFile: n.NKey, TLSCert: n.TLSCert, TLSKey: n.TLSKey, TLSCA: n.TLSCA,
		ConnectTimeout: n.ConnectTimeout}
}

// Stop drains: consumers take nothing new, in-flight stages finish (up to
// the shutdown timeout; the rest is redelivered), then the connection and
// the embedded server close. Safe to call twice.
func (e *Engine) Stop() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.state == engineStopped {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), e.drainBy)
	defer cancel()
	e.shutdown(ctx)
}

func (e *Engine) shutdown(ctx context.Context) {
	e.state = engineStopped
	if e.http != nil {
		_ = e.http.Stop(ctx)
	}
	if e.authStop != nil {
		e.authStop()
	}
	e.stopComponents() // they may send commands through the engine's client
	e.stopSchedules(ctx)
	e.stopIndex()
	if e.worker != nil {
		e.worker.Stop(ctx)
	}
	e.stopWork(ctx)
	if r := e.reconciler(); r != nil {
		r.Stop()
	}
	if e.client != nil {
		e.client.Close()
	}
	if e.results != nil {
		e.results.Close()
	}
	if e.nc != nil && e.nc != e.conn {
		_ = e.nc.Drain()
		for e.nc.IsDraining() && ctx.Err() == nil {
			time.Sleep(10 * time.Millisecond)
		}
		e.nc.Close()
	}
	if e.emb != nil {
		e.emb.Shutdown()
	}
	if e.tel != nil {
		_ = e.tel.Shutdown(ctx)
	}
	e.closeOrchestrators()
	e.log.Info().Msg("engine stopped")
}

// ClientURL is where NATS clients reach the engine's server, with any
// user-info masked; bus.InProcessURL when the embedded server has no
// listener.
func (e *Engine) ClientURL() string {
	if e.emb != nil {
		return e.emb.ClientURL()
	}
	if e.nc != nil {
		if u := e.nc.ConnectedUrl(); u != "" {
			return bus.RedactURL(u)
		}
	}
	return bus.RedactURL(e.cfg.NATS.URL)
}

// ReplyRule says which replyto subjects commands may name (after Start):
// nats.reply-prefixes, _INBOX and nats.inbox-prefix. Components that
// answer commands (the saga coordinator) apply it too.
func (e *Engine) ReplyRule() *bus.ReplyRule { return e.replies }

// Embedded is the engine's embedded server (after Start); nil when it
// connects to nats.url.
func (e *Engine) Embedded() *bus.Embedded { return e.emb }

// Conn is the engine's NATS connection (after Start).
func (e *Engine) Conn() *nats.Conn { return e.nc }

// JetStream is the engine's JetStream context (after Start).
func (e *Engine) JetStream() jetstream.JetStream { return e.js }

// Client sends commands and waits for answers (after Start).
func (e *Engine) Client() *bus.Client { return e.client }

// Registry is the engine's job types.
func (e *Engine) Registry() *jobs.Registry { return e.reg }

// Config is the engine's configuration.
func (e *Engine) Config() Config { return e.cfg }

// State is the engine's state store (after Start).
func (e *Engine) State() *kv.StateStore { return e.store }

// Logger is the engine's logger.
func (e *Engine) Logger() zerolog.Logger { return e.log }
