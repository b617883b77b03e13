package bus

import (
	"context"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Pool consumes one JetStream consumer with at most n messages in flight,
// and stops by draining: no new message is taken, the ones in hand finish.
// The engine's workers and the saga coordinator both run on it.
type Pool struct {
	cc       jetstream.ConsumeContext
	sem      chan struct{}
	inflight sync.WaitGroup
	stopOnce sync.Once
}

// Consume starts a pool on cons. handle is called in its own goroutine per
// message; it must ack, nak or term the message.
func Consume(cons jetstream.Consumer, n int, handle func(jetstream.Msg)) (*Pool, error) {
	p := &Pool{sem: make(chan struct{}, n)}
	cc, err := cons.Consume(func(msg jetstream.Msg) {
		p.sem <- struct{}{} // backpressure: the callback waits for a free slot
		p.inflight.Add(1)
		go func() {
			defer func() { <-p.sem; p.inflight.Done() }()
			handle(msg)
		}()
	}, jetstream.PullMaxMessages(max(2*n, 16)))
	if err != nil {
		return nil, err
	}
	p.cc = cc
	return p, nil
}

// Stop drains the subscription and waits for in-flight handlers, at most
// until ctx ends; what is not acked by then is redelivered by the server.
// Safe to call twice.
func (p *Pool) Stop(ctx context.Context) {
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

// KeepAlive tells the server a long handler is still working on msg, every
// third of the ack wait, until the returned stop is called. It costs a timer,
// not a goroutine: most stages end long before the first tick.
func KeepAlive(msg jetstream.Msg, ackWait time.Duration) (stop func()) {
	every := max(ackWait/3, 100*time.Millisecond)
	var mu sync.Mutex
	stopped := false
	var t *time.Timer
	mu.Lock() // the callback needs t: it waits for the assignment
	defer mu.Unlock()
	t = time.AfterFunc(every, func() {
		mu.Lock()
		defer mu.Unlock()
		if stopped {
			return
		}
		_ = msg.InProgress()
		t.Reset(every)
	})
	return func() {
		mu.Lock()
		defer mu.Unlock()
		stopped = true
		t.Stop()
	}
}
