package bus_test

import (
	"context"
	"errors"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/jobs"
)

// Streams created without bounds (by an older engine) are updated in place
// with them: same stream, messages kept, the new bounds and discard policy
// set.
func TestStreamsBoundedInPlace(t *testing.T) {
	t.Parallel()
	_, _, js := startAndConnect(t)
	ctx := context.Background()
	if err := bus.EnsureStreams(ctx, js, bus.StreamsConfig{}); err != nil {
		t.Fatal(err)
	}
	publish(t, js, "jobs.evt.a.JOB_STARTED", "e1")
	publish(t, js, "jobs.dlq.a.start", "d1")
	publish(t, js, "jobs.cmd.a.start", "c1")
	before := map[string]*jetstream.StreamInfo{}
	for _, name := range []string{bus.StreamCommands, bus.StreamEvents, bus.StreamDLQ, bus.StreamTimers} {
		before[name] = streamInfo(t, js, name)
	}
	cfg := bus.StreamsConfig{CommandMaxBytes: 1 << 20, EventMaxBytes: 2 << 20, DLQMaxBytes: 3 << 20, TimerMaxBytes: 4 << 20}
	if err := bus.EnsureStreams(ctx, js, cfg); err != nil {
		t.Fatalf("EnsureStreams with bounds: %v", err)
	}
	tests := []struct {
		stream      string
		wantBytes   int64
		wantDiscard jetstream.DiscardPolicy
	}{
		{bus.StreamCommands, 1 << 20, jetstream.DiscardNew},
		{bus.StreamEvents, 2 << 20, jetstream.DiscardOld},
		{bus.StreamDLQ, 3 << 20, jetstream.DiscardNew},
		{bus.StreamTimers, 4 << 20, jetstream.DiscardNew},
	}
	for _, tt := range tests {
		after := streamInfo(t, js, tt.stream)
		if !after.Created.Equal(before[tt.stream].Created) || after.State.Msgs != before[tt.stream].State.Msgs {
			t.Errorf("%s recreated or emptied: created %v → %v, msgs %d → %d", tt.stream,
				before[tt.stream].Created, after.Created, before[tt.stream].State.Msgs, after.State.Msgs)
		}
		if after.Config.MaxBytes != tt.wantBytes || after.Config.Discard != tt.wantDiscard {
			t.Errorf("%s: max-bytes %d discard %v, want %d %v", tt.stream, after.Config.MaxBytes, after.Config.Discard,
				tt.wantBytes, tt.wantDiscard)
		}
	}
	// Back to no bound.
	if err := bus.EnsureStreams(ctx, js, bus.StreamsConfig{}); err != nil {
		t.Fatal(err)
	}
	if got := streamInfo(t, js, bus.StreamEvents).Config.MaxBytes; got != -1 {
		t.Errorf("events max-bytes %d after removing the bound, want -1", got)
	}
}

func streamInfo(t *testing.T, js jetstream.JetStream, name string) *jetstream.StreamInfo {
	t.Helper()
	s, err := js.Stream(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// A publish to a full stream is jobs.ErrStorageFull at the adapter edge;
// other failures stay unavailable.
func TestPortErrorStorageFull(t *testing.T) {
	t.Parallel()
	_, _, js := startAndConnect(t)
	ctx := context.Background()
	if err := bus.EnsureStreams(ctx, js, bus.StreamsConfig{CommandMaxBytes: 2 << 10}); err != nil {
		t.Fatal(err)
	}
	var full error
	for i := 0; i < 100 && full == nil; i++ {
		m := nats.NewMsg("jobs.cmd.nobody.start")
		m.Data = make([]byte, 500)
		_, full = js.PublishMsg(ctx, m)
	}
	_, other := js.PublishMsg(ctx, &nats.Msg{Subject: "jobs.cmd.nobody.start", Header: nats.Header{
		"Nats-Expected-Stream": []string{"ANOTHER"}}})
	tests := []struct {
		name     string
		err      error
		wantFull bool
		wantCode error
	}{
		{"full stream", full, true, jobs.ErrStorageFull},
		{"wrong expected stream", other, false, jobs.ErrUnavailable},
		{"no responders", nats.ErrNoResponders, false, jobs.ErrUnavailable},
	}
	for _, tt := range tests {
		if tt.err == nil {
			t.Fatalf("%s: no error to classify", tt.name)
		}
		if got := bus.IsStorageFull(tt.err); got != tt.wantFull {
			t.Errorf("%s: IsStorageFull(%v) = %v, want %v", tt.name, tt.err, got, tt.wantFull)
		}
		if got := bus.PortError("publish", tt.err); !errors.Is(got, tt.wantCode) {
			t.Errorf("%s: PortError = %v, want %v", tt.name, got, tt.wantCode)
		}
	}
}
