package bus

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// DefaultPublishRetry is how long a client keeps resending a command that
// got no answer from JetStream: longer than a stream leader election
// (4-8 s measured on a 3-node cluster, docs/operations.md).
const DefaultPublishRetry = 15 * time.Second

// publishAttempt bounds one attempt, so that a publish caught by an
// election is sent again well before the caller's own deadline.
const publishAttempt = 2 * time.Second

// PublishRetrying publishes msg to JetStream and, while no answer comes
// (no responders, a timeout, JetStream temporarily unavailable), sends it
// again with the same Nats-Msg-Id for up to within, or until ctx ends. The
// stream's duplicate window makes the resends store the message once. msg
// must carry a Nats-Msg-Id; within <= 0 publishes once.
func PublishRetrying(ctx context.Context, js jetstream.JetStream, msg *nats.Msg, within time.Duration) (*jetstream.PubAck, error) {
	if within <= 0 {
		return js.PublishMsg(ctx, msg)
	}
	giveUp := time.Now().Add(within)
	wait := 100 * time.Millisecond
	for {
		actx, cancel := context.WithTimeout(ctx, publishAttempt)
		ack, err := js.PublishMsg(actx, msg)
		cancel()
		if err == nil || !unanswered(err) || ctx.Err() != nil || time.Now().After(giveUp) {
			return ack, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
}

// unanswered reports whether a publish got no answer from the stream (as
// during a leader election), as opposed to an answer that refused it.
func unanswered(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		return apiErr.Code == 503 // JetStream temporarily unavailable
	}
	return errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoStreamResponse) ||
		errors.Is(err, nats.ErrTimeout) || errors.Is(err, context.DeadlineExceeded)
}
