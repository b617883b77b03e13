package bus

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

// Pool consumes one JetStream consumer with at most n messages in flight,
// and stops by draining: no new message is taken, the ones in hand finish.
// The engine's workers and the saga coordinator both run on it.
//
// It pulls only what it can run: each pull asks for as many messages as it
// has free slots, and every message it receives has a slot waiting for it,
// so no message sits in a client buffer while its ack wait runs out (the
// handlers keep theirs alive with KeepAlive). A panic in a handler or in the
// pool's own goroutine is recovered: logged, and the message redelivered.
type Pool struct {
	cons     jetstream.Consumer
	handle   func(jetstream.Msg)
	opts     PoolOptions
	sem      chan struct{}
	inflight sync.WaitGroup
	ctx      context.Context
	cancel   context.CancelFunc
	pulling  sync.WaitGroup
	stopOnce sync.Once
	// work hands a message to an idle handler goroutine; workers counts
	// them, for Stop.
	work    chan jetstream.Msg
	workers sync.WaitGroup
}

// PoolOptions tune a Pool; zero values take the defaults in comments.
type PoolOptions struct {
	Logger zerolog.Logger // disabled: where recovered panics and pull errors are logged
	// Conn, when set, is checked before each pull: no pull is sent while it
	// is not connected (a pull buffered during a reconnect would be answered
	// to an inbox nobody reads any more).
	Conn    *nats.Conn
	PullFor time.Duration // 5s: how long one pull waits for messages
}

// Consume starts a pool on cons. handle is called in a goroutine of its own
// for each message in flight (goroutines are reused); it must ack, nak or
// term the message.
func Consume(cons jetstream.Consumer, n int, handle func(jetstream.Msg), opts ...PoolOptions) (*Pool, error) {
	var o PoolOptions
	if len(opts) > 0 {
		o = opts[0]
	} else {
		o.Logger = zerolog.Nop()
	}
	if o.PullFor <= 0 {
		o.PullFor = 5 * time.Second
	}
	n = max(n, 1)
	p := &Pool{cons: cons, handle: handle, opts: o, sem: make(chan struct{}, n), work: make(chan jetstream.Msg)}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.pulling.Add(1)
	go p.loop()
	return p, nil
}

// loop pulls for the free slots until the pool stops; a panic in it is
// logged and the loop starts again.
func (p *Pool) loop() {
	defer p.pulling.Done()
	for p.ctx.Err() == nil {
		p.safely(p.pullOnce)
	}
}

func (p *Pool) safely(f func()) {
	defer func() {
		if v := recover(); v != nil {
			p.opts.Logger.Error().Str("panic", fmt.Sprint(v)).Bytes("stack", debug.Stack()).
				Msg("consumer pool panicked; pulling again")
			p.pause(time.Second)
		}
	}()
	f()
}

// pullOnce waits for a free slot, takes every free slot, pulls that many
// messages and hands each to a handler in its own goroutine.
func (p *Pool) pullOnce() {
	select {
	case p.sem <- struct{}{}:
	case <-p.ctx.Done():
		return
	}
	free := 1
	for free < cap(p.sem) {
		select {
		case p.sem <- struct{}{}:
			free++
			continue
		default:
		}
		break
	}
	used := 0
	defer func() {
		for range free - used { // slots the pull did not fill
			<-p.sem
		}
	}()
	if nc := p.opts.Conn; nc != nil && !nc.IsConnected() {
		p.pause(250 * time.Millisecond)
		return
	}
	ctx, cancel := context.WithTimeout(p.ctx, p.opts.PullFor)
	defer cancel()
	batch, err := p.cons.Fetch(free, jetstream.FetchContext(ctx))
	if err != nil {
		p.pullFailed(err)
		return
	}
	for msg := range batch.Messages() {
		used++
		p.inflight.Add(1)
		p.dispatch(msg)
	}
	if err := batch.Error(); err != nil && p.ctx.Err() == nil && !errors.Is(err, context.DeadlineExceeded) {
		p.pullFailed(err)
	}
}

// dispatch hands msg to an idle handler goroutine, or starts one (at most
// one per slot). A goroutine serves message after message, so its stack,
// grown once to what a handler needs, is not grown again, deep in the
// handler, for every message.
func (p *Pool) dispatch(msg jetstream.Msg) {
	select {
	case p.work <- msg:
	default:
		p.workers.Add(1)
		go p.worker(msg)
	}
}

// worker runs msg, then whatever dispatch hands it, until the pool stops.
func (p *Pool) worker(msg jetstream.Msg) {
	defer p.workers.Done()
	for {
		p.run(msg)
		select {
		case msg = <-p.work:
		case <-p.ctx.Done():
			return
		}
	}
}

// run handles one message in the slot reserved for it.
func (p *Pool) run(msg jetstream.Msg) {
	defer func() {
		if v := recover(); v != nil {
			p.opts.Logger.Error().Str("subject", msg.Subject()).Str("panic", fmt.Sprint(v)).
				Bytes("stack", debug.Stack()).Msg("message handler panicked; redelivering")
			_ = msg.NakWithDelay(time.Second)
		}
		<-p.sem
		p.inflight.Done()
	}()
	p.handle(msg)
}

func (p *Pool) pullFailed(err error) {
	if p.ctx.Err() != nil {
		return
	}
	p.opts.Logger.Debug().Err(err).Msg("pulling messages failed; pulling again")
	p.pause(250 * time.Millisecond)
}

func (p *Pool) pause(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-p.ctx.Done():
	}
}

// Stop stops pulling and waits for in-flight handlers, at most until ctx
// ends; what is not acked by then is redelivered by the server. Safe to
// call twice.
func (p *Pool) Stop(ctx context.Context) {
	p.stopOnce.Do(func() {
		p.cancel()
		done := make(chan struct{})
		go func() { p.pulling.Wait(); p.inflight.Wait(); p.workers.Wait(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
		}
	})
}

// KeepAlive tells the server a long handler is still working on msg, every
// third of the ack wait, until the returned stop is called. It costs a timer,
// not a goroutine: most stages end long before the first tick. Safe to
// call stop twice.
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
