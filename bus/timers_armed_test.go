package bus_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetjobs/jetjobs/bus"
)

// ArmedSet shows the timers of one job type stored when it lists them, and
// nothing else: not another type's, not a timer on the subject of engines
// before issue 13, not one acknowledged (its execution ended).
func TestTimersArmedSet(t *testing.T) {
	t.Parallel()
	_, _, js := startAndConnect(t)
	ctx := context.Background()
	if err := bus.EnsureStreams(ctx, js, bus.StreamsConfig{}); err != nil {
		t.Fatal(err)
	}
	timers := bus.NewTimers(js, "jobs")
	if listed, err := timers.ArmedSet(ctx, "j"); err != nil || listed("e-1") {
		t.Fatalf("empty stream: listed e-1 %t, %v", err == nil && listed("e-1"), err)
	}
	for _, id := range []string{"e-1", "e-2", "e-3"} {
		if err := timers.Arm(ctx, "j", id, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if err := timers.Rearm(ctx, "j", "e-3", time.Hour); err != nil { // still one timer
		t.Fatal(err)
	}
	if err := timers.Arm(ctx, "j-other", "e-4", time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "jobs.timer.j", nil); err != nil { // before issue 13
		t.Fatal(err)
	}
	// e-2's execution ends: its timer is acknowledged and leaves the work queue.
	cons, err := js.CreateConsumer(ctx, bus.StreamTimers, jetstream.ConsumerConfig{
		FilterSubject: "jobs.timer.j.e-2", AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatal(err)
	}
	msg, err := cons.Next(jetstream.FetchMaxWait(10 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if err := msg.DoubleAck(ctx); err != nil {
		t.Fatal(err)
	}
	listed, err := timers.ArmedSet(ctx, "j")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		id   string
		want bool
	}{
		{"e-1", true},
		{"e-2", false}, // acknowledged
		{"e-3", true},  // re-armed
		{"e-4", false}, // another job type's
		{"", false},    // the subject before issue 13
		{"e-5", false}, // never armed
	} {
		if got := listed(tc.id); got != tc.want {
			t.Errorf("listed(%q) = %t, want %t", tc.id, got, tc.want)
		}
		if armed, err := timers.Armed(ctx, "j", tc.id); tc.id != "" && (err != nil || armed != tc.want) {
			t.Errorf("Armed(%q) = %t, %v: the listing and the lookup disagree", tc.id, armed, err)
		}
	}
}

// The server sends at most 100,000 subjects in a stream-info response
// (JSMaxSubjectDetails); ArmedSet asks for the next pages and misses none.
func TestTimersArmedSetPages(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("publishes over 100,000 timers")
	}
	const pageSize = 100_000 // nats-server's JSMaxSubjectDetails
	const n = pageSize + 2_500
	_, nc, js := startAndConnect(t)
	ctx := context.Background()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: bus.StreamTimers, Subjects: []string{"jobs.timer.>"},
		Retention: jetstream.WorkQueuePolicy, MaxMsgsPerSubject: 1, Storage: jetstream.MemoryStorage}); err != nil {
		t.Fatal(err)
	}
	// Count the listing's requests as they go by.
	requests, err := nc.SubscribeSync("$JS.API.STREAM.INFO." + bus.StreamTimers)
	if err != nil {
		t.Fatal(err)
	}
	id := func(i int) string { return fmt.Sprintf("e-%06d", i) }
	for i := range n {
		if _, err := js.PublishAsync("jobs.timer.j."+id(i), nil, jetstream.WithStallWait(time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := js.PublishAsync("jobs.timer.other."+id(0), nil, jetstream.WithStallWait(time.Minute)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(2 * time.Minute):
		t.Fatal("publishing the timers did not finish")
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	if _, err := requests.NextMsg(0); err == nil {
		t.Fatal("a stream-info request before the listing")
	}
	listed, err := bus.NewTimers(js, "jobs").ArmedSet(ctx, "j")
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	pages := 0
	for {
		if _, err := requests.NextMsg(0); err != nil {
			break
		}
		pages++
	}
	if pages != 2 {
		t.Errorf("%d stream-info requests, want 2 pages", pages)
	}
	missing := 0
	for i := range n {
		if !listed(id(i)) {
			missing++
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d armed timers not listed", missing, n)
	}
	for i := n; i < n+1000; i++ {
		if listed(id(i)) {
			t.Errorf("listed %s, never armed", id(i))
		}
	}
}
