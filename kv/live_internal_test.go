package kv

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/jobs"
)

// TestLiveReadsAgainWhatItDidNotHold: past its byte budget a pass keeps
// only keys and reads those records again, passing on the ones still live.
func TestLiveReadsAgainWhatItDidNotHold(t *testing.T) {
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
	s, err := NewStateStore(ctx, js, StateConfig{Bucket: "LIVE_TEST"})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	create := func(id string, st jobs.Status) {
		t.Helper()
		if _, err := s.Create(ctx, &jobs.Execution{JobType: "j", ExecutionID: id, Status: st, CreatedAt: at, UpdatedAt: at,
			Parameters: map[string]any{"p": "x"}}); err != nil {
			t.Fatal(err)
		}
	}
	create("r1", jobs.StatusRunning)
	create("done", jobs.StatusCompleted)
	create("r2", jobs.StatusStarted)
	create("r3", jobs.StatusRunning)
	create("r4", jobs.StatusRunning)
	for _, hold := range []int{0, 1 << 20} {
		t.Run(fmt.Sprintf("hold %d", hold), func(t *testing.T) {
			var seen []string
			err := s.live(ctx, "j", hold, func(e *jobs.Execution) error {
				if e.Status.Terminal() || e.Parameters["p"] != "x" {
					t.Errorf("passed on %+v", e)
				}
				seen = append(seen, e.ExecutionID)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(seen)
			if !slices.Equal(seen, []string{"r1", "r2", "r3", "r4"}) {
				t.Errorf("seen %v", seen)
			}
		})
	}
	// Without a budget, a record that ended or went after the listing is
	// not passed on: r1's turn ends r3 and deletes r4.
	var seen []string
	err = s.live(ctx, "j", 0, func(e *jobs.Execution) error {
		seen = append(seen, e.ExecutionID)
		if e.ExecutionID != "r1" {
			return nil
		}
		return endAndDelete(ctx, s, "j", "r3", "r4")
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(seen, []string{"r1", "r2"}) {
		t.Errorf("seen %v, want [r1 r2]", seen)
	}
}

// endAndDelete completes the execution ended and deletes gone: what a
// listing must cope with while its fn runs.
func endAndDelete(ctx context.Context, s *StateStore, job, ended, gone string) error {
	e, rev, err := s.Get(ctx, job, ended)
	if err != nil {
		return err
	}
	e.Status = jobs.StatusCompleted
	if _, err := s.Update(ctx, e, rev); err != nil {
		return err
	}
	_, rev, err = s.Get(ctx, job, gone)
	if err != nil {
		return err
	}
	return s.Delete(ctx, job, gone, rev)
}
