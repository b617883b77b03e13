package saga

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/jobs"
)

// Coordinator runs sagas. It reacts to job events (JOB_COMPLETED,
// JOB_FAILED, JOB_STOPPED) from its durable consumer on JOBS_EVENTS, to its
// timers and to saga commands, and keeps each instance in the SAGAS bucket.
// Any number of coordinators with the same Config.Name and definitions
// share the consumers; compare-and-set on the instance keeps them from
// doing anything twice.
type Coordinator struct {
	js     jetstream.JetStream
	client *bus.Client
	cfg    Config
	log    zerolog.Logger
	defs   map[string]*Definition
	byJob  map[string][]string // job type -> sagas that use it
	subj   bus.Subjects
	cmds   *Client
	hooks  hooks

	mu     sync.Mutex
	state  int // 0 new, 1 started, 2 stopped
	store  *store
	pools  []*bus.Pool
	ctx    context.Context
	cancel context.CancelFunc
}

// hooks let tests stop a coordinator at the worst moments.
type hooks struct {
	afterEvent    func(in *Instance, step string) error // an event's transition is stored; nothing sent yet
	afterDispatch func(in *Instance, step string) error // the engine accepted START/EXECUTE; nothing stored yet
}

// New checks the configuration and the definitions. client sends the job
// commands; it must use the same subject prefix as cfg.Prefix.
func New(js jetstream.JetStream, client *bus.Client, cfg Config, defs ...*Definition) (*Coordinator, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if js == nil || client == nil {
		return nil, errors.New("saga: New needs a JetStream context and a bus.Client")
	}
	c := &Coordinator{js: js, client: client, cfg: cfg, log: cfg.Logger, defs: map[string]*Definition{},
		byJob: map[string][]string{}, subj: bus.Subjects{Prefix: cfg.Prefix}}
	c.cmds = NewClient(js, ClientOptions{Prefix: cfg.Prefix, Bucket: cfg.Bucket, Source: cfg.Source})
	var errs []error
	for _, d := range defs {
		d = d.clone()
		if err := d.Validate(); err != nil {
			errs = append(errs, err)
			continue
		}
		if _, dup := c.defs[d.Name]; dup {
			errs = append(errs, fmt.Errorf("sagas[%s]: defined twice", d.Name))
			continue
		}
		c.defs[d.Name] = d
		for _, j := range d.jobsUsed() {
			c.byJob[j] = append(c.byJob[j], d.Name)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("saga: definitions: %w", err)
	}
	return c, nil
}

// Definitions lists the sagas this coordinator runs, sorted by name.
func (c *Coordinator) Definitions() []*Definition {
	out := make([]*Definition, 0, len(c.defs))
	for _, name := range slices.Sorted(maps.Keys(c.defs)) {
		out = append(out, c.defs[name])
	}
	return out
}

// Definition finds a saga by name.
func (c *Coordinator) Definition(name string) (*Definition, bool) {
	d, ok := c.defs[name]
	return d, ok
}

// Start creates (idempotently) the streams, the bucket and the consumers,
// and begins consuming. JOBS_EVENTS must exist: start the engine first.
func (c *Coordinator) Start(ctx context.Context) (err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state != 0 {
		return errors.New("saga: coordinator already started")
	}
	c.state = 1
	c.ctx, c.cancel = context.WithCancel(context.WithoutCancel(ctx))
	defer func() {
		if err != nil {
			c.shutdown(context.Background())
		}
	}()
	if _, err := c.js.Stream(ctx, bus.StreamEvents); err != nil {
		return fmt.Errorf("saga: stream %s: %w (start the engine first)", bus.StreamEvents, err)
	}
	p := c.cfg.Prefix
	l := c.cfg.Limits
	for _, sc := range []jetstream.StreamConfig{
		{Name: StreamCommands, Description: "jetjobs saga commands", Subjects: []string{p + ".sagacmd.>"},
			MaxAge: l.CommandsMaxAge, MaxBytes: noBound(l.CommandsMaxBytes)},
		{Name: StreamTimers, Description: "jetjobs saga timers: step timeouts and retry backoffs", Subjects: []string{p + ".sagatimer.>"},
			MaxAge: l.TimersMaxAge, MaxBytes: noBound(l.TimersMaxBytes)},
	} {
		sc.Retention, sc.Duplicates, sc.Replicas, sc.Storage = jetstream.WorkQueuePolicy, c.cfg.DuplicateWindow, c.cfg.Replicas, c.cfg.Storage
		sc.Discard = jetstream.DiscardNew // both hold work not yet done: refuse, never drop
		if _, err := c.js.CreateOrUpdateStream(ctx, sc); err != nil {
			return fmt.Errorf("saga: %w", bus.StreamError(sc.Name, err))
		}
	}
	if c.store, err = openStore(ctx, c.js, c.cfg.Bucket, c.cfg.Replicas, c.cfg.Storage, l); err != nil {
		return err
	}
	consumers := []struct {
		stream string
		cc     jetstream.ConsumerConfig
		handle func(context.Context, jetstream.Msg) error
	}{
		{bus.StreamEvents, jetstream.ConsumerConfig{Durable: c.cfg.Name + "-events",
			Description:    "jetjobs saga coordinator: terminal job events",
			FilterSubjects: []string{p + ".evt.*." + jobs.EventCompleted, p + ".evt.*." + jobs.EventFailed, p + ".evt.*." + jobs.EventStopped},
			DeliverPolicy:  jetstream.DeliverNewPolicy, MaxAckPending: 4 * c.cfg.Concurrency}, c.handleEvent},
		{StreamTimers, jetstream.ConsumerConfig{Durable: c.cfg.Name + "-timers", Description: "jetjobs saga timers",
			FilterSubject: p + ".sagatimer.>", MaxAckPending: 1_000_000}, c.handleTimer},
		{StreamCommands, jetstream.ConsumerConfig{Durable: c.cfg.Name + "-commands", Description: "jetjobs saga commands",
			FilterSubject: p + ".sagacmd.>", MaxAckPending: 4 * c.cfg.Concurrency}, c.handleCommand},
	}
	for _, k := range consumers {
		k.cc.AckPolicy, k.cc.AckWait, k.cc.MaxDeliver = jetstream.AckExplicitPolicy, c.cfg.AckWait, -1
		cons, err := c.js.CreateOrUpdateConsumer(ctx, k.stream, k.cc)
		if err != nil {
			return fmt.Errorf("saga: consumer %s: %w", k.cc.Durable, err)
		}
		pl, err := consume(c.ctx, cons, c.cfg.Concurrency, c.cfg.AckWait, k.handle, c.logFailure)
		if err != nil {
			return fmt.Errorf("saga: consume %s: %w", k.cc.Durable, err)
		}
		c.pools = append(c.pools, pl)
	}
	c.log.Info().Strs("sagas", slices.Sorted(maps.Keys(c.defs))).Str("consumer", c.cfg.Name).Msg("saga coordinator started")
	return nil
}

// Stop drains the consumers: nothing new is taken, handlers in flight
// finish (what is unfinished after CallTimeout is redelivered later, to
// this or another coordinator). Safe to call twice.
func (c *Coordinator) Stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state == 2 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.CallTimeout+5*time.Second)
	defer cancel()
	c.shutdown(ctx)
}

func (c *Coordinator) shutdown(ctx context.Context) {
	c.state = 2
	var wg sync.WaitGroup
	for _, p := range c.pools {
		wg.Add(1)
		go func() { defer wg.Done(); p.Stop(ctx) }()
	}
	wg.Wait()
	if c.cancel != nil {
		c.cancel()
	}
	c.log.Info().Msg("saga coordinator stopped")
}

func (c *Coordinator) logFailure(msg jetstream.Msg, err error) {
	c.log.Warn().Err(err).Str("subject", msg.Subject()).Msg("saga message not handled; it will be retried")
}

func (c *Coordinator) started() (*store, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state != 1 {
		return nil, jobs.Errorf(jobs.CodeUnavailable, "saga coordinator is not running")
	}
	return c.store, nil
}

// StartRequest starts a saga instance.
type StartRequest struct {
	SagaID    string         `json:"sagaId,omitempty"` // default: a random UUID
	Input     map[string]any `json:"input,omitempty"`
	Initiator string         `json:"initiator,omitempty"`
}

// StartSaga starts an instance, idempotently on the saga id: starting an id
// that exists returns that instance and created=false. The SAGA_START
// command is stored first, so a crash right after still runs the saga.
func (c *Coordinator) StartSaga(ctx context.Context, saga string, req StartRequest) (in *Instance, created bool, err error) {
	st, err := c.started()
	if err != nil {
		return nil, false, err
	}
	d, ok := c.defs[saga]
	if !ok {
		return nil, false, jobs.Errorf(jobs.CodeNotFound, "unknown saga %q", saga)
	}
	if req.SagaID == "" {
		req.SagaID = jobs.NewExecutionID()
	}
	if err := ValidateSagaID(req.SagaID); err != nil {
		return nil, false, err
	}
	if err := st.reserve(ctx, saga, req.SagaID); err != nil {
		return nil, false, err // taken by another saga: no command for it
	}
	req.Input = c.cfg.Sanitizer.Scrubber(req.Input, nil).Map(req.Input)
	cmdID, _, err := c.cmds.start(ctx, saga, req)
	if err != nil {
		return nil, false, err
	}
	// The coordinator that takes the command may create the instance
	// before this call does; either way it is this start's if it carries
	// this command's id.
	in, err = c.ensure(ctx, st, d, req, captureTrace(ctx), cmdID)
	if err != nil {
		return nil, false, err
	}
	return in, in.StartedBy == cmdID, nil
}

// ensure creates the instance unless it exists, and returns it.
func (c *Coordinator) ensure(ctx context.Context, st *store, d *Definition, req StartRequest, trace map[string]string, cmdID string) (*Instance, error) {
	if err := st.reserve(ctx, d.Name, req.SagaID); err != nil {
		return nil, err
	}
	// The input is masked here, once, whoever sent the command: everything
	// after (the record, SAGA_STARTED, step parameters) sees the same value.
	in := newInstance(d, req.SagaID, c.cfg.Sanitizer.Scrubber(req.Input, nil).Map(req.Input), c.modeOf, time.Now().UTC())
	in.Initiator, in.Trace, in.StartedBy = req.Initiator, trace, cmdID
	if _, err := st.create(ctx, in); errors.Is(err, errExists) {
		in, _, err = st.get(ctx, d.Name, req.SagaID)
		return in, err
	} else if err != nil {
		return nil, err
	}
	return in, nil
}

// Get reads an instance.
func (c *Coordinator) Get(ctx context.Context, saga, sagaID string) (*Instance, error) {
	st, err := c.started()
	if err != nil {
		return nil, err
	}
	if _, ok := c.defs[saga]; !ok {
		return nil, jobs.Errorf(jobs.CodeNotFound, "unknown saga %q", saga)
	}
	if err := ValidateSagaID(sagaID); err != nil {
		return nil, err
	}
	in, _, err := st.get(ctx, saga, sagaID)
	return in, err
}

// Resume retries the failed compensations of a FAILED saga. It checks the
// state, then sends SAGA_RESUME; a coordinator applies it.
func (c *Coordinator) Resume(ctx context.Context, saga, sagaID string) error {
	in, err := c.Get(ctx, saga, sagaID)
	if err != nil {
		return err
	}
	if in.Status != StatusFailed {
		return jobs.Errorf(jobs.CodeConflict, "saga %s/%s is %s: only a FAILED saga can be resumed", saga, sagaID, in.Status)
	}
	return c.cmds.Resume(ctx, saga, sagaID)
}

// Cancel stops a RUNNING saga: running steps are stopped, completed ones
// compensated, and it ends CANCELLED.
func (c *Coordinator) Cancel(ctx context.Context, saga, sagaID, reason string) error {
	in, err := c.Get(ctx, saga, sagaID)
	if err != nil {
		return err
	}
	if in.Status != StatusRunning {
		return jobs.Errorf(jobs.CodeConflict, "saga %s/%s is %s: only a RUNNING saga can be cancelled", saga, sagaID, in.Status)
	}
	return c.cmds.Cancel(ctx, saga, sagaID, reason)
}

// modeOf resolves the mode of a job the definition left open.
func (c *Coordinator) modeOf(job string, m Mode) Mode {
	if m != "" {
		return m
	}
	if c.cfg.Registry != nil {
		if def, ok := c.cfg.Registry.Lookup(job); ok && def.Mode() == string(ModeSync) {
			return ModeSync
		}
	}
	return ModeAsync
}
