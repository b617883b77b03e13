package saga

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Handler results other than nil (ack) and a plain error (nak with backoff).
var (
	errTerm    = errors.New("saga: message can never be handled") // term it
	errSettled = errors.New("saga: message already acknowledged") // the handler acked or nak'ed it itself
	errCrash   = errors.New("saga: simulated crash")              // tests: leave the message unacknowledged
)

// pool consumes one JetStream consumer with at most n handlers at once and
// stops by draining: no new message is taken, the ones in hand finish.
type pool struct {
	cc       jetstream.ConsumeContext
	sem      chan struct{}
	inflight sync.WaitGroup
	stopOnce sync.Once
}

// consume runs handle for every message, in its own goroutine, and settles
// the message from its result. While handle runs the server is told it is
// still in progress, so a slow engine answer does not cause a redelivery.
func consume(ctx context.Context, cons jetstream.Consumer, n int, ackWait time.Duration,
	handle func(context.Context, jetstream.Msg) error, onErr func(jetstream.Msg, error)) (*pool, error) {
	p := &pool{sem: make(chan struct{}, n)}
	cc, err := cons.Consume(func(msg jetstream.Msg) {
		p.sem <- struct{}{}
		p.inflight.Add(1)
		go func() {
			defer func() { <-p.sem; p.inflight.Done() }()
			stop := keepAlive(msg, ackWait)
			err := handle(ctx, msg)
			stop()
			settle(msg, err, onErr)
		}()
	}, jetstream.PullMaxMessages(max(2*n, 16)))
	if err != nil {
		return nil, err
	}
	p.cc = cc
	return p, nil
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

// stop drains the subscription and waits for in-flight handlers, at most
// until ctx ends; what is not acked by then is redelivered.
func (p *pool) stop(ctx context.Context) {
	p.stopOnce.Do(func() {
		p.cc.Drain()
		select {
		case <-p.cc.Closed():
		case <-ctx.Done():
			p.cc.Stop()
		}
		done := make(chan struct{})
		go func() { p.inflight.Wait(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
		}
	})
}

// keepAlive sends in-progress acks every third of the ack wait until stop.
func keepAlive(msg jetstream.Msg, ackWait time.Duration) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(max(ackWait/3, 50*time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				_ = msg.InProgress()
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}
