package bus

import (
	"errors"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"
)

// ConnHooks are told of a connection's events, to count them; nil hooks
// are skipped. They must not block.
type ConnHooks struct {
	Disconnected func()            // the connection was lost
	Reconnected  func()            // it is back
	AsyncError   func(kind string) // slow_consumer, permissions or other
}

// WatchConnection logs a connection's disconnects, reconnects, slow
// consumers and asynchronous errors (each event once; the same error on the
// same subscription at most once per errorLogEvery, with the number held
// back) and tells hooks. Pass the options to Connect.
func WatchConnection(log zerolog.Logger, hooks ConnHooks) []nats.Option {
	w := &connWatch{log: log, hooks: hooks, limits: map[string]*logLimiter{}}
	return []nats.Option{
		nats.DisconnectErrHandler(w.disconnected),
		nats.ReconnectHandler(w.reconnected),
		nats.ErrorHandler(w.asyncError),
	}
}

// errorLogEvery is how often the same asynchronous error is logged.
const errorLogEvery = time.Minute

type connWatch struct {
	log   zerolog.Logger
	hooks ConnHooks

	mu     sync.Mutex
	since  time.Time // when the connection was lost
	limits map[string]*logLimiter
}

func (w *connWatch) disconnected(nc *nats.Conn, err error) {
	if nc.IsClosed() {
		return // closed on purpose (Stop): not an outage
	}
	w.mu.Lock()
	w.since = time.Now()
	w.mu.Unlock()
	ev := w.log.Warn()
	if err != nil {
		ev = ev.Err(err)
	}
	ev.Msg("NATS connection lost; reconnecting (commands wait, /health is DOWN)")
	if w.hooks.Disconnected != nil {
		w.hooks.Disconnected()
	}
}

func (w *connWatch) reconnected(nc *nats.Conn) {
	w.mu.Lock()
	down := time.Duration(0)
	if !w.since.IsZero() {
		down = time.Since(w.since)
	}
	w.since = time.Time{}
	w.mu.Unlock()
	w.log.Info().Str("url", RedactURL(nc.ConnectedUrl())).Dur("downFor", down).Msg("NATS connection reestablished")
	if w.hooks.Reconnected != nil {
		w.hooks.Reconnected()
	}
}

// asyncError logs what the server reports on the connection outside any
// call, such as a permissions violation (with narrow NATS permissions,
// docs/operations.md, Security, it names what is missing) or a slow
// consumer.
func (w *connWatch) asyncError(_ *nats.Conn, sub *nats.Subscription, err error) {
	kind := "other"
	switch {
	case errors.Is(err, nats.ErrSlowConsumer):
		kind = "slow_consumer"
	case errors.Is(err, nats.ErrPermissionViolation):
		kind = "permissions"
	}
	// The hook runs after the log line, so whoever it tells can read it.
	if w.hooks.AsyncError != nil {
		defer w.hooks.AsyncError(kind)
	}
	subject := ""
	if sub != nil {
		subject = sub.Subject
	}
	key := kind + "\x00" + subject + "\x00" + err.Error()
	w.mu.Lock()
	l := w.limits[key]
	if l == nil {
		if len(w.limits) >= 1000 {
			w.limits = map[string]*logLimiter{}
		}
		l = &logLimiter{every: errorLogEvery}
		w.limits[key] = l
	}
	w.mu.Unlock()
	ok, held := l.allow(time.Now())
	if !ok {
		return
	}
	ev := w.log.Warn().Err(err).Str("kind", kind)
	if subject != "" {
		ev = ev.Str("subscription", subject)
	}
	if held > 0 {
		ev = ev.Int("alsoReported", held)
	}
	ev.Msg("NATS reported an error")
}
