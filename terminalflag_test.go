package jetjobs_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetjobs/jetjobs"
	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/jetjobstest"
	"github.com/jetjobs/jetjobs/jobs"
)

// The terminal flag is stored only after its event is acknowledged: with
// the write of JOB_COMPLETED (and only it) refused by the server, a client's
// CHECK that completes the execution stores the COMPLETED record but not
// the flag, fails, and is redelivered; once the event is accepted again the
// execution gets exactly one JOB_COMPLETED and then the flag.
func TestTerminalFlagWaitsForItsEvent(t *testing.T) {
	t.Parallel()
	var checks atomic.Int32
	h := jetjobstest.New(t, func(r *jobs.Registry) {
		r.MustRegister("flaky", &clockJob{after: 0, checks: &checks})
	}, jetjobstest.WithConfig(func(c *jetjobs.Config) {
		// Only the client's CHECK may end it: the timer is an hour away.
		c.Orchestration.CheckInterval, c.Orchestration.MaxCheckInterval = time.Hour, time.Hour
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	resp := h.Call(t, "flaky", jobs.StageStart, &jobs.Request{})
	if !resp.Success || resp.Status != jobs.StatusStarted {
		t.Fatalf("start: %+v", resp)
	}
	id := resp.ExecutionID

	// Refuse JOB_COMPLETED of this job type: one message per subject,
	// new ones refused, and the subject already holds one.
	st, err := h.JS.Stream(ctx, bus.StreamEvents)
	if err != nil {
		t.Fatal(err)
	}
	orig := st.CachedInfo().Config
	blocked := orig
	blocked.MaxMsgsPerSubject, blocked.Discard, blocked.DiscardNewPerSubject = 1, jetstream.DiscardNew, true
	if _, err := h.JS.UpdateStream(ctx, blocked); err != nil {
		t.Fatal(err)
	}
	subj := h.Subjects.Event("flaky", jobs.EventCompleted)
	if _, err := h.JS.PublishMsg(ctx, &nats.Msg{Subject: subj, Data: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.JS.PublishMsg(ctx, &nats.Msg{Subject: subj, Data: []byte(`{}`)}); err == nil {
		t.Fatal("the blocker does not block")
	}

	if _, err := h.Client.Send(ctx, "flaky", jobs.StageCheck, &jobs.Request{ExecutionID: id}, bus.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	// The record completes (its write is not refused), the event is not
	// stored, and so the flag must not be, over several redeliveries.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if exec := h.Execution(t, "flaky", id); exec.Status == jobs.StatusCompleted {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the CHECK did not complete the record")
		}
	}
	for range 25 { // ~500ms: a few redeliveries of the CHECK
		if exec := h.Execution(t, "flaky", id); exec.TerminalEventSent {
			t.Fatal("terminalEventSent stored while JOB_COMPLETED was refused")
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Accept events again: the redelivered CHECK publishes it, then the flag.
	if err := st.Purge(ctx, jetstream.WithPurgeSubject(subj)); err != nil {
		t.Fatal(err)
	}
	if _, err := h.JS.UpdateStream(ctx, orig); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if exec := h.Execution(t, "flaky", id); exec.TerminalEventSent {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("terminalEventSent never stored once the event was accepted")
		}
	}
	count := func(eventType string) int {
		return h.CountEvents(t, h.Subjects.Event("flaky", eventType), func(e jetjobstest.Event) bool { return e.Data.ExecutionID == id })
	}
	if n := count(jobs.EventCompleted); n != 1 {
		t.Fatalf("%d JOB_COMPLETED, want 1", n)
	}
	if n := count(jobs.EventFailed) + count(jobs.EventStopped); n != 0 {
		t.Fatalf("%d other terminal events, want 0", n)
	}
}
