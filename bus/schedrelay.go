package bus

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/jetjobs/jetjobs/jobs"
)

// ScheduleConsumer is the durable consumer of the ticks the server
// produces in JOBS_SCHEDULES, shared by every engine: each tick goes to
// one of them.
const ScheduleConsumer = "jetjobs-schedule-ticks"

// Tick outcomes, for TickRelayConfig.OnTick.
const (
	TickFired   = "fired"   // the server produced a tick and an engine took it
	TickStarted = "started" // its START command is stored in JOBS_COMMANDS
	TickFailed  = "failed"  // it could not become a START (unreadable), dropped
)

// TickRelayConfig tunes a TickRelay; zero values take the defaults in
// comments.
type TickRelayConfig struct {
	Prefix  string         // jobs
	AckWait time.Duration  // 30s
	Logger  zerolog.Logger // where dropped ticks are logged
	// OnTick counts a tick of schedule (the execution id for a delayed
	// start) of job with an outcome above; nil: not counted.
	OnTick func(job, schedule, outcome string)
	// Client publishes the START commands. Required.
	Client *Client
}

// TickRelay turns the server's ticks into START commands. The server can
// only publish a schedule's ticks into the schedule's own stream, so they
// land in JOBS_SCHEDULES (P.schedule.<job>.<name>.tick,
// P.delay.<job>.<id>.fire) and the relay publishes each as a START on
// P.cmd.<job>.start, with the execution id derived from the schedule and
// the tick's time (jobs.TickExecutionID), and a Nats-Msg-Id derived
// from it (TickCommandID): a tick taken twice starts once.
type TickRelay struct {
	js   jetstream.JetStream
	nc   *nats.Conn
	cfg  TickRelayConfig
	subj Subjects
	pool *Pool
}

// NewTickRelay builds a relay; Start begins consuming.
func NewTickRelay(nc *nats.Conn, js jetstream.JetStream, cfg TickRelayConfig) *TickRelay {
	if cfg.Prefix == "" {
		cfg.Prefix = "jobs"
	}
	if cfg.AckWait <= 0 {
		cfg.AckWait = 30 * time.Second
	}
	return &TickRelay{js: js, nc: nc, cfg: cfg, subj: Subjects{Prefix: cfg.Prefix}}
}

// Start creates the shared consumer (idempotent) and consumes it.
func (r *TickRelay) Start(ctx context.Context) error {
	p := r.cfg.Prefix
	cons, err := r.js.CreateOrUpdateConsumer(ctx, StreamSchedules, jetstream.ConsumerConfig{
		Durable: ScheduleConsumer, Description: "jetjobs schedule ticks and delayed starts, made START commands",
		FilterSubjects: []string{p + ".schedule.*.*.tick", p + ".delay.*.*.fire"},
		AckPolicy:      jetstream.AckExplicitPolicy, AckWait: r.cfg.AckWait, MaxDeliver: -1,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return fmt.Errorf("bus: consumer %s: %w", ScheduleConsumer, err)
	}
	r.pool, err = Consume(cons, 4, r.handle, PoolOptions{Logger: r.cfg.Logger, Conn: r.nc})
	return err
}

// Stop stops consuming; ticks in hand finish or are redelivered.
func (r *TickRelay) Stop(ctx context.Context) {
	if r.pool != nil {
		r.pool.Stop(ctx)
	}
}

func (r *TickRelay) count(job, schedule, outcome string) {
	if r.cfg.OnTick != nil {
		r.cfg.OnTick(job, schedule, outcome)
	}
}

// Tick is a tick read from JOBS_SCHEDULES: which job to start, and how.
type Tick struct {
	Job      string
	Schedule string // the schedule's name; "" for a delayed start
	Request  *jobs.Request
}

// DecodeTick reads a tick: from a schedule, the execution id is its name
// and the tick's time (the message's timestamp: the server stores a tick
// within moments of its second, and ticks are at least a second apart);
// from a delayed start, the request it stored.
func DecodeTick(prefix, subject string, h nats.Header, data []byte, at time.Time) (*Tick, error) {
	tok := strings.Split(strings.TrimPrefix(subject, prefix+"."), ".")
	if len(tok) != 4 || !strings.HasPrefix(subject, prefix+".") {
		return nil, fmt.Errorf("not a tick subject: %q", subject)
	}
	switch {
	case tok[0] == "schedule" && tok[3] == "tick":
		sc, err := decodeSchedule(tok[1], tok[2], nats.Header{HeaderSchedule: {"tick"}}, data)
		if err != nil {
			return nil, err
		}
		return &Tick{Job: sc.Job, Schedule: sc.Name, Request: &jobs.Request{
			ExecutionID: jobs.TickExecutionID(sc.Name, at.Truncate(time.Second)),
			Parameters:  sc.Parameters, Metadata: sc.Metadata, Initiator: jobs.SchedulePrefix + sc.Name,
		}}, nil
	case tok[0] == "delay" && tok[3] == "fire":
		var req jobs.Request
		if err := json.Unmarshal(data, &req); err != nil {
			return nil, fmt.Errorf("delayed start %s/%s: %w", tok[1], tok[2], err)
		}
		req.ExecutionID = tok[2]
		return &Tick{Job: tok[1], Request: &req}, nil
	}
	return nil, fmt.Errorf("not a tick subject: %q", subject)
}

// TickCommandID is the CloudEvents id (and Nats-Msg-Id) of a tick's
// START: derived from the execution id, so a tick taken twice is stored
// once, and prefixed, so that it differs from the id of the command that
// asked for a delayed start (whose id may be that execution's id).
func TickCommandID(executionID string) string { return "tick-" + executionID }

func (r *TickRelay) handle(msg jetstream.Msg) {
	md, err := msg.Metadata()
	if err != nil {
		_ = msg.Term()
		return
	}
	tick, err := DecodeTick(r.cfg.Prefix, msg.Subject(), msg.Headers(), msg.Data(), md.Timestamp)
	if err != nil {
		r.cfg.Logger.Error().Err(err).Str("subject", msg.Subject()).Msg("schedule tick dropped: it cannot become a START")
		r.count(tokenAt(msg.Subject(), 2), tokenAt(msg.Subject(), 3), TickFailed)
		_ = msg.Term()
		return
	}
	name := tick.Schedule
	if name == "" {
		name = tick.Request.ExecutionID
	}
	if md.NumDelivered == 1 {
		r.count(tick.Job, name, TickFired)
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.AckWait)
	defer cancel()
	if _, err := r.cfg.Client.Send(ctx, tick.Job, jobs.StageStart, tick.Request, SendOptions{ID: TickCommandID(tick.Request.ExecutionID)}); err != nil {
		if jobs.CodeOf(err) == jobs.CodeInvalidArgument {
			r.cfg.Logger.Error().Err(err).Str("job", tick.Job).Str("schedule", name).Msg("schedule tick dropped")
			r.count(tick.Job, name, TickFailed)
			_ = msg.Term()
			return
		}
		r.cfg.Logger.Warn().Err(err).Str("job", tick.Job).Str("schedule", name).Msg("schedule tick not sent yet; retrying")
		_ = msg.NakWithDelay(2 * time.Second)
		return
	}
	r.count(tick.Job, name, TickStarted)
	_ = msg.Ack()
}

// tokenAt is the i-th token of a subject, "" past its end.
func tokenAt(subject string, i int) string {
	tok := strings.Split(subject, ".")
	if i < len(tok) {
		return tok[i]
	}
	return ""
}
