package saga

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/jobs"
)

// ListenerConfig names a service's durable consumer on JOBS_EVENTS and the
// events it wants. The same can be done from any language: a durable pull
// consumer on JOBS_EVENTS with these filter subjects, explicit acks, and
// CloudEvents decoding (docs/sagas.md).
type ListenerConfig struct {
	Prefix  string // jobs
	Durable string // required: instances of one service share it, so each event reaches one of them
	// Jobs whose events Handlers.Job gets ("*" for every job), and the
	// event types (default JOB_COMPLETED, JOB_FAILED, JOB_STOPPED).
	Jobs          []string
	JobEventTypes []string
	// Sagas whose events Handlers.Saga gets ("*" for every saga), and the
	// event types (default: all six).
	Sagas          []string
	SagaEventTypes []string
	DeliverAll     bool          // false: only events stored after the consumer is first created
	Concurrency    int           // 8: callbacks at once
	AckWait        time.Duration // 30s: a callback running longer keeps the event with in-progress acks
	MaxDeliver     int           // 0: unlimited; a callback error redelivers with backoff
	// OnError sees callback errors and undecodable events (which are
	// dropped); nil ignores them.
	OnError func(subject string, err error)
}

// JobEvent is a job event with its envelope.
type JobEvent struct {
	ID       string // CloudEvents id: stable across redeliveries, for deduplication
	Subject  string
	Delivery int // 1 on the first delivery
	jobs.EventData
}

// SagaEvent is a saga event with its envelope.
type SagaEvent struct {
	ID       string
	Subject  string
	Delivery int
	EventData
}

// Handlers are the typed callbacks. Returning nil acknowledges the event;
// an error has it redelivered later. The context carries the event's trace.
type Handlers struct {
	Job  func(ctx context.Context, ev JobEvent) error
	Saga func(ctx context.Context, ev SagaEvent) error
}

// Listener is a running durable subscription; Stop ends it.
type Listener struct {
	pool   *bus.Pool
	cancel context.CancelFunc
	once   sync.Once
}

// Listen creates (or reuses) the durable consumer and calls the handlers
// for every matching event until Stop.
func Listen(ctx context.Context, js jetstream.JetStream, cfg ListenerConfig, h Handlers) (*Listener, error) {
	cfg, filters, err := cfg.resolve(h)
	if err != nil {
		return nil, err
	}
	policy := jetstream.DeliverNewPolicy
	if cfg.DeliverAll {
		policy = jetstream.DeliverAllPolicy
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, bus.StreamEvents, jetstream.ConsumerConfig{
		Durable: cfg.Durable, Description: "jetjobs event listener", FilterSubjects: filters,
		DeliverPolicy: policy, AckPolicy: jetstream.AckExplicitPolicy, AckWait: cfg.AckWait,
		MaxDeliver: cfg.MaxDeliver, MaxAckPending: 4 * cfg.Concurrency,
	})
	if err != nil {
		return nil, fmt.Errorf("saga: listener %s: %w", cfg.Durable, err)
	}
	lctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	prefix := cfg.Prefix + ".saga."
	handle := func(ctx context.Context, msg jetstream.Msg) error {
		ev, err := bus.Decode(msg.Headers(), msg.Data())
		if err != nil {
			return fmt.Errorf("%w: %v", errTerm, err)
		}
		ctx = traceContext(ctx, eventTrace(&ev))
		delivery := 1
		if meta, err := msg.Metadata(); err == nil {
			delivery = int(meta.NumDelivered)
		}
		if len(msg.Subject()) > len(prefix) && msg.Subject()[:len(prefix)] == prefix {
			se := SagaEvent{ID: ev.ID(), Subject: msg.Subject(), Delivery: delivery}
			if err := json.Unmarshal(ev.Data(), &se.EventData); err != nil {
				return fmt.Errorf("%w: saga event data: %v", errTerm, err)
			}
			return h.Saga(ctx, se)
		}
		je := JobEvent{ID: ev.ID(), Subject: msg.Subject(), Delivery: delivery}
		if err := json.Unmarshal(ev.Data(), &je.EventData); err != nil {
			return fmt.Errorf("%w: job event data: %v", errTerm, err)
		}
		return h.Job(ctx, je)
	}
	onErr := func(msg jetstream.Msg, err error) {
		if cfg.OnError != nil {
			cfg.OnError(msg.Subject(), err)
		}
	}
	p, err := consume(lctx, cons, cfg.Concurrency, cfg.AckWait, handle, onErr)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("saga: listener %s: %w", cfg.Durable, err)
	}
	return &Listener{pool: p, cancel: cancel}, nil
}

// Stop drains the subscription and waits (up to 30s) for callbacks in
// flight. The durable consumer stays: a later Listen continues where this
// one stopped. Safe twice.
func (l *Listener) Stop() {
	l.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		l.pool.Stop(ctx)
		l.cancel()
	})
}

func (cfg ListenerConfig) resolve(h Handlers) (ListenerConfig, []string, error) {
	if cfg.Prefix == "" {
		cfg.Prefix = "jobs"
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 8
	}
	if cfg.AckWait <= 0 {
		cfg.AckWait = 30 * time.Second
	}
	if cfg.MaxDeliver == 0 {
		cfg.MaxDeliver = -1
	}
	if len(cfg.JobEventTypes) == 0 {
		cfg.JobEventTypes = []string{jobs.EventCompleted, jobs.EventFailed, jobs.EventStopped}
	}
	if len(cfg.SagaEventTypes) == 0 {
		cfg.SagaEventTypes = []string{EventStarted, EventStepCompleted, EventCompleted, EventCompensating, EventCompensated, EventFailed}
	}
	ck := &checker{}
	if !nameRE.MatchString(cfg.Durable) {
		ck.add("listener.durable", "invalid consumer name %q: want 1 to 64 of A-Z a-z 0-9 _ -", cfg.Durable)
	}
	if !prefixRE.MatchString(cfg.Prefix) {
		ck.add("listener.prefix", "invalid subject prefix %q", cfg.Prefix)
	}
	var filters []string
	add := func(key, kind string, names, types []string, set bool, valid func(string) error) {
		if len(names) > 0 && !set {
			ck.add(key, "%s are listed but Handlers.%s is nil", key, kind)
		}
		for _, n := range names {
			if n != "*" && valid(n) != nil {
				ck.add(key, "%v", valid(n))
				continue
			}
			for _, t := range types {
				filters = append(filters, fmt.Sprintf("%s.%s.%s.%s", cfg.Prefix, map[string]string{"Job": "evt", "Saga": "saga"}[kind], n, t))
			}
		}
	}
	add("listener.jobs", "Job", cfg.Jobs, cfg.JobEventTypes, h.Job != nil, jobs.ValidateJobName)
	add("listener.sagas", "Saga", cfg.Sagas, cfg.SagaEventTypes, h.Saga != nil, ValidateSagaName)
	if len(filters) == 0 {
		ck.add("listener", "nothing to listen to: list Jobs (with Handlers.Job) or Sagas (with Handlers.Saga)")
	}
	if err := ck.err(); err != nil {
		return cfg, nil, errors.Join(errors.New("saga: listener config"), err)
	}
	return cfg, filters, nil
}
