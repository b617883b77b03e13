package jetjobs_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"

	"github.com/jetjobs/jetjobs"
	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/internal/testutil"
	"github.com/jetjobs/jetjobs/jetjobstest"
	"github.com/jetjobs/jetjobs/jobs"
	"github.com/jetjobs/jetjobs/kv"
)

// slowJob runs until its deadline passes unless stopped; it records the
// reasons it was stopped with.
type slowJob struct {
	jobs.AsyncDefaults
	mu      sync.Mutex
	reasons []string
}

func (j *slowJob) Start(context.Context, *jobs.Request) (*jobs.Response, error) {
	return jobs.Started("started"), nil
}
func (j *slowJob) Check(context.Context, *jobs.Request) (*jobs.Response, error) {
	return jobs.Running(10, "still going"), nil
}
func (j *slowJob) Stop(_ context.Context, req *jobs.Request) (*jobs.Response, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.reasons = append(j.reasons, req.Reason)
	return &jobs.Response{Success: true}, nil
}

func TestDefaultTimeoutEndsTimedOut(t *testing.T) {
	t.Parallel()
	job := &slowJob{}
	h := jetjobstest.New(t, func(r *jobs.Registry) { r.MustRegister("slow", job, jobs.WithTimeout(300*time.Millisecond)) })
	resp := h.Call(t, "slow", jobs.StageStart, &jobs.Request{})
	ev := h.WaitEvent(t, "slow", resp.ExecutionID, jobs.EventFailed)
	if ev.Data.Status != jobs.StatusTimedOut || ev.Data.Success || ev.Data.Error == nil ||
		!strings.Contains(*ev.Data.Error, "exceeded its timeout of 300ms") {
		t.Fatalf("timeout event: %+v", ev.Data)
	}
	job.mu.Lock()
	defer job.mu.Unlock()
	if len(job.reasons) != 1 || !strings.HasPrefix(job.reasons[0], "timed out after") {
		t.Fatalf("Stop reasons %q, want one timeout", job.reasons)
	}
	check := h.Call(t, "slow", jobs.StageCheck, &jobs.Request{ExecutionID: resp.ExecutionID})
	if check.Status != jobs.StatusTimedOut || check.Success {
		t.Fatalf("check after timeout: %+v", check)
	}
}

// clockJob completes once `after` has passed since the execution started,
// wherever it is checked from; checks counts its CHECKs, and block, when
// set, holds a CHECK until it is closed.
type clockJob struct {
	jobs.AsyncDefaults
	after  time.Duration
	checks *atomic.Int32
	block  chan struct{}
	first  atomic.Bool
	inside chan struct{}
}

func (j *clockJob) Start(context.Context, *jobs.Request) (*jobs.Response, error) {
	return jobs.Started("started"), nil
}
func (j *clockJob) Check(ctx context.Context, req *jobs.Request) (*jobs.Response, error) {
	j.checks.Add(1)
	if j.block != nil && j.first.CompareAndSwap(false, true) {
		// Only the first CHECK blocks; the ones after it pass.
		close(j.inside)
		select {
		case <-j.block:
		case <-ctx.Done():
		}
	}
	if time.Since(req.StartedAt) >= j.after {
		return jobs.Completed("done", map[string]any{"ok": true}), nil
	}
	return jobs.Running(50, "half way"), nil
}
func (j *clockJob) Stop(context.Context, *jobs.Request) (*jobs.Response, error) {
	return &jobs.Response{Success: true}, nil
}

// A rolling restart while executions are mid-way: the new engine picks up
// their CHECK timers and each still ends with exactly one JOB_COMPLETED.
func TestRestartMidJobCompletesOnce(t *testing.T) {
	t.Parallel()
	var checks atomic.Int32
	h := jetjobstest.New(t, func(r *jobs.Registry) {
		r.MustRegister("clock", &clockJob{after: 600 * time.Millisecond, checks: &checks})
	})
	ids := []string{}
	for range 5 {
		ids = append(ids, h.Call(t, "clock", jobs.StageStart, &jobs.Request{}).ExecutionID)
	}
	waitFor(t, func() bool { return checks.Load() >= 5 })
	h.Restart(t)
	for _, id := range ids {
		h.WaitEvent(t, "clock", id, jobs.EventCompleted)
	}
	for _, id := range ids {
		n := h.CountEvents(t, "jobs.evt.clock.JOB_COMPLETED", func(e jetjobstest.Event) bool { return e.Data.ExecutionID == id })
		if n != 1 {
			t.Fatalf("%s: %d JOB_COMPLETED, want 1", id, n)
		}
	}
}

// An engine that dies (its connection cut) in the middle of a CHECK: the
// timer is redelivered to the next engine, which finishes the execution; the
// dead engine's late write cannot publish a second terminal event.
func TestCrashMidCheckIsRedelivered(t *testing.T) {
	t.Parallel()
	var checks atomic.Int32
	job := &clockJob{after: 0, checks: &checks, block: make(chan struct{}), inside: make(chan struct{})}
	h := jetjobstest.New(t, func(r *jobs.Registry) { r.MustRegister("crashy", job) },
		jetjobstest.WithConfig(func(c *jetjobs.Config) { c.NATS.AckWait = time.Second }))
	id := h.Call(t, "crashy", jobs.StageStart, &jobs.Request{}).ExecutionID
	<-job.inside
	h.Engine.Conn().Close() // the crash: no drain, no ack
	second := h.StartEngine(t)
	_ = second
	h.WaitEvent(t, "crashy", id, jobs.EventCompleted)
	close(job.block)
	if n := h.CountEvents(t, "jobs.evt.crashy.JOB_COMPLETED", nil); n != 1 {
		t.Fatalf("%d JOB_COMPLETED, want 1", n)
	}
}

// Two engines on the same consumers: every execution completes exactly once.
func TestTwoEnginesShareTheWork(t *testing.T) {
	t.Parallel()
	var checks atomic.Int32
	h := jetjobstest.New(t, func(r *jobs.Registry) {
		r.MustRegister("shared", &clockJob{after: 100 * time.Millisecond, checks: &checks})
	})
	h.StartEngine(t)
	const n = 20
	for range n {
		h.Call(t, "shared", jobs.StageStart, &jobs.Request{})
	}
	waitFor(t, func() bool {
		return h.CountEvents(t, "jobs.evt.shared.JOB_COMPLETED", nil) == n
	})
	seen := map[string]int{}
	h.CountEvents(t, "jobs.evt.shared.JOB_COMPLETED", func(e jetjobstest.Event) bool { seen[e.Data.ExecutionID]++; return true })
	for id, c := range seen {
		if c != 1 {
			t.Fatalf("%s completed %d times", id, c)
		}
	}
	if len(seen) != n {
		t.Fatalf("%d executions completed, want %d", len(seen), n)
	}
}

// The same command id published twice inside the duplicate window is stored
// once, so the job starts once.
func TestDuplicateCommandIDRunsOnce(t *testing.T) {
	t.Parallel()
	var starts atomic.Int32
	h := jetjobstest.New(t, func(r *jobs.Registry) { r.MustRegister("counted", &countingJob{starts: &starts}) })
	ev, err := h.Client.Command(context.Background(), "counted", jobs.StageStart, &jobs.Request{}, bus.SendOptions{ID: "cmd-dup-1"})
	if err != nil {
		t.Fatal(err)
	}
	hdr, body, err := bus.Encode(ev)
	if err != nil {
		t.Fatal(err)
	}
	var dups int
	for range 2 {
		ack, err := h.JS.PublishMsg(context.Background(), &nats.Msg{Subject: "jobs.cmd.counted.start", Header: hdr, Data: body})
		if err != nil {
			t.Fatal(err)
		}
		if ack.Duplicate {
			dups++
		}
	}
	if dups != 1 {
		t.Fatalf("%d publishes reported duplicate, want 1", dups)
	}
	// The command id doubles as the execution id when the client gave none.
	h.WaitEvent(t, "counted", "cmd-dup-1", jobs.EventCompleted)
	if n := starts.Load(); n != 1 {
		t.Fatalf("Start ran %d times", n)
	}
}

// A plain NATS client (no jetjobs code) can start a job in structured mode
// and read the reply.
func TestStructuredModeFromPlainClient(t *testing.T) {
	t.Parallel()
	h := demoHarness(t)
	inbox := nats.NewInbox()
	sub, err := h.Conn.SubscribeSync(inbox)
	if err != nil {
		t.Fatal(err)
	}
	body := `{"specversion":"1.0","id":"plain-1","source":"/crm","type":"JOB_EXECUTE","replyto":"` + inbox + `",
	  "datacontenttype":"application/json","data":{"parameters":{"customerId":"CUST-9"}}}`
	msg := &nats.Msg{Subject: "jobs.cmd.customer-validation.execute", Header: nats.Header{}, Data: []byte(body)}
	msg.Header.Set("Content-Type", "application/cloudevents+json")
	if _, err := h.JS.PublishMsg(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	reply, err := sub.NextMsg(jetjobstest.DefaultTimeout)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := bus.DecodeResponse(reply.Header, reply.Data)
	if err != nil {
		t.Fatal(err)
	}
	if !resp.Success || resp.ExecutionID != "plain-1" || resp.Message != "Valid customer" {
		t.Fatalf("reply %+v", resp)
	}
	var ce event.Event
	if ce, err = bus.Decode(reply.Header, reply.Data); err != nil || ce.Type() != jobs.EventStageResponse {
		t.Fatalf("reply is not a JOB_STAGE_RESPONSE: %v %v", ce.Type(), err)
	}
}

// waitFor is testutil.Eventually with the harness's timeout.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	testutil.Eventually(t, "condition", jetjobstest.DefaultTimeout, cond)
}

// A client's CHECK that ends an execution publishes JOB_COMPLETED; the
// execution's CHECK timer, firing later (here after the duplicate window, so
// dedup cannot hide a second publish), does not publish it again.
func TestClientCheckEndsThenTimerStaysQuiet(t *testing.T) {
	t.Parallel()
	var checks atomic.Int32
	h := jetjobstest.New(t, func(r *jobs.Registry) {
		r.MustRegister("quiet", &clockJob{after: 0, checks: &checks},
			jobs.WithCheckInterval(400*time.Millisecond, 400*time.Millisecond))
	}, jetjobstest.WithConfig(func(c *jetjobs.Config) { c.NATS.DuplicateWindow = 100 * time.Millisecond }))
	id := h.Call(t, "quiet", jobs.StageStart, &jobs.Request{}).ExecutionID
	if resp := h.Call(t, "quiet", jobs.StageCheck, &jobs.Request{ExecutionID: id}); resp.Status != jobs.StatusCompleted {
		t.Fatalf("client check: %+v", resp)
	}
	if !h.Execution(t, "quiet", id).TerminalEventSent {
		t.Fatal("a client's CHECK that ends the execution must mark its event sent")
	}
	// Wait until the timer has fired and gone (the work queue is empty).
	waitFor(t, func() bool {
		s, err := h.JS.Stream(context.Background(), bus.StreamTimers)
		return err == nil && s.CachedInfo().State.Msgs == 0 && func() bool {
			info, err := s.Info(context.Background())
			return err == nil && info.State.Msgs == 0
		}()
	})
	if n := h.CountEvents(t, "jobs.evt.quiet.JOB_COMPLETED", nil); n != 1 {
		t.Fatalf("%d JOB_COMPLETED, want 1", n)
	}
	if c := checks.Load(); c != 1 {
		t.Fatalf("the job was checked %d times; the timer should have found it ended", c)
	}
}

// blockingExec runs for a while and says when it has begun.
type blockingExec struct {
	inside chan struct{}
	once   sync.Once
}

func (j *blockingExec) Execute(ctx context.Context, req *jobs.Request) (*jobs.Response, error) {
	j.once.Do(func() { close(j.inside) })
	select {
	case <-time.After(300 * time.Millisecond):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return jobs.Completed("finished", nil), nil
}

// Stop drains: a stage in flight when the engine stops finishes, is stored,
// answered and acknowledged, and nothing is redelivered afterwards.
func TestStopDrainsInFlightStages(t *testing.T) {
	t.Parallel()
	job := &blockingExec{inside: make(chan struct{})}
	h := jetjobstest.New(t, func(r *jobs.Registry) { r.MustRegister("draining", job) })
	answered := make(chan *jobs.Response, 1)
	go func() {
		answered <- h.Call(t, "draining", jobs.StageExecute, &jobs.Request{ExecutionID: "drain-1"})
	}()
	<-job.inside
	h.Engine.Stop() // returns once the in-flight stage is done
	resp := <-answered
	if !resp.Success || resp.Message != "finished" {
		t.Fatalf("in-flight stage: %+v", resp)
	}
	cons, err := h.JS.Consumer(context.Background(), bus.StreamCommands, bus.CommandConsumer("draining"))
	if err != nil {
		t.Fatal(err)
	}
	info, err := cons.Info(context.Background())
	if err != nil || info.NumAckPending != 0 || info.NumRedelivered != 0 {
		t.Fatalf("after the drain: %+v %v", info, err)
	}
	store, err := kv.NewStateStore(context.Background(), h.JS, kv.StateConfig{}) // the engine's connection is closed
	if err != nil {
		t.Fatal(err)
	}
	if exec, _, err := store.Get(context.Background(), "draining", "drain-1"); err != nil || exec.Status != jobs.StatusCompleted {
		t.Fatalf("record after the drain: %+v %v", exec, err)
	}
}

// longExec takes longer than the ack wait; it counts its runs.
type longExec struct{ runs *atomic.Int32 }

func (j longExec) Execute(ctx context.Context, _ *jobs.Request) (*jobs.Response, error) {
	j.runs.Add(1)
	select {
	case <-time.After(2500 * time.Millisecond):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return jobs.Completed("slow but done", nil), nil
}

// A stage longer than the ack wait keeps its command alive with in-progress
// acks: it is not redelivered and runs once.
func TestLongStageIsNotRedelivered(t *testing.T) {
	t.Parallel()
	var runs atomic.Int32
	h := jetjobstest.New(t, func(r *jobs.Registry) { r.MustRegister("long", longExec{runs: &runs}) },
		jetjobstest.WithConfig(func(c *jetjobs.Config) { c.NATS.AckWait = time.Second }))
	resp := h.Call(t, "long", jobs.StageExecute, &jobs.Request{})
	if !resp.Success || runs.Load() != 1 {
		t.Fatalf("%+v, ran %d times", resp, runs.Load())
	}
	cons, err := h.JS.Consumer(context.Background(), bus.StreamCommands, bus.CommandConsumer("long"))
	if err != nil {
		t.Fatal(err)
	}
	if info, err := cons.Info(context.Background()); err != nil || info.NumRedelivered != 0 {
		t.Fatalf("redelivered: %+v %v", info, err)
	}
}
