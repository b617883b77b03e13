package bus_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/jobs"
)

// benchPipeline is an embedded server with a memory stream on jobs.> and a
// pipelined context on it, as a command's writes are sent.
func benchPipeline(b *testing.B) (context.Context, func(context.Context) error, jetstream.JetStream) {
	b.Helper()
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
	if _, err := js.CreateStream(b.Context(), jetstream.StreamConfig{Name: "BENCH", Subjects: []string{"jobs.>"},
		Storage: jetstream.MemoryStorage, Duplicates: time.Second}); err != nil {
		b.Fatal(err)
	}
	ctx, wait, release, err := bus.Pipelined(b.Context(), nc, 10*time.Second)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(release)
	return ctx, wait, js
}

// pipelinedLoop runs write b.N times on the pipelined context, waiting for
// the acknowledgements every 32 writes and at the end, as a command does.
func pipelinedLoop(b *testing.B, ctx context.Context, wait func(context.Context) error, write func(i int) error) {
	b.Helper()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := write(i); err != nil {
			b.Fatal(err)
		}
		if i%32 == 31 {
			if err := wait(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := wait(ctx); err != nil {
		b.Fatal(err)
	}
}

// The write side of a job, as the engine sends it for every execution: its
// events and its audit entries, pipelined, waited for every 32 writes.
// allocs/op counts the embedded server's too: compare builds, not figures.
func BenchmarkPublishEvent(b *testing.B) {
	ctx, wait, js := benchPipeline(b)
	p := bus.NewEventPublisher(js, "jobs", "")
	at := time.Now()
	pipelinedLoop(b, ctx, wait, func(i int) error {
		id := "e-" + strconv.Itoa(i)
		return p.Publish(ctx, &jobs.Event{ID: "imp." + id + ".JOB_COMPLETED", Data: jobs.EventData{EventType: jobs.EventCompleted,
			ExecutionID: id, JobType: "imp", Success: true, Status: jobs.StatusCompleted, Timestamp: at}})
	})
}

func BenchmarkAuditAppend(b *testing.B) {
	ctx, wait, js := benchPipeline(b)
	a := bus.NewAuditLog(js, "jobs")
	at := time.Now()
	pipelinedLoop(b, ctx, wait, func(i int) error {
		e := &jobs.AuditEntry{ExecutionID: "e-" + strconv.Itoa(i), JobType: "imp", Stage: jobs.StageStart, Status: jobs.StatusCompleted,
			Outcome: "success", StartedAt: at, EndedAt: at, Attempt: 1, Initiator: "bench"}
		return a.Append(ctx, e, e)
	})
}

func BenchmarkTimersArm(b *testing.B) {
	ctx, wait, js := benchPipeline(b)
	tm := bus.NewTimers(js, "jobs")
	pipelinedLoop(b, ctx, wait, func(i int) error {
		return tm.Arm(ctx, "imp", "e-"+strconv.Itoa(i), time.Minute)
	})
}
