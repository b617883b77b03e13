package saga

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetjobs/jetjobs/bus"
)

// Handler results other than nil (ack) and a plain error (nak with backoff).
var (
	errTerm    = errors.New("saga: message can never be handled") // term it
	errSettled = errors.New("saga: message already acknowledged") // the handler acked or nak'ed it itself
	errCrash   = errors.New("saga: simulated crash")              // tests: leave the message unacknowledged
)

// consume runs handle for every message on the engine's consumer pool
// (bus.Consume), each in its own goroutine, and settles the message from its
// result. While handle runs the server is told it is still in progress, so a
// slow engine answer does not cause a redelivery.
func consume(ctx context.Context, cons jetstream.Consumer, n int, ackWait time.Duration,
	handle func(context.Context, jetstream.Msg) error, onErr func(jetstream.Msg, error)) (*bus.Pool, error) {
	return bus.Consume(cons, n, func(msg jetstream.Msg) {
		stop := bus.KeepAlive(msg, ackWait)
		err := handle(ctx, msg)
		stop()
		settle(msg, err, onErr)
	})
}

func settle(msg jetstream.Msg, err error, onErr func(jetstream.Msg, error)) {
	switch {
	case err == nil:
		_ = msg.Ack()
	case errors.Is(err, errSettled), errors.Is(err, errCrash):
	case errors.Is(err, errBusy):
		_ = msg.NakWithDelay(backoff(msg))
	case errors.Is(err, errTerm):
		onErr(msg, err)
		_ = msg.Term()
	default:
		onErr(msg, err)
		_ = msg.NakWithDelay(backoff(msg))
	}
}

// backoff is the wait before a failed message is tried again: 250ms
// doubling per delivery, at most 10s.
func backoff(msg jetstream.Msg) time.Duration {
	n := uint64(1)
	if meta, err := msg.Metadata(); err == nil {
		n = meta.NumDelivered
	}
	return min(250*time.Millisecond<<min(n-1, 6), 10*time.Second)
}
