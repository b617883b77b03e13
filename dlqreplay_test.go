package jetjobs_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/jetjobstest"
	"github.com/jetjobs/jetjobs/jobs"
)

// resumableJob counts its STARTs and CHECKs, and completes on a CHECK once
// released.
type resumableJob struct {
	jobs.AsyncDefaults
	starts, checks atomic.Int32
	release        atomic.Bool
}

func (j *resumableJob) Start(context.Context, *jobs.Request) (*jobs.Response, error) {
	j.starts.Add(1)
	return jobs.Started("started"), nil
}

func (j *resumableJob) Check(context.Context, *jobs.Request) (*jobs.Response, error) {
	j.checks.Add(1)
	if j.release.Load() {
		return jobs.Completed("done", nil), nil
	}
	return jobs.Running(10, "working"), nil
}

func (j *resumableJob) Stop(context.Context, *jobs.Request) (*jobs.Response, error) {
	return &jobs.Response{Success: true}, nil
}

// putDeadLetter stores a dead letter of a command as the worker does.
func putDeadLetter(t *testing.T, js jetstream.JetStream, job, stage string, h nats.Header, body string) uint64 {
	t.Helper()
	cp := nats.Header{}
	for k, v := range h {
		cp[k] = append([]string(nil), v...)
	}
	h = cp
	h.Set(bus.HeaderDLQSubject, "jobs.cmd."+job+"."+stage)
	h.Set(bus.HeaderDLQReason, "test: dead-lettered")
	h.Set(bus.HeaderDLQDeliveries, "5")
	h.Set(bus.HeaderDLQTime, time.Now().UTC().Format(time.RFC3339Nano))
	ack, err := js.PublishMsg(context.Background(), &nats.Msg{Subject: "jobs.dlq." + job + "." + stage, Header: h, Data: []byte(body)})
	if err != nil {
		t.Fatal(err)
	}
	return ack.Sequence
}

// waitDLQEntry waits for a dead letter of job and returns it.
func waitDLQEntry(t *testing.T, d *bus.DLQ, job string) bus.DLQEntry {
	t.Helper()
	var got bus.DLQEntry
	waitFor(t, func() bool {
		page, err := d.List(context.Background(), bus.DLQFilter{JobType: job})
		if err != nil || len(page.Entries) == 0 {
			return false
		}
		got = page.Entries[0]
		return true
	})
	return got
}

// auditHas reports whether the execution's audit trail has an entry whose
// initiator is by and whose message contains text.
func auditHas(t *testing.T, h *jetjobstest.Harness, job, id, by, text string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	entries, err := bus.NewAuditLog(h.JS, "jobs").Entries(ctx, job, id)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Initiator == by && strings.Contains(e.Message, text) {
			return true
		}
	}
	t.Logf("audit of %s/%s: %+v", job, id, entries)
	return false
}

// A START dead-lettered because no engine served its job type (the sweeper
// took it) runs exactly once when replayed after an engine that serves it
// has started: same execution id as the original, one JOB_STARTED, one
// JOB_COMPLETED, the entry gone, the replay in the audit trail.
func TestDLQReplayOfAPoisonStartRunsOnce(t *testing.T) {
	t.Parallel()
	job := &resumableJob{}
	job.release.Store(true)
	var serve atomic.Bool
	h := jetjobstest.New(t, func(r *jobs.Registry) {
		r.MustRegister("other", &countingJob{starts: new(atomic.Int32)})
		if serve.Load() {
			r.MustRegister("late", job)
		}
	})
	ctx := context.Background()
	if _, err := h.JS.PublishMsg(ctx, &nats.Msg{Subject: "jobs.cmd.late.start",
		Header: binaryCommand("late-1", "JOB_START"), Data: []byte(`{"parameters":{"n":1}}`)}); err != nil {
		t.Fatal(err)
	}
	d := h.Engine.DLQ()
	e := waitDLQEntry(t, d, "late")
	if e.Stage != "start" || e.CommandID != "late-1" || !strings.Contains(e.Reason, "unknown job") {
		t.Fatalf("dead letter %+v", e)
	}
	serve.Store(true) // the fix: an engine that serves the job type
	h.StartEngine(t)
	out, err := d.Replay(ctx, e.Seq, "ops-alice")
	if err != nil {
		t.Fatal(err)
	}
	if out.CommandID == "late-1" || out.ExecutionID != "late-1" {
		t.Fatalf("replay %+v: want a new command id for execution late-1", out)
	}
	h.WaitEvent(t, "late", "late-1", jobs.EventCompleted)
	if n := job.starts.Load(); n != 1 {
		t.Fatalf("Start ran %d times, want 1", n)
	}
	for _, typ := range []string{jobs.EventStarted, jobs.EventCompleted} {
		if n := h.CountEvents(t, "jobs.evt.late."+typ, func(ev jetjobstest.Event) bool { return ev.Data.ExecutionID == "late-1" }); n != 1 {
			t.Errorf("%d %s events, want 1", n, typ)
		}
	}
	if page, err := d.List(ctx, bus.DLQFilter{}); err != nil || page.Total != 0 {
		t.Fatalf("DLQ after the replay: %+v %v", page, err)
	}
	if _, err := d.Replay(ctx, e.Seq, "ops-alice"); !errors.Is(err, bus.ErrDLQEntryNotFound) {
		t.Fatalf("second replay of a removed entry: %v", err)
	}
	if !auditHas(t, h, "late", "late-1", "ops-alice", "replayed from the dead-letter queue") {
		t.Fatal("no audit entry naming who replayed the command")
	}
}

// A START whose execution exists but lost its CHECK timer (the record was
// written, the timer publish failed and the command was dead-lettered):
// its replay does not run the job again, it resumes the execution, which
// then completes.
func TestDLQReplayResumesAnExistingExecution(t *testing.T) {
	t.Parallel()
	job := &resumableJob{}
	h := jetjobstest.New(t, func(r *jobs.Registry) { r.MustRegister("resumable", job) })
	ctx := context.Background()
	cmd := binaryCommand("res-1", "JOB_START")
	if _, err := h.JS.PublishMsg(ctx, &nats.Msg{Subject: "jobs.cmd.resumable.start", Header: cmd, Data: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return job.checks.Load() > 0 })
	// The timer is lost: the execution stays STARTED with nobody to check it.
	timers, err := h.JS.Stream(ctx, bus.StreamTimers)
	if err != nil {
		t.Fatal(err)
	}
	if err := timers.Purge(ctx, jetstream.WithPurgeSubject("jobs.timer.resumable")); err != nil {
		t.Fatal(err)
	}
	job.release.Store(true)
	// A CHECK already in flight when the timer went may still come (and
	// complete it); wait until two check intervals pass with no CHECK.
	for n := job.checks.Load(); ; {
		time.Sleep(250 * time.Millisecond)
		if m := job.checks.Load(); m == n {
			break
		} else {
			n = m
		}
	}
	if st := h.Execution(t, "resumable", "res-1").Status; st.Terminal() {
		t.Skipf("the last CHECK in flight completed the execution (%s): nothing left to resume", st)
	}
	seq := putDeadLetter(t, h.JS, "resumable", "start", cmd, `{}`)
	if _, err := h.Engine.DLQ().Replay(ctx, seq, "ops-bob"); err != nil {
		t.Fatal(err)
	}
	h.WaitEvent(t, "resumable", "res-1", jobs.EventCompleted)
	if n := job.starts.Load(); n != 1 {
		t.Fatalf("Start ran %d times, want 1 (the replay must resume, not run again)", n)
	}
	if n := h.CountEvents(t, "jobs.evt.resumable."+jobs.EventCompleted, nil); n != 1 {
		t.Fatalf("%d JOB_COMPLETED, want 1", n)
	}
	if !auditHas(t, h, "resumable", "res-1", "ops-bob", "CHECK timer re-armed") {
		t.Fatal("no audit entry for the resume")
	}
}

// A dead letter of a structured-mode command (the CloudEvent in a JSON
// body) is replayed in binary mode and runs.
func TestDLQReplayOfAStructuredCommand(t *testing.T) {
	t.Parallel()
	h := demoHarness(t)
	hd := nats.Header{}
	hd.Set("Content-Type", "application/cloudevents+json")
	seq := putDeadLetter(t, h.JS, "customer-validation", "execute", hd,
		`{"specversion":"1.0","id":"struct-1","source":"/test","type":"JOB_EXECUTE","data":{"parameters":{"customerId":"CUST-3"}}}`)
	out, err := h.Engine.DLQ().Replay(context.Background(), seq, "ops")
	if err != nil || out.ExecutionID != "struct-1" {
		t.Fatalf("replay %+v %v", out, err)
	}
	waitFor(t, func() bool {
		e, _, err := h.Engine.State().Get(context.Background(), "customer-validation", "struct-1")
		return err == nil && e.Status == jobs.StatusCompleted
	})
}
