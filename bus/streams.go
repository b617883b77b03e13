package bus

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// The streams of docs/wire.md, plus JOBS_TIMERS for engine-driven
// CHECKs.
const (
	StreamCommands = "JOBS_COMMANDS"
	StreamEvents   = "JOBS_EVENTS"
	StreamDLQ      = "JOBS_DLQ"
	StreamTimers   = "JOBS_TIMERS"
	StreamWork     = "JOBS_WORK" // worker jobs' queued work (work.go)
)

// Subjects builds the subjects under one prefix ("jobs" by default).
type Subjects struct{ Prefix string }

// Command is P.cmd.<job>.<stage>.
func (s Subjects) Command(job, stage string) string { return s.Prefix + ".cmd." + job + "." + stage }

// Event is P.evt.<job>.<TYPE>.
func (s Subjects) Event(job, eventType string) string {
	return s.Prefix + ".evt." + job + "." + eventType
}

// Saga is P.saga.<saga>.<TYPE>.
func (s Subjects) Saga(saga, eventType string) string {
	return s.Prefix + ".saga." + saga + "." + eventType
}

// DLQ is P.dlq.<job>.<stage>.
func (s Subjects) DLQ(job, stage string) string { return s.Prefix + ".dlq." + job + "." + stage }

// Timer is P.timer.<job>, where timers of engines before issue 13 lived
// (one subject per job type, the execution id in a header); TimerOf is
// where they live now.
func (s Subjects) Timer(job string) string { return s.Prefix + ".timer." + job }

// TimerOf is P.timer.<job>.<executionId>: one subject per live execution,
// so the timer reconciler lists a job type's armed timers by subject in
// one stream-info request (Timers.ArmedSet) and asks GetLastMsgForSubject
// only about those it did not find. The server keeps about a hundred bytes of
// per-subject state per live execution (10 MB for 100,000).
func (s Subjects) TimerOf(job, executionID string) string {
	return s.Prefix + ".timer." + job + "." + executionID
}

// Audit is P.audit.<job>.<executionId>.
func (s Subjects) Audit(job, executionID string) string {
	return s.Prefix + ".audit." + job + "." + executionID
}

// StreamsConfig sizes the streams; zero values take the defaults in comments.
type StreamsConfig struct {
	Prefix          string                // jobs
	Replicas        int                   // 1; 3 in a cluster
	Storage         jetstream.StorageType // file
	DuplicateWindow time.Duration         // 2m: a command id published twice inside it runs once
	// EventDuplicateWindow covers the engine's own replays of events and
	// timers after a crash, which come within the ack wait plus a retry
	// delay: 1m. The server keeps every id for the whole window, so a
	// shorter one saves much memory at high rates (at 10k jobs/s, ~1.2M ids
	// fewer than with 2m).
	EventDuplicateWindow time.Duration
	CommandMaxAge        time.Duration // 7 days: commands no consumer took are dropped after this; negative: no bound
	EventMaxAge          time.Duration // 30 days: events stay replayable this long; negative: no bound
	// DLQMaxAge is how long a dead letter (the original command, secrets
	// included) is kept: 14 days; negative keeps them until an operator
	// removes them (the only behaviour before nats.dlq-max-age).
	DLQMaxAge time.Duration
	// TimerMaxAge bounds the age of a timer message, which lives as long as
	// its execution: 0 (the default) or negative, no bound.
	TimerMaxAge time.Duration
	// The size bounds, in bytes (docs/operations.md, "Retention and
	// limits"); 0 (the default) or negative, no bound. Streams that hold
	// work not yet done (commands, dead letters, timers) refuse a new
	// message when full (jobs.ErrStorageFull reaches the caller); the event
	// stream, a history, drops its oldest messages instead.
	CommandMaxBytes, EventMaxBytes, DLQMaxBytes, TimerMaxBytes int64
	// WorkMaxAge and WorkMaxBytes bound JOBS_WORK, the worker jobs' queue
	// (work.go): 0 (the default) or negative, no bound; a full queue
	// refuses new work.
	WorkMaxAge   time.Duration
	WorkMaxBytes int64
}

// WithDefaults fills zero fields.
func (c StreamsConfig) WithDefaults() StreamsConfig {
	if c.Prefix == "" {
		c.Prefix = "jobs"
	}
	if c.Replicas < 1 {
		c.Replicas = 1
	}
	if c.DuplicateWindow <= 0 {
		c.DuplicateWindow = 2 * time.Minute
	}
	if c.EventDuplicateWindow <= 0 {
		c.EventDuplicateWindow = min(time.Minute, c.DuplicateWindow)
	}
	if c.CommandMaxAge == 0 {
		c.CommandMaxAge = 7 * 24 * time.Hour
	}
	if c.EventMaxAge == 0 {
		c.EventMaxAge = 30 * 24 * time.Hour
	}
	// Negative: no bound, which JetStream spells 0 for an age and -1 for a
	// size.
	c.CommandMaxAge, c.EventMaxAge, c.TimerMaxAge = max(c.CommandMaxAge, 0), max(c.EventMaxAge, 0), max(c.TimerMaxAge, 0)
	c.WorkMaxAge = max(c.WorkMaxAge, 0)
	for _, b := range []*int64{&c.CommandMaxBytes, &c.EventMaxBytes, &c.DLQMaxBytes, &c.TimerMaxBytes, &c.WorkMaxBytes} {
		if *b <= 0 {
			*b = -1
		}
	}
	switch {
	case c.DLQMaxAge == 0:
		c.DLQMaxAge = 14 * 24 * time.Hour
	case c.DLQMaxAge < 0:
		c.DLQMaxAge = 0 // JetStream: no age limit
	}
	return c
}

// EnsureStreams creates or updates the streams; running it again with the
// same config changes nothing, with another config updates them.
//
// JOBS_COMMANDS is a work queue: a command is removed once its job
// consumer acknowledges it (handled, answered or dead-lettered), so the
// parameters it carries are not kept. A work queue keeps a command no
// consumer has taken yet (a job no engine registered so far) until its max
// age or the sweeper moves it to the DLQ, where interest retention would drop
// it at once. An older limits-retention JOBS_COMMANDS is migrated
// (ensureCommandStream).
func EnsureStreams(ctx context.Context, js jetstream.JetStream, cfg StreamsConfig) error {
	cfg = cfg.WithDefaults()
	p := cfg.Prefix
	streams := []jetstream.StreamConfig{
		{Name: StreamCommands, Description: "jetjobs commands", Subjects: []string{p + ".cmd.>"},
			Retention: jetstream.WorkQueuePolicy, MaxAge: cfg.CommandMaxAge, Duplicates: cfg.DuplicateWindow,
			MaxBytes: cfg.CommandMaxBytes, Discard: jetstream.DiscardNew},
		{Name: StreamEvents, Description: "jetjobs job and saga events", Subjects: []string{p + ".evt.>", p + ".saga.>"},
			Retention: jetstream.LimitsPolicy, MaxAge: cfg.EventMaxAge, Duplicates: cfg.EventDuplicateWindow,
			MaxBytes: cfg.EventMaxBytes, Discard: jetstream.DiscardOld},
		{Name: StreamDLQ, Description: "jetjobs dead letters", Subjects: []string{p + ".dlq.>"},
			Retention: jetstream.LimitsPolicy, MaxAge: cfg.DLQMaxAge, Duplicates: cfg.DuplicateWindow,
			MaxBytes: cfg.DLQMaxBytes, Discard: jetstream.DiscardNew},
		{Name: StreamTimers, Description: "jetjobs engine-driven CHECK timers, one message per live execution",
			Subjects: []string{p + ".timer.>"}, Retention: jetstream.WorkQueuePolicy, Duplicates: cfg.EventDuplicateWindow,
			MaxAge: cfg.TimerMaxAge, MaxBytes: cfg.TimerMaxBytes, Discard: jetstream.DiscardNew,
			// One timer per execution by construction (P.timer.<job>.<id>):
			// a second arm replaces the first (timers.go).
			MaxMsgsPerSubject: 1},
		workStream(cfg),
	}
	for _, sc := range streams {
		sc.Replicas, sc.Storage = cfg.Replicas, cfg.Storage
		if sc.Name == StreamCommands {
			if err := ensureCommandStream(ctx, js, sc); err != nil {
				return fmt.Errorf("bus: stream %s: %w", sc.Name, err)
			}
			continue
		}
		if _, err := js.CreateOrUpdateStream(ctx, sc); err != nil {
			return StreamError(sc.Name, err)
		}
	}
	return nil
}
