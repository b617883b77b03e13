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

// ackSetup is a server with a stream ACKS on acks.> and a pipelined context.
func ackSetup(t *testing.T, timeout time.Duration) (context.Context, func(context.Context) error, func(), *nats.Conn, jetstream.JetStream) {
	t.Helper()
	_, nc, js := startAndConnect(t)
	if _, err := js.CreateStream(t.Context(), jetstream.StreamConfig{Name: "ACKS", Subjects: []string{"acks.>"},
		Duplicates: time.Minute}); err != nil {
		t.Fatal(err)
	}
	ctx, wait, release, err := bus.Pipelined(t.Context(), nc, timeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(release)
	return ctx, wait, release, nc, js
}

func TestPublishAckedInPipeline(t *testing.T) {
	t.Parallel()
	ctx, wait, _, _, js := ackSetup(t, 5*time.Second)
	for i := range 3 {
		if err := bus.Publish(ctx, js, &nats.Msg{Subject: "acks.a", Data: []byte("x")}); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	// A write that waits for its own acknowledgement follows the earlier ones.
	seq, err := bus.PublishAcked(ctx, js, &nats.Msg{Subject: "acks.b", Data: []byte("y")})
	if err != nil || seq != 4 {
		t.Fatalf("PublishAcked = %d, %v; want sequence 4", seq, err)
	}
	if err := wait(ctx); err != nil {
		t.Fatalf("wait: %v", err)
	}
	// A duplicate is acknowledged (with the original's sequence) and stored once.
	dup := func() *nats.Msg { return &nats.Msg{Subject: "acks.c", Header: nats.Header{nats.MsgIdHdr: {"once"}}} }
	first, err := bus.PublishAcked(ctx, js, dup())
	if err != nil {
		t.Fatal(err)
	}
	again, err := bus.PublishAcked(ctx, js, dup())
	if err != nil || again != first {
		t.Fatalf("duplicate = %d, %v; want %d, nil", again, err, first)
	}
	st, err := js.Stream(ctx, "ACKS")
	if err != nil {
		t.Fatal(err)
	}
	if info, _ := st.Info(ctx); info.State.Msgs != 5 {
		t.Fatalf("stream holds %d messages, want 5", info.State.Msgs)
	}
}

func TestPublishAckedErrors(t *testing.T) {
	t.Parallel()
	ctx, wait, _, nc, js := ackSetup(t, 300*time.Millisecond)
	if _, err := bus.PublishAcked(ctx, js, &nats.Msg{Subject: "acks.d"}); err != nil {
		t.Fatal(err)
	}
	// A failed expectation comes back as the server's API error.
	_, err := bus.PublishAcked(ctx, js, &nats.Msg{Subject: "acks.d",
		Header: nats.Header{jetstream.ExpectedLastSubjSeqHeader: {"0"}}})
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode != 10071 {
		t.Fatalf("wrong last sequence: got %v, want API error 10071", err)
	}
	// No stream on the subject.
	if _, err := bus.PublishAcked(ctx, js, &nats.Msg{Subject: "nostream.x"}); !errors.Is(err, jetstream.ErrNoStreamResponse) {
		t.Fatalf("no stream: got %v, want ErrNoStreamResponse", err)
	}
	// Somebody listens but never acknowledges: the wait gives up.
	sub, err := nc.SubscribeSync("silent.x")
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := bus.Publish(ctx, js, &nats.Msg{Subject: "silent.x"}); err != nil {
		t.Fatal(err)
	}
	if err := wait(ctx); !errors.Is(err, nats.ErrTimeout) {
		t.Fatalf("unacknowledged: got %v, want ErrTimeout", err)
	}
	// The pipeline goes on after a failed round.
	if err := bus.Publish(ctx, js, &nats.Msg{Subject: "acks.e"}); err != nil {
		t.Fatal(err)
	}
	if err := wait(ctx); err != nil {
		t.Fatalf("next round: %v", err)
	}
}

func TestPipelineReleaseFailsPending(t *testing.T) {
	t.Parallel()
	ctx, wait, release, nc, js := ackSetup(t, time.Minute)
	sub, err := nc.SubscribeSync("silent.y")
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := bus.Publish(ctx, js, &nats.Msg{Subject: "silent.y"}); err != nil {
		t.Fatal(err)
	}
	if _, err := sub.NextMsg(5 * time.Second); err != nil { // it was sent
		t.Fatal(err)
	}
	release()
	if err := wait(ctx); !errors.Is(err, nats.ErrConnectionClosed) {
		t.Fatalf("after release: got %v, want ErrConnectionClosed", err)
	}
}

// Outside a pipeline PublishAcked is a plain synchronous publish.
func TestPublishAckedWithoutPipeline(t *testing.T) {
	t.Parallel()
	_, _, _, _, js := ackSetup(t, time.Second)
	seq, err := bus.PublishAcked(t.Context(), js, &nats.Msg{Subject: "acks.f"})
	if err != nil || seq != 1 {
		t.Fatalf("PublishAcked = %d, %v; want 1, nil", seq, err)
	}
}

// After release nothing is published that nobody would acknowledge.
func TestPipelineRefusesAfterRelease(t *testing.T) {
	t.Parallel()
	ctx, _, release, _, js := ackSetup(t, time.Minute)
	release()
	release() // twice is fine
	if err := bus.Publish(ctx, js, &nats.Msg{Subject: "acks.g"}); !errors.Is(err, nats.ErrConnectionClosed) {
		t.Fatalf("publish after release: %v, want ErrConnectionClosed", err)
	}
	if _, err := bus.PublishAcked(ctx, js, &nats.Msg{Subject: "acks.g"}); !errors.Is(err, nats.ErrConnectionClosed) {
		t.Fatalf("PublishAcked after release: %v, want ErrConnectionClosed", err)
	}
}

// A publish that gets no answer (a stream leader lost mid-write) is sent
// again after the per-publish retry delay, with the same Nats-Msg-Id, long
// before the whole timeout; one answered 503 (no stream yet) too, and it
// is stored once.
func TestPublishResentBeforeTheTimeout(t *testing.T) {
	t.Parallel()
	timeout := 20 * time.Second // retry after bus.PublishRetryAfter
	ctx, wait, _, nc, js := ackSetup(t, timeout)
	ids := make(chan string, 4)
	sub, err := nc.Subscribe("lossy.x", func(m *nats.Msg) {
		ids <- m.Header.Get(nats.MsgIdHdr)
		if len(ids) > 1 { // the first copy is lost; the second is answered
			_ = m.Respond([]byte(`{"stream":"LOSSY","seq":7}`))
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	start := time.Now()
	seq, err := bus.PublishAcked(ctx, js, &nats.Msg{Subject: "lossy.x", Data: []byte("x")})
	if err != nil || seq != 7 {
		t.Fatalf("PublishAcked = %d, %v; want 7 after a resend", seq, err)
	}
	if took := time.Since(start); took >= timeout/2 {
		t.Fatalf("resent after %s: not before the timeout %s", took, timeout)
	}
	first, second := <-ids, <-ids
	if first == "" || first != second {
		t.Fatalf("Nats-Msg-Id %q then %q: want one id, kept", first, second)
	}

	// No stream takes the subject yet (503): resent until one does.
	if err := bus.Publish(ctx, js, &nats.Msg{Subject: "late.x", Data: []byte("y")}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "LATE", Subjects: []string{"late.>"}}); err != nil {
		t.Fatal(err)
	}
	if err := wait(ctx); err != nil {
		t.Fatalf("wait after the stream appeared: %v", err)
	}
	st, err := js.Stream(ctx, "LATE")
	if err != nil {
		t.Fatal(err)
	}
	if info, _ := st.Info(ctx); info.State.Msgs != 1 {
		t.Fatalf("LATE holds %d messages, want 1", info.State.Msgs)
	}
}
