package kv_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/jobs"
	"github.com/jetjobs/jetjobs/kv"
)

// An execution record created and updated once, pipelined, as a START of an
// async job writes it. allocs/op counts the embedded server's too: compare
// builds, not figures.
func BenchmarkStateCreateUpdate(b *testing.B) {
	srv, err := bus.StartEmbedded(bus.EmbeddedConfig{Port: -1, StoreDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(srv.Shutdown)
	nc, js, err := bus.Connect(bus.ConnConfig{URL: srv.ClientURL()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(nc.Close)
	s, err := kv.NewStateStore(b.Context(), js, kv.StateConfig{Bucket: newBucketName(), TerminalTTL: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	ctx, _, release, err := bus.Pipelined(b.Context(), nc, 10*time.Second)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(release)
	now := time.Now()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		e := &jobs.Execution{ExecutionID: "e-" + strconv.Itoa(i), JobType: "imp", Mode: "async", Status: jobs.StatusStarted,
			LastStage: jobs.StageStart, Initiator: "bench", CreatedAt: now, UpdatedAt: now, Deadline: now.Add(time.Hour)}
		rev, err := s.Create(ctx, e)
		if err != nil {
			b.Fatal(err)
		}
		e.Status = jobs.StatusCompleted
		if _, err := s.Update(ctx, e, rev); err != nil {
			b.Fatal(err)
		}
	}
}
