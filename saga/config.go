package saga

import (
	"fmt"
	"regexp"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/jobs"
)

// Streams the coordinator creates besides the engine's: saga commands
// (start, resume, cancel) and saga timers (step timeouts, retry backoffs).
// Both are work queues; JOBS_EVENTS already holds saga events (P.saga.>).
const (
	StreamCommands = "SAGA_COMMANDS" // P.sagacmd.<saga>.<action>
	StreamTimers   = "SAGA_TIMERS"   // P.sagatimer.<saga>.<sagaId>
)

// Config tunes a Coordinator; zero values take the defaults in comments.
type Config struct {
	Prefix          string                // jobs: the engine's subject prefix
	Name            string                // saga-coordinator: durable consumers <name>-events, -timers, -commands
	Source          string                // /jetjobs/saga: CloudEvents source of saga events, + /<saga>
	Bucket          string                // SAGAS
	Replicas        int                   // 1; 3 in a cluster
	Storage         jetstream.StorageType // file
	Concurrency     int                   // 32: messages handled at once, per consumer
	AckWait         time.Duration         // 30s: an unanswered message is redelivered after this (handlers send in-progress acks)
	CallTimeout     time.Duration         // 30s: wait for the engine's answer to START, EXECUTE, RESULT, STOP
	DuplicateWindow time.Duration         // 2m: of SAGA_COMMANDS and SAGA_TIMERS
	// Registry, if set, tells the mode (async or sync) of steps whose
	// definition leaves it empty; without it they are async.
	Registry *jobs.Registry
	Logger   zerolog.Logger // zero value: no log lines
	// Sanitizer masks sensitive keys of a saga's input once, when the saga
	// starts, before it is stored (SAGAS), published (SAGA_STARTED) or used
	// to build step parameters; nil (the default) keeps it as given. Pass
	// secrets to a saga as references (a vault path), not values: the
	// saga keeps its input for its whole life.
	Sanitizer *jobs.Sanitizer
	// Limits bound the saga streams and bucket and expire finished sagas
	// (limits.go); zero values: no bound, kept forever.
	Limits Limits
	// ReplyRule says which replyto subjects saga commands may name; a
	// command with another is refused unapplied. Default
	// bus.NewReplyRule(Prefix, "", nil): only under _INBOX.
	ReplyRule *bus.ReplyRule
}

var (
	nameRE   = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	prefixRE = regexp.MustCompile(`^[a-z0-9_-]+(\.[a-z0-9_-]+)*$`)
)

// WithDefaults fills the zero fields.
func (c Config) WithDefaults() Config {
	if c.Prefix == "" {
		c.Prefix = "jobs"
	}
	if c.Name == "" {
		c.Name = "saga-coordinator"
	}
	if c.Source == "" {
		c.Source = "/jetjobs/saga"
	}
	if c.Bucket == "" {
		c.Bucket = Bucket
	}
	if c.Replicas == 0 {
		c.Replicas = 1
	}
	if c.Concurrency == 0 {
		c.Concurrency = 32
	}
	if c.AckWait == 0 {
		c.AckWait = 30 * time.Second
	}
	if c.CallTimeout == 0 {
		c.CallTimeout = 30 * time.Second
	}
	if c.DuplicateWindow == 0 {
		c.DuplicateWindow = 2 * time.Minute
	}
	if c.ReplyRule == nil {
		c.ReplyRule, _ = bus.NewReplyRule(c.Prefix, "", nil) // no patterns: cannot fail
	}
	return c
}

// Validate reports every bad value, naming its key.
func (c Config) Validate() error {
	ck := &checker{}
	if !prefixRE.MatchString(c.Prefix) {
		ck.add("sagas.prefix", "invalid subject prefix %q", c.Prefix)
	}
	if !nameRE.MatchString(c.Name) {
		ck.add("sagas.name", "invalid consumer name %q: want 1 to 64 of A-Z a-z 0-9 _ -", c.Name)
	}
	if !nameRE.MatchString(c.Bucket) {
		ck.add("sagas.bucket", "invalid bucket name %q", c.Bucket)
	}
	if c.Replicas < 1 || c.Replicas > 5 {
		ck.add("sagas.replicas", "must be in 1..5, got %d", c.Replicas)
	}
	if c.Concurrency < 1 {
		ck.add("sagas.concurrency", "must be >= 1, got %d", c.Concurrency)
	}
	for _, kd := range []struct {
		key string
		d   time.Duration
	}{{"sagas.ack-wait", c.AckWait}, {"sagas.call-timeout", c.CallTimeout}, {"sagas.duplicate-window", c.DuplicateWindow}} {
		if kd.d <= 0 {
			ck.add(kd.key, "must be > 0, got %s", kd.d)
		}
	}
	if c.AckWait > 0 && c.AckWait < 100*time.Millisecond {
		ck.add("sagas.ack-wait", "must be >= 100ms, got %s", c.AckWait)
	}
	if err := ck.err(); err != nil {
		return fmt.Errorf("saga: config: %w", err)
	}
	return nil
}
