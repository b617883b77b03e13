package bus

import (
	"errors"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetjobs/jetjobs/jobs"
)

// Outages are waited out, not dead-lettered (docs/operations.md, Outages).
// A command the engine could not process because something it depends on
// is unavailable (a port error: NATS or JetStream down, a leader election,
// a full stream, a revision conflict; or a refusal: an open breaker, the
// rate limiter, a full bulkhead) is redelivered on the redelivery backoff
// schedule for as long as it takes. The command consumers therefore have no
// max-deliver of their own (JetStream counts every delivery, outages
// included); the engine counts poison deliveries itself and dead-letters a
// command only on its max-deliver-th poison delivery.

// DefaultRedeliveryBackoff is nats.redelivery-backoff's default: the wait
// before the 1st, 2nd, ... redelivery of a command that could not be
// processed; the last one repeats.
var DefaultRedeliveryBackoff = []time.Duration{time.Second, 5 * time.Second, 30 * time.Second, 2 * time.Minute, 5 * time.Minute}

// redeliveryDelay is the wait before the redelivery that follows the
// delivery-th one.
func redeliveryDelay(schedule []time.Duration, delivery int) time.Duration {
	if len(schedule) == 0 {
		schedule = DefaultRedeliveryBackoff
	}
	return schedule[min(max(delivery, 1), len(schedule))-1]
}

// Poison is what an error of the runtime says about its command.
type poisonKind int

const (
	transient poisonKind = iota // wait it out: redelivered on the schedule, never dead-lettered
	poisonous                   // counts towards max-deliver
)

// classify says whether a failed command is poison. Only engine bugs and
// data that can never be stored are: an internal error (a record or result
// that cannot be encoded or decoded), a recovered panic, a message larger
// than the server accepts. Everything else is some dependency being
// unavailable, which time fixes: a port error, a storage-full error, a
// revision conflict, a refusal.
func classify(err error) poisonKind {
	var pe *jobs.PanicError
	switch {
	case err == nil:
		return transient
	case errors.As(err, &pe):
		return poisonous
	case errors.Is(err, nats.ErrMaxPayload), isAPIError(err, jetstream.JSErrCodeStreamMessageExceedsMaximum):
		return poisonous
	case jobs.CodeOf(err) == jobs.CodeInternal:
		return poisonous
	}
	return transient
}

func isAPIError(err error, code jetstream.ErrorCode) bool {
	var ae *jetstream.APIError
	return errors.As(err, &ae) && ae.ErrorCode == code
}

// poisonCounts counts the poison deliveries of commands by stream sequence,
// in this engine. A command that is poison on every delivery reaches
// max-deliver here; one that recovers is forgotten when acknowledged. The
// count is per engine and in memory: with several engines a command may be
// tried up to max-deliver times on each, which bounds it all the same.
type poisonCounts struct {
	mu sync.Mutex
	n  map[uint64]int
}

// poisonCountsMax bounds the map: past it, it starts again (counts are a
// safety net, not a ledger).
const poisonCountsMax = 10_000

func (p *poisonCounts) add(seq uint64) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.n == nil || len(p.n) >= poisonCountsMax {
		p.n = map[uint64]int{}
	}
	p.n[seq]++
	return p.n[seq]
}

func (p *poisonCounts) forget(seq uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.n) > 0 {
		delete(p.n, seq)
	}
}

// logLimiter lets one log line of a kind through per interval and counts
// the ones it held back, so that an outage that fails every live timer
// each second writes one warning per interval, not thousands.
type logLimiter struct {
	mu         sync.Mutex
	every      time.Duration
	last       time.Time
	suppressed int
}

// allow reports whether to log now, and how many were held back since the
// last line.
func (l *logLimiter) allow(now time.Time) (bool, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.last.IsZero() && now.Sub(l.last) < l.every {
		l.suppressed++
		return false, 0
	}
	n := l.suppressed
	l.last, l.suppressed = now, 0
	return true, n
}
