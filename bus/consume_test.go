package bus_test

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/jetjobs/jetjobs/bus"
)

// poolStream starts a server with a work stream of n messages and an
// explicit-ack consumer with the given ack wait.
func poolStream(t *testing.T, n int, ackWait time.Duration) jetstream.Consumer {
	t.Helper()
	_, _, js := startAndConnect(t)
	ctx := context.Background()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "WORK", Subjects: []string{"work.>"}}); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if _, err := js.Publish(ctx, "work."+strconv.Itoa(i), nil); err != nil {
			t.Fatal(err)
		}
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, "WORK", jetstream.ConsumerConfig{Durable: "w",
		AckPolicy: jetstream.AckExplicitPolicy, AckWait: ackWait, MaxDeliver: -1})
	if err != nil {
		t.Fatal(err)
	}
	return cons
}

// With four times more messages than slots and handlers slower than half
// the ack wait (one slower than the ack wait itself, kept alive), no
// message is redelivered: the pool pulls only for free slots, so none
// waits in a buffer while its ack wait runs out.
func TestPoolPullsOnlyWhatItCanRun(t *testing.T) {
	t.Parallel()
	const slots, msgs = 2, 8
	ackWait := time.Second
	cons := poolStream(t, msgs, ackWait)
	var mu sync.Mutex
	seen := map[string]int{}
	var running, most atomic.Int32
	done := make(chan struct{}, msgs)
	pool, err := bus.Consume(cons, slots, func(msg jetstream.Msg) {
		stop := bus.KeepAlive(msg, ackWait)
		defer stop()
		n := running.Add(1)
		defer running.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		mu.Lock()
		seen[msg.Subject()]++
		first := seen[msg.Subject()] == 1
		mu.Unlock()
		d := 600 * time.Millisecond
		if msg.Subject() == "work.0" {
			d = 1500 * time.Millisecond // longer than the ack wait: kept alive
		}
		time.Sleep(d) // the stage's own work
		// Acknowledged by the server before the test reads the consumer's
		// pending count (a plain Ack is not waited for).
		_ = msg.DoubleAck(context.Background())
		if first {
			done <- struct{}{}
		}
	}, bus.PoolOptions{Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Stop(context.Background()) })
	deadline := time.After(20 * time.Second)
	for range msgs {
		select {
		case <-done:
		case <-deadline:
			t.Fatal("not every message was handled")
		}
	}
	pool.Stop(context.Background())
	mu.Lock()
	defer mu.Unlock()
	for subj, n := range seen {
		if n != 1 {
			t.Errorf("%s handled %d times, want 1", subj, n)
		}
	}
	if m := most.Load(); m > slots {
		t.Errorf("%d handlers at once, want at most %d", m, slots)
	}
	info, err := cons.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.NumRedelivered != 0 || info.NumAckPending != 0 {
		t.Errorf("consumer: %d redelivered, %d pending; want 0 and 0", info.NumRedelivered, info.NumAckPending)
	}
}

// A handler that panics does not crash the process: the message is
// redelivered and handled.
func TestPoolRecoversPanics(t *testing.T) {
	t.Parallel()
	cons := poolStream(t, 1, 5*time.Second)
	var calls atomic.Int32
	handled := make(chan struct{})
	pool, err := bus.Consume(cons, 4, func(msg jetstream.Msg) {
		if calls.Add(1) == 1 {
			panic("handler bug")
		}
		_ = msg.Ack()
		close(handled)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Stop(context.Background())
	select {
	case <-handled:
	case <-time.After(15 * time.Second):
		t.Fatalf("message not handled after the panic (%d calls)", calls.Load())
	}
}
