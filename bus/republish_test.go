package bus_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetjobs/jetjobs/bus"
)

// A publish that gets no answer (here: no stream yet, as while a stream's
// leader is being elected) is resent with the same Nats-Msg-Id until the
// stream answers, and stored once; an answer that refuses it is returned
// at once, and so is the last error once the retry time is spent.
func TestPublishRetrying(t *testing.T) {
	t.Parallel()
	_, _, js := startAndConnect(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	msg := nats.NewMsg("late.one")
	msg.Header.Set(nats.MsgIdHdr, "cmd-1")
	msg.Data = []byte(`{}`)
	created := make(chan error, 1)
	go func() {
		time.Sleep(500 * time.Millisecond) // the "election": no stream answers meanwhile
		_, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "LATE", Subjects: []string{"late.>"}})
		created <- err
	}()
	ack, err := bus.PublishRetrying(ctx, js, msg, 10*time.Second)
	if cerr := <-created; cerr != nil {
		t.Fatal(cerr)
	}
	if err != nil {
		t.Fatalf("publish through the gap: %v", err)
	}
	if ack.Stream != "LATE" || ack.Duplicate {
		t.Fatalf("ack %+v", ack)
	}
	again, err := bus.PublishRetrying(ctx, js, msg, 10*time.Second)
	if err != nil || !again.Duplicate || again.Sequence != ack.Sequence {
		t.Fatalf("a resend of the same id: %+v, %v; want the duplicate of seq %d", again, err, ack.Sequence)
	}

	// Refused by the stream: not retried.
	bad := nats.NewMsg("late.two")
	bad.Header.Set(nats.MsgIdHdr, "cmd-2")
	bad.Header.Set("Nats-Expected-Stream", "OTHER")
	start := time.Now()
	if _, err := bus.PublishRetrying(ctx, js, bad, 10*time.Second); err == nil {
		t.Fatal("a publish the stream refuses succeeded")
	} else if time.Since(start) > 5*time.Second {
		t.Fatalf("a refusal was retried (%s): %v", time.Since(start), err)
	}

	// Nothing answers for longer than the retry time: the error comes back.
	lost := nats.NewMsg("nowhere.at.all")
	lost.Header.Set(nats.MsgIdHdr, "cmd-3")
	_, err = bus.PublishRetrying(ctx, js, lost, 300*time.Millisecond)
	if !errors.Is(err, jetstream.ErrNoStreamResponse) && !errors.Is(err, nats.ErrNoResponders) {
		t.Fatalf("want no responders after the retry time, got %v", err)
	}
}
