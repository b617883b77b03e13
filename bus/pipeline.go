package bus

import (
	"context"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetjobs/jetjobs/jobs"
)

// pipeline collects the JetStream publishes of one command (audit entries,
// events, timers) so they are sent without waiting for each acknowledgement;
// the worker waits for all of them before it replies and acknowledges the
// command. Order on a connection is kept, so events still follow the state
// writes before them (those wait for their own acknowledgement).
type pipeline struct {
	acks *acker
	mu   sync.Mutex // a stage abandoned by its timeout may still publish
	w    *waiter
}

func (p *pipeline) current() *waiter {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.w
}

// A command's pipeline is the Writes of its jobs.Batch.
var _ jobs.Writes = (*pipeline)(nil)

type pipelineKey struct{}

func withPipeline(ctx context.Context, acks *acker) (context.Context, *pipeline) {
	p := &pipeline{acks: acks, w: newWaiter()}
	return context.WithValue(ctx, pipelineKey{}, p), p
}

// Publish sends msg to JetStream: through the pipeline of the command being
// handled when ctx has one (the worker waits for its ack before it
// acknowledges the command), else synchronously. Adapters that write on
// behalf of a command (the result store) use it so their writes ride along.
func Publish(ctx context.Context, js jetstream.JetStream, msg *nats.Msg) error {
	return publish(ctx, js, msg)
}

// PublishAcked sends msg to JetStream and waits for its acknowledgement:
// the stored sequence, or the server's error as a *jetstream.APIError
// (a failed expectation header, say). Within a command it uses the
// pipeline's connection and acknowledgement reader, and keeps the order of
// the command's writes; elsewhere it is js.PublishMsg.
func PublishAcked(ctx context.Context, js jetstream.JetStream, msg *nats.Msg) (uint64, error) {
	p, ok := ctx.Value(pipelineKey{}).(*pipeline)
	if !ok {
		ack, err := js.PublishMsg(ctx, msg)
		if err != nil {
			return 0, err
		}
		return ack.Sequence, nil
	}
	w := waiters.Get().(*waiter)
	if err := p.acks.publish(msg, nil, w); err != nil {
		return 0, err
	}
	seq, err := w.wait(ctx, p.acks)
	w.recycle()
	return seq, err
}

// publish sends msg: through the command's pipeline when there is one, else
// synchronously.
func publish(ctx context.Context, js jetstream.JetStream, msg *nats.Msg) error {
	p, ok := ctx.Value(pipelineKey{}).(*pipeline)
	if !ok {
		_, err := js.PublishMsg(ctx, msg)
		return err
	}
	return p.acks.publish(msg, nil, p.current())
}

// Wait returns once every publish so far is stored, or the first failure.
func (p *pipeline) Wait(ctx context.Context) error {
	_, err := p.current().wait(ctx, p.acks)
	if err != nil {
		p.mu.Lock()
		p.w = newWaiter() // what is still due belongs to the failed round
		p.mu.Unlock()
	}
	return PortError("store the command's writes", err)
}

// Pipelined returns a context in which JetStream publishes made through
// this package (Publish, PublishAcked and the adapters built on them) are
// pipelined on nc as the worker pipelines a command's: wait returns once
// all so far are stored; release stops reading acknowledgements. For code
// that writes on behalf of a command outside the worker, and for adapters'
// tests.
func Pipelined(ctx context.Context, nc *nats.Conn, timeout time.Duration) (_ context.Context, wait func(context.Context) error, release func(), _ error) {
	acks, err := newAcker(nc, timeout)
	if err != nil {
		return nil, nil, nil, err
	}
	ctx, p := withPipeline(ctx, acks)
	return ctx, p.Wait, acks.close, nil
}
