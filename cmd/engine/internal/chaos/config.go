package chaos

import (
	"errors"
	"fmt"
	"io"
	"time"
)

// Config is one chaos run; zero values take the defaults in comments.
type Config struct {
	Duration  time.Duration // 5m: how long load and faults run
	Rate      float64       // 20: STARTs per second (half async, a third sync, the rest sagas)
	Every     time.Duration // 10s: mean pause between two faults (uniform in [Every/2, 3*Every/2])
	Downtime  time.Duration // 4s: how long a killed node or instance stays down
	Drain     time.Duration // 2m: after the run, how long the accepted work has to end
	Instances int           // 3: engine instances, each first connected to another node
	Replicas  int           // 3: the engines' nats.replicas
	NATSURL   string        // "": an embedded 3-node cluster in a temporary directory
	Seed      int64         // 0: a seed from the clock (printed, to replay a run's fault sequence)
	Faults    []string      // all: the kinds of fault to make (FaultKinds)
	Progress  io.Writer     // nil: no progress lines (engine chaos: stderr)
	LogLevel  string        // "": the engines log nothing; else their log level, to Progress
}

// The kinds of fault.
const (
	FaultNodeKill     = "node-kill"     // the leader of a random stream is killed, restarted after Downtime
	FaultStepDown     = "step-down"     // a random stream's leader steps down
	FaultInstanceKill = "instance-kill" // an engine instance is killed (no drain), started again after Downtime
)

// FaultKinds lists every kind of fault.
var FaultKinds = []string{FaultNodeKill, FaultStepDown, FaultInstanceKill}

// WithDefaults fills the zero fields.
func (c Config) WithDefaults() Config {
	if c.Duration == 0 {
		c.Duration = 5 * time.Minute
	}
	if c.Rate == 0 {
		c.Rate = 20
	}
	if c.Every == 0 {
		c.Every = 10 * time.Second
	}
	if c.Downtime == 0 {
		c.Downtime = 4 * time.Second
	}
	if c.Drain == 0 {
		c.Drain = 2 * time.Minute
	}
	if c.Instances == 0 {
		c.Instances = 3
	}
	if c.Replicas == 0 {
		c.Replicas = 3
	}
	if len(c.Faults) == 0 {
		c.Faults = append([]string(nil), FaultKinds...)
		if c.NATSURL != "" {
			c.Faults = []string{FaultStepDown, FaultInstanceKill}
		}
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
	return c
}

// Validate names every bad setting by its flag.
func (c Config) Validate() error {
	var errs []error
	bad := func(flag, format string, a ...any) {
		errs = append(errs, fmt.Errorf("--%s: %s", flag, fmt.Sprintf(format, a...)))
	}
	if c.Duration <= 0 {
		bad("duration", "must be > 0, got %s", c.Duration)
	}
	if c.Rate <= 0 || c.Rate > 5000 {
		bad("rate", "must be in (0, 5000], got %g", c.Rate)
	}
	if c.Every <= 0 {
		bad("every", "must be > 0, got %s", c.Every)
	}
	if c.Downtime <= 0 {
		bad("downtime", "must be > 0, got %s", c.Downtime)
	}
	if c.Drain <= 0 {
		bad("drain", "must be > 0, got %s", c.Drain)
	}
	if c.Instances < 1 || c.Instances > 9 {
		bad("instances", "must be in 1..9, got %d", c.Instances)
	}
	if c.Replicas < 1 || c.Replicas > 5 {
		bad("replicas", "must be in 1..5, got %d", c.Replicas)
	}
	if c.NATSURL == "" && c.Replicas > 3 {
		bad("replicas", "the embedded cluster has 3 nodes, got %d", c.Replicas)
	}
	for _, f := range c.Faults {
		switch {
		case f == FaultNodeKill && c.NATSURL != "":
			bad("faults", "%s needs the embedded cluster (no --nats-url)", f)
		case f != FaultNodeKill && f != FaultStepDown && f != FaultInstanceKill:
			bad("faults", "unknown fault %q (want %s, %s or %s)", f, FaultNodeKill, FaultStepDown, FaultInstanceKill)
		}
	}
	return errors.Join(errs...)
}
