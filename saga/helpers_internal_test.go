package saga

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"

	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/jetjobstest"
	"github.com/jetjobs/jetjobs/jobs"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// wait bounds every wait of these tests.
const wait = 20 * time.Second

// recorder remembers what the test jobs were asked to do, by execution id.
type recorder struct {
	mu     sync.Mutex
	starts map[string]int // job invocations that began work (START or EXECUTE)
	stops  map[string]int
	order  []string       // execution ids in the order their work began
	failed map[string]int // failures so far per "key" parameter
}

func newRecorder() *recorder {
	return &recorder{starts: map[string]int{}, stops: map[string]int{}, failed: map[string]int{}}
}

func (r *recorder) start(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.starts[id]++
	r.order = append(r.order, id)
}

func (r *recorder) started(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.starts[id] > 0
}

func (r *recorder) count(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.starts[id]
}

// ordered lists the recorded execution ids that start with prefix.
func (r *recorder) ordered(prefix string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, id := range r.order {
		if strings.HasPrefix(id, prefix) {
			out = append(out, strings.TrimPrefix(id, prefix))
		}
	}
	return out
}

// failNow reports whether this call must fail: the first failTimes calls
// with the same key do.
func (r *recorder) failNow(req *jobs.Request) bool {
	n, _ := req.IntOr("failTimes", 0)
	if n == 0 {
		return false
	}
	key, _ := req.StringOr("key", req.ExecutionID)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failed[key] < int(n) {
		r.failed[key]++
		return true
	}
	return false
}

func (r *recorder) stop(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stops[id]++
}

// asyncJob is steered by its parameters: fail (CHECK reports FAILED),
// never (stays RUNNING), waitFor (completes once that execution has
// started), failTimes+key (START fails that many times per key). Its
// result echoes "value".
type asyncJob struct {
	jobs.AsyncDefaults
	rec *recorder
}

func (j *asyncJob) Start(_ context.Context, req *jobs.Request) (*jobs.Response, error) {
	j.rec.start(req.ExecutionID)
	if j.rec.failNow(req) {
		return nil, jobs.Permanent(fmt.Errorf("start of %s failed on purpose", req.ExecutionID))
	}
	return jobs.Started("working"), nil
}

func (j *asyncJob) Check(_ context.Context, req *jobs.Request) (*jobs.Response, error) {
	if fail, _ := req.BoolOr("fail", false); fail {
		return jobs.Failed("failed on purpose"), nil
	}
	if never, _ := req.BoolOr("never", false); never {
		return jobs.Running(10, "still working"), nil
	}
	if other, _ := req.StringOr("waitFor", ""); other != "" && !j.rec.started(other) {
		return jobs.Running(50, "waiting for "+other), nil
	}
	return jobs.Completed("done", nil), nil
}

func (j *asyncJob) Result(_ context.Context, req *jobs.Request) (*jobs.Response, error) {
	v, _ := req.Param("value")
	return jobs.OK("result", map[string]any{"value": v, "executionId": req.ExecutionID}), nil
}

func (j *asyncJob) Stop(_ context.Context, req *jobs.Request) (*jobs.Response, error) {
	j.rec.stop(req.ExecutionID)
	return &jobs.Response{Success: true}, nil
}

// syncJob answers at once; fail and failTimes+key make it fail.
type syncJob struct{ rec *recorder }

func (j syncJob) Execute(_ context.Context, req *jobs.Request) (*jobs.Response, error) {
	j.rec.start(req.ExecutionID)
	if fail, _ := req.BoolOr("fail", false); fail || j.rec.failNow(req) {
		return nil, jobs.Permanent(fmt.Errorf("execute of %s failed on purpose", req.ExecutionID))
	}
	v, _ := req.Param("value")
	return jobs.Completed("done", map[string]any{"value": v, "executionId": req.ExecutionID}), nil
}

// harness starts an engine with the test jobs: work and undo-async
// (async), quick and undo (sync).
func harness(t *testing.T, opts ...jetjobstest.Option) (*jetjobstest.Harness, *recorder) {
	t.Helper()
	rec := newRecorder()
	h := jetjobstest.New(t, func(r *jobs.Registry) {
		r.MustRegister("work", &asyncJob{rec: rec})
		r.MustRegister("undo-async", &asyncJob{rec: rec})
		r.MustRegister("quick", syncJob{rec: rec})
		r.MustRegister("undo", syncJob{rec: rec})
	}, opts...)
	return h, rec
}

// coordinator starts a coordinator on the harness, with short timings and
// the engine's registry for step modes.
func coordinator(t *testing.T, h *jetjobstest.Harness, edit func(*Config), defs ...*Definition) *Coordinator {
	t.Helper()
	return coordinatorWith(t, h, edit, nil, defs...)
}

// coordinatorWith lets prep (set test hooks) run before Start.
func coordinatorWith(t *testing.T, h *jetjobstest.Harness, edit func(*Config), prep func(*Coordinator), defs ...*Definition) *Coordinator {
	t.Helper()
	cl := bus.NewClient(h.Conn, h.JS, bus.WithPrefix(h.Subjects.Prefix))
	t.Cleanup(cl.Close)
	cfg := Config{Prefix: h.Subjects.Prefix, AckWait: time.Second, CallTimeout: 5 * time.Second,
		Registry: h.Engine.Registry(), Logger: jetjobstest.TestLogger(t, "warn")}
	if edit != nil {
		edit(&cfg)
	}
	c, err := New(h.JS, cl, cfg, defs...)
	if err != nil {
		t.Fatal(err)
	}
	if prep != nil {
		prep(c)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	return c
}

// start starts a saga and fails the test on error.
func start(t *testing.T, c *Coordinator, saga, id string, input map[string]any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if _, _, err := c.StartSaga(ctx, saga, StartRequest{SagaID: id, Input: input}); err != nil {
		t.Fatal(err)
	}
}

// waitStatus waits until the saga is terminal and checks its status.
func waitStatus(t *testing.T, h *jetjobstest.Harness, saga, id string, want Status) *Instance {
	t.Helper()
	return waitFor(t, h, saga, id, want, func(in *Instance) bool {
		return in.Status == want || (in.Status.Terminal() && in.Status != StatusFailed)
	})
}

func waitFor(t *testing.T, h *jetjobstest.Harness, saga, id string, want Status, done func(*Instance) bool) *Instance {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	in, err := NewClient(h.JS, ClientOptions{Prefix: h.Subjects.Prefix}).Wait(ctx, saga, id, done)
	if err != nil {
		t.Fatalf("saga %s/%s: %v (last state %s)", saga, id, err, dump(in))
	}
	if in.Status != want {
		t.Fatalf("saga %s/%s ended %s, want %s: %s", saga, id, in.Status, want, dump(in))
	}
	return in
}

func dump(in *Instance) string {
	b, _ := json.MarshalIndent(in, "", " ")
	return string(b)
}

// sagaEvents reads a saga instance's events from JOBS_EVENTS, in stream
// order, until one of the final types arrives (then a short while more, to
// catch anything published after it).
func sagaEvents(t *testing.T, h *jetjobstest.Harness, saga, id string, final ...string) []EventData {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	cons, err := h.JS.OrderedConsumer(ctx, bus.StreamEvents, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{h.Subjects.Saga(saga, "*")}})
	if err != nil {
		t.Fatal(err)
	}
	var out []EventData
	deadline := time.Now().Add(wait)
	ended := time.Time{}
	for time.Now().Before(deadline) {
		maxWait := time.Until(deadline)
		if !ended.IsZero() {
			maxWait = 300 * time.Millisecond
		}
		msg, err := cons.Next(jetstream.FetchMaxWait(maxWait))
		if err != nil {
			if !ended.IsZero() {
				return out
			}
			continue
		}
		ev, err := bus.Decode(msg.Headers(), msg.Data())
		if err != nil {
			t.Fatalf("saga event: %v", err)
		}
		var d EventData
		if err := json.Unmarshal(ev.Data(), &d); err != nil {
			t.Fatal(err)
		}
		if d.SagaID != id {
			continue
		}
		if ev.ID() != EventID(saga, id, d.Seq) || ev.Type() != d.EventType || extString(&ev, "sagaid") != id {
			t.Fatalf("saga event envelope: id %s type %s sagaid %s, data %+v", ev.ID(), ev.Type(), extString(&ev, "sagaid"), d)
		}
		out = append(out, d)
		if slices.Contains(final, d.EventType) && ended.IsZero() {
			ended = time.Now()
		}
	}
	t.Fatalf("saga %s/%s: no %v event within %s (got %v)", saga, id, final, wait, types(out))
	return nil
}

// types lists event types, with the step of step events: SAGA_STEP_COMPLETED:a.
func types(evs []EventData) []string {
	var out []string
	for _, e := range evs {
		s := e.EventType
		if e.EventType == EventStepCompleted {
			s += ":" + e.Step
		}
		out = append(out, s)
	}
	return out
}

// checkEvents compares event types and checks that seq runs 1, 2, 3, …
func checkEvents(t *testing.T, evs []EventData, want ...string) {
	t.Helper()
	if got := types(evs); !slices.Equal(got, want) {
		t.Fatalf("saga events\n got %v\nwant %v", got, want)
	}
	for i, e := range evs {
		if e.Seq != uint64(i+1) {
			t.Fatalf("event %d has seq %d: %v", i, e.Seq, evs)
		}
	}
}

func step(in *Instance, name string) *StepState {
	if s := in.step(name); s != nil {
		return s
	}
	panic("no step " + name)
}
