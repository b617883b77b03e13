package saga

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/jetjobs/jetjobs/bus"
)

// Saga events reach a core NATS subscriber once each, also when two
// coordinators drive the same instances at once (parallel steps whose
// events arrive together): only the drive that holds the outbox's flush
// claim publishes it.
func TestSagaEventsPublishedOnce(t *testing.T) {
	t.Parallel()
	h, _ := harness(t)
	def := &Definition{Name: "fanout", Steps: []Step{
		{Name: "a", Job: "quick"},
		{Name: "b", Job: "quick", DependsOn: []string{"a"}},
		{Name: "c", Job: "quick", DependsOn: []string{"a"}},
		{Name: "d", Job: "work", DependsOn: []string{"a"}},
		{Name: "e", Job: "work", DependsOn: []string{"a"}},
		{Name: "f", Job: "quick", DependsOn: []string{"b", "c", "d", "e"}},
	}}
	cs := []*Coordinator{coordinator(t, h, nil, def), coordinator(t, h, nil, def)}

	// The subscription of docs/sagas.md: core NATS, no JetStream.
	sub, err := h.Conn.SubscribeSync(h.Subjects.Prefix + ".saga.fanout.>")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })

	const n = 6
	for i := range n {
		start(t, cs[i%2], "fanout", fmt.Sprint("f", i), nil)
	}
	want := map[string]bool{}
	for i := range n {
		id := fmt.Sprint("f", i)
		waitStatus(t, h, "fanout", id, StatusCompleted)
		// Every event is published before it leaves the outbox: once the
		// outbox is empty and unclaimed, every publish has happened.
		waitFor(t, h, "fanout", id, StatusCompleted, func(in *Instance) bool {
			return in.Status == StatusCompleted && len(in.Outbox) == 0 && in.FlushClaim == ""
		})
		for seq := 1; seq <= 8; seq++ { // started, 6 steps, completed
			want[EventID("fanout", id, uint64(seq))] = true
		}
	}
	// A PING/PONG on the subscriber's connection: every message the
	// server routed to it before now has arrived.
	if err := h.Conn.FlushTimeout(wait); err != nil {
		t.Fatal(err)
	}
	pending, _, err := sub.Pending()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for range pending {
		msg, err := sub.NextMsg(wait)
		if err != nil {
			t.Fatal(err)
		}
		ev, err := bus.Decode(msg.Header, msg.Data)
		if err != nil {
			t.Fatal(err)
		}
		var d EventData
		if err := json.Unmarshal(ev.Data(), &d); err != nil {
			t.Fatal(err)
		}
		seen[ev.ID()]++
	}
	for id := range want {
		if seen[id] != 1 {
			t.Errorf("event %s seen %d times on the core subscription, want once", id, seen[id])
		}
	}
	if len(seen) != len(want) {
		t.Errorf("%d distinct events, want %d", len(seen), len(want))
	}
}
