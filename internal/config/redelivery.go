package config

import (
	"time"

	"github.com/jetjobs/jetjobs/bus"
)

// defaultRedeliveryBackoff is nats.redelivery-backoff's default, as
// written in a file.
func defaultRedeliveryBackoff() []string {
	out := make([]string, len(bus.DefaultRedeliveryBackoff))
	for i, d := range bus.DefaultRedeliveryBackoff {
		out[i] = formatDuration(d)
	}
	return out
}

// RedeliveryBackoffDurations is nats.redelivery-backoff parsed (after
// Validate); nil when unset, which means the default.
func (n NATS) RedeliveryBackoffDurations() []time.Duration {
	var out []time.Duration
	for _, s := range n.RedeliveryBackoff {
		if d, err := ParseDuration(s); err == nil {
			out = append(out, d)
		}
	}
	return out
}

// validateRedelivery checks nats.redelivery-backoff: at least one
// duration, each positive, none shorter than the one before, and none
// longer than a day (a command would wait that long after an outage).
func (c Config) validateRedelivery(k *checker) {
	const key = "nats.redelivery-backoff"
	list := c.NATS.RedeliveryBackoff
	if len(list) == 0 {
		k.add(key, "needs at least one duration, e.g. 1s,5s,30s,2m,5m")
		return
	}
	var prev time.Duration
	for i, s := range list {
		d, err := ParseDuration(s)
		switch {
		case err != nil:
			k.add(key, "item %d: invalid duration %q: %v", i+1, s, err)
			return
		case d <= 0:
			k.add(key, "item %d: %s must be positive", i+1, s)
			return
		case d < prev:
			k.add(key, "item %d: %s is shorter than the one before (%s): the waits must not shrink", i+1, s, formatDuration(prev))
			return
		case d > 24*time.Hour:
			k.add(key, "item %d: %s is longer than 24h", i+1, s)
			return
		}
		prev = d
	}
}
