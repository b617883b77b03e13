package saga

import (
	"errors"
	"testing"
	"time"

	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/jobs"
)

// A finished saga (and its id reservation) is gone after the retention; a
// running one and a FAILED one, which waits for an operator, are kept.
func TestFinishedSagaExpires(t *testing.T) {
	t.Parallel()
	srv, err := bus.StartEmbedded(bus.EmbeddedConfig{Port: -1, StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	nc, js, err := bus.Connect(bus.ConnConfig{URL: srv.ClientURL()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	ctx := t.Context()
	// Created the old way first: the retention is added in place.
	if _, err := openStore(ctx, js, "SAGAS_RET", 1, 0, Limits{}); err != nil {
		t.Fatal(err)
	}
	s, err := openStore(ctx, js, "SAGAS_RET", 1, 0, Limits{FinishedTTL: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		id       string
		final    Status
		wantGone bool
	}{
		{"done", StatusCompleted, true},
		{"undone", StatusCompensated, true},
		{"cancelled", StatusCancelled, true},
		{"failed", StatusFailed, false},
		{"running", StatusRunning, false},
	}
	for _, tt := range tests {
		if err := s.reserve(ctx, "ret", tt.id); err != nil {
			t.Fatal(err)
		}
		in := &Instance{Saga: "ret", SagaID: tt.id, Status: StatusRunning}
		rev, err := s.create(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		in.Status = tt.final
		if _, err := s.update(ctx, in, rev+10); !errors.Is(err, jobs.ErrConflict) {
			t.Fatalf("%s: update at a stale revision = %v, want a conflict", tt.id, err)
		}
		if _, err := s.update(ctx, in, rev); err != nil {
			t.Fatalf("%s: update: %v", tt.id, err)
		}
	}
	deadline := time.Now().Add(15 * time.Second)
	for _, tt := range tests {
		if !tt.wantGone {
			continue
		}
		for {
			_, _, err := s.get(ctx, "ret", tt.id)
			if errors.Is(err, jobs.ErrNotFound) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("finished saga %s still there (err %v)", tt.id, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		for {
			if _, err := s.kv.Get(ctx, "_ids."+tt.id); err != nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("reservation of finished saga %s still there", tt.id)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	for _, tt := range tests {
		if tt.wantGone {
			continue
		}
		if _, _, err := s.get(ctx, "ret", tt.id); err != nil {
			t.Errorf("%s saga %s: %v, want it kept", tt.final, tt.id, err)
		}
	}
}
