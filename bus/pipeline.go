package bus

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// pipeline collects the JetStream publishes of one command (audit entries,
// events, timers) so they are sent without waiting for each acknowledgement;
// the worker waits for all of them before it replies and acknowledges the
// command. Order on a connection is kept, so events still follow the state
// writes before them (those are synchronous KV operations).
type pipeline struct {
	futures []jetstream.PubAckFuture
}

type pipelineKey struct{}

func withPipeline(ctx context.Context) (context.Context, *pipeline) {
	p := &pipeline{}
	return context.WithValue(ctx, pipelineKey{}, p), p
}

// Publish sends msg to JetStream: through the pipeline of the command being
// handled when ctx has one (the worker waits for its ack before it
// acknowledges the command), else synchronously. Adapters that write on
// behalf of a command (the result store) use it so their writes ride along.
func Publish(ctx context.Context, js jetstream.JetStream, msg *nats.Msg) error {
	return publish(ctx, js, msg)
}

// publish sends msg: through the command's pipeline when there is one, else
// synchronously.
func publish(ctx context.Context, js jetstream.JetStream, msg *nats.Msg) error {
	p, ok := ctx.Value(pipelineKey{}).(*pipeline)
	if !ok {
		_, err := js.PublishMsg(ctx, msg)
		return err
	}
	f, err := js.PublishMsgAsync(msg)
	if err != nil {
		return err
	}
	p.futures = append(p.futures, f)
	return nil
}

// wait returns once every publish so far is stored, or the first failure.
func (p *pipeline) wait(ctx context.Context) error {
	futures := p.futures
	p.futures = nil
	for _, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return fmt.Errorf("bus: publish to %s: %w", f.Msg().Subject, err)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// flush waits for the pipeline in ctx, if any.
func flush(ctx context.Context) error {
	if p, ok := ctx.Value(pipelineKey{}).(*pipeline); ok {
		return p.wait(ctx)
	}
	return nil
}
