package jetjobs_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetjobs/jetjobs"
	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/jetjobstest"
	"github.com/jetjobs/jetjobs/jobs"
	"github.com/jetjobs/jetjobs/saga"
)

// The fault suite's set-up (cluster_faults_suite_test.go has the cases): a
// 3-node R3 cluster, two engine instances each connected to a node of its
// own first, the same jobs and saga on both, a steady load, and a book of
// what the handlers were asked to do and what the events said.

// The jobs of the fault suite, registered on every engine.
const (
	fClock   = "f-clock"   // async: START, then CHECKs until 200ms have passed
	fSync    = "f-sync"    // sync: EXECUTE answers at once
	fReserve = "f-reserve" // saga step 1, async, compensated by fRelease
	fRelease = "f-release" // sync: the compensation of fReserve
	fCharge  = "f-charge"  // saga step 2, sync
	fShip    = "f-ship"    // saga step 3, sync; fails (permanently) with fail=true
	fSaga    = "f-order"   // reserve → charge → ship
)

// faultBook is what the test saw: handler calls per execution and the first
// sight of each event, from a core NATS subscription (which may miss an
// event while its own server is down: the stream is read at the end for the
// counts that matter).
type faultBook struct {
	mu      sync.Mutex
	calls   map[string]int       // START or EXECUTE calls per execution id
	late    []string             // such calls for an execution whose record had already been stored
	started map[string]bool      // JOB_STARTED, or any terminal event, seen
	ended   map[string]time.Time // first terminal job event seen
	sagas   map[string]time.Time // first SAGA_COMPLETED / SAGA_COMPENSATED / SAGA_FAILED seen
}

func newFaultBook() *faultBook {
	return &faultBook{calls: map[string]int{}, started: map[string]bool{}, ended: map[string]time.Time{}, sagas: map[string]time.Time{}}
}

// call records a START or EXECUTE. One that comes after the execution's
// record was stored (its JOB_STARTED or terminal event is out) breaks the
// engine's promise of docs/jobs.md ("Idempotency"): it is the run twice to
// completion the suite looks for. A call after a failed write, before any
// event, is the documented at-least-once and is only counted.
func (b *faultBook) call(stage jobs.Stage, id string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls[id]++
	_, ended := b.ended[id]
	if ended || (stage == jobs.StageStart && b.started[id]) {
		b.late = append(b.late, fmt.Sprintf("%s %s (call %d)", stage, id, b.calls[id]))
	}
}

func (b *faultBook) observe(msg *nats.Msg) {
	typ := msg.Subject[strings.LastIndexByte(msg.Subject, '.')+1:]
	now := time.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	switch typ {
	case jobs.EventStarted:
		b.started[msg.Header.Get("ce-executionid")] = true
	case jobs.EventCompleted, jobs.EventFailed, jobs.EventStopped:
		id := msg.Header.Get("ce-executionid")
		b.started[id] = true
		if _, ok := b.ended[id]; !ok {
			b.ended[id] = now
		}
	case saga.EventCompleted, saga.EventCompensated, saga.EventFailed:
		id := msg.Header.Get("ce-sagaid")
		if _, ok := b.sagas[id]; !ok {
			b.sagas[id] = now
		}
	}
}

// fClockJob completes on the first CHECK 200ms after its START.
type fClockJob struct {
	jobs.AsyncDefaults
	book *faultBook
}

func (j *fClockJob) Start(_ context.Context, req *jobs.Request) (*jobs.Response, error) {
	j.book.call(jobs.StageStart, req.ExecutionID)
	return jobs.Started("started"), nil
}

func (j *fClockJob) Check(_ context.Context, req *jobs.Request) (*jobs.Response, error) {
	if time.Since(req.StartedAt) >= 200*time.Millisecond {
		return jobs.Completed("done", map[string]any{"ok": true}), nil
	}
	return jobs.Running(50, "half way"), nil
}

func (j *fClockJob) Stop(context.Context, *jobs.Request) (*jobs.Response, error) {
	return &jobs.Response{Success: true}, nil
}

// fSyncJob answers at once; with fail=true it fails for good.
type fSyncJob struct{ book *faultBook }

func (j *fSyncJob) Execute(_ context.Context, req *jobs.Request) (*jobs.Response, error) {
	j.book.call(jobs.StageExecute, req.ExecutionID)
	if fail, _ := req.BoolOr("fail", false); fail {
		return nil, jobs.Permanent(errors.New("the shipping service refused the order"))
	}
	return jobs.OK("done", map[string]any{"ok": true}), nil
}

// faultSaga is reserve (async, compensated by release) → charge → ship;
// input fail=true makes ship fail, so the saga ends COMPENSATED.
func faultSaga() *saga.Definition {
	return &saga.Definition{Name: fSaga, Steps: []saga.Step{
		{Name: "reserve", Job: fReserve, Mode: saga.ModeAsync,
			Compensate: &saga.Compensation{Job: fRelease, Mode: saga.ModeSync}},
		{Name: "charge", Job: fCharge, Mode: saga.ModeSync},
		{Name: "ship", Job: fShip, Mode: saga.ModeSync, Parameters: map[string]any{"fail": "${input.fail}"}},
	}}
}

// rigEngine is one engine instance on a connection of the test's own
// making, so that the test can cut it (a crash) or drain it (a stop).
type rigEngine struct {
	name   string
	eng    *jetjobs.Engine
	nc     *nats.Conn
	cancel context.CancelFunc
}

// faultRig is the cluster, the engines on it and the test's own client.
type faultRig struct {
	t       *testing.T
	c       *testCluster
	cfg     jetjobs.Config
	book    *faultBook
	engines []*rigEngine // the live ones
	started int          // engines started so far, for their names
	nc      *nats.Conn
	js      jetstream.JetStream
	client  *bus.Client
	sagas   *saga.Client
}

// newFaultRig starts the cluster, two engines (on n1 and n2 first) and the
// test's client (on n3 first) with its event subscription.
func newFaultRig(t *testing.T, ctx context.Context) *faultRig {
	t.Helper()
	r := &faultRig{t: t, c: startCluster(t), book: newFaultBook()}
	cfg := jetjobs.DefaultConfig()
	cfg.NATS.URL = strings.Join(r.c.urls, ",")
	cfg.NATS.Replicas = 3
	// A crashed engine's commands come back to the other after ack-wait.
	cfg.NATS.AckWait = 4 * time.Second
	cfg.HTTP.Addr = ""
	cfg.HTTP.RequestTimeout = 20 * time.Second // the saga coordinator's wait for an EXECUTE's answer
	cfg.Orchestration.CheckInterval = 100 * time.Millisecond
	cfg.Orchestration.MaxCheckInterval = 300 * time.Millisecond
	cfg.Orchestration.TimerReconcileInterval = 3 * time.Second
	r.cfg = cfg
	var err error
	r.nc, r.js, err = bus.Connect(bus.ConnConfig{URL: r.urlsFrom(2), Name: "fault-load"}, nats.DontRandomize())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.nc.Close)
	sub, err := r.nc.Subscribe(cfg.NATS.SubjectPrefix+".>", r.book.observe)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	for i := range 2 {
		r.startEngine(ctx, i)
	}
	r.client = bus.NewClient(r.nc, r.js, bus.WithPublishRetry(10*time.Second))
	t.Cleanup(r.client.Close)
	r.sagas = saga.NewClient(r.js, saga.ClientOptions{})
	return r
}

// urlsFrom lists the cluster's URLs starting with node i's.
func (r *faultRig) urlsFrom(i int) string {
	n := len(r.c.urls)
	var out []string
	for k := range n {
		out = append(out, r.c.urls[(i+k)%n])
	}
	return strings.Join(out, ",")
}

// startEngine starts an engine connected to node first (then the others).
func (r *faultRig) startEngine(ctx context.Context, node int) *rigEngine {
	t := r.t
	t.Helper()
	r.started++
	name := fmt.Sprintf("engine-%d", r.started)
	nc, _, err := bus.Connect(bus.ConnConfig{URL: r.urlsFrom(node), Name: name}, nats.DontRandomize())
	if err != nil {
		t.Fatal(err)
	}
	reg := jobs.NewRegistry()
	reg.MustRegister(fClock, &fClockJob{book: r.book})
	reg.MustRegister(fSync, &fSyncJob{book: r.book})
	reg.MustRegister(fReserve, &fClockJob{book: r.book})
	reg.MustRegister(fRelease, &fSyncJob{book: r.book})
	reg.MustRegister(fCharge, &fSyncJob{book: r.book})
	reg.MustRegister(fShip, &fSyncJob{book: r.book})
	cfg := r.cfg
	cfg.NATS.URL = r.urlsFrom(node)
	eng, err := jetjobs.New(cfg, reg, jetjobs.WithConn(nc), jetjobs.WithShutdownTimeout(5*time.Second),
		jetjobs.WithLogger(jetjobstest.TestLogger(t, faultLogLevel).With().Str("engine", name).Logger()),
		jetjobs.WithReconcileAfter(2*time.Second), jetjobs.WithComponents(saga.InEngine(faultSaga())))
	if err != nil {
		t.Fatal(err)
	}
	ectx, cancel := context.WithCancel(ctx)
	if err := eng.Start(ectx); err != nil {
		cancel()
		nc.Close()
		t.Fatal(err)
	}
	e := &rigEngine{name: name, eng: eng, nc: nc, cancel: cancel}
	t.Cleanup(func() { // after a crash too: what the dead engine still runs ends here
		eng.Stop()
		cancel()
		nc.Close()
	})
	r.engines = append(r.engines, e)
	return e
}

// crash ends engine e as a killed process would look to everyone else: its
// connection is cut (no drain, no ack, no goodbye) and its context ends.
// Its goroutines are reaped at the test's end.
func (r *faultRig) crash(e *rigEngine) {
	e.nc.Close()
	e.cancel()
	r.drop(e)
}

// stop stops engine e gracefully: consumers drain, in-flight stages finish.
func (r *faultRig) stop(e *rigEngine) {
	e.eng.Stop()
	_ = e.nc.Drain()
	r.drop(e)
}

func (r *faultRig) drop(e *rigEngine) {
	for i, x := range r.engines {
		if x == e {
			r.engines = append(r.engines[:i], r.engines[i+1:]...)
			return
		}
	}
}

// stepDown asks the leader of a stream (consumer "": the stream itself) to
// step down; the others elect a new one.
func (r *faultRig) stepDown(stream, consumer string) error {
	subj := "$JS.API.STREAM.LEADER.STEPDOWN." + stream
	if consumer != "" {
		subj = "$JS.API.CONSUMER.LEADER.STEPDOWN." + stream + "." + consumer
	}
	msg, err := r.nc.Request(subj, nil, 5*time.Second)
	if err != nil {
		return fmt.Errorf("step down %s %s: %w", stream, consumer, err)
	}
	if !strings.Contains(string(msg.Data), `"success":true`) {
		return fmt.Errorf("step down %s %s: %s", stream, consumer, msg.Data)
	}
	return nil
}

// raftGroup is a stream or a consumer of one, and its leader.
type raftGroup struct {
	stream, consumer, leader string
}

func (g raftGroup) String() string {
	if g.consumer == "" {
		return g.stream
	}
	return g.stream + "/" + g.consumer
}

// groups lists every replicated stream and consumer with its leader. A
// listing that gets no answer (an election) fails after 10s: the
// JetStream client would otherwise wait for ctx's end.
func (r *faultRig) groups(ctx context.Context) ([]raftGroup, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var out []raftGroup
	names := r.js.StreamNames(ctx)
	var streams []string
	for n := range names.Name() {
		streams = append(streams, n)
	}
	if err := names.Err(); err != nil {
		return nil, err
	}
	for _, n := range streams {
		st, err := r.js.Stream(ctx, n)
		if err != nil {
			return nil, err
		}
		if cl := st.CachedInfo().Cluster; cl != nil && len(cl.Replicas) > 0 {
			out = append(out, raftGroup{stream: n, leader: cl.Leader})
		}
		cons := st.ListConsumers(ctx)
		for ci := range cons.Info() {
			if cl := ci.Cluster; cl != nil && len(cl.Replicas) > 0 {
				out = append(out, raftGroup{stream: n, consumer: ci.Name, leader: cl.Leader})
			}
		}
		if err := cons.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// isolate moves every leadership but keep's off node victim (keep ""
// none), so that losing victim loses exactly that leader.
func (r *faultRig) isolate(ctx context.Context, victim, keep string) {
	t := r.t
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		gs, err := r.groups(ctx)
		moved := 0
		for _, g := range gs {
			if g.leader == victim && g.String() != keep {
				if err := r.stepDown(g.stream, g.consumer); err != nil {
					t.Logf("isolate %s: %v", victim, err)
				}
				moved++
			}
		}
		if err == nil && moved == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("could not move the leaders off %s in 90s (%v, %d left)", victim, err, moved)
		}
		r.waitAllHealthy(ctx)
	}
}

// waitAllHealthy waits until every replicated stream has a leader and two
// current replicas.
func (r *faultRig) waitAllHealthy(ctx context.Context) {
	r.t.Helper()
	for _, s := range []string{bus.StreamCommands, bus.StreamEvents, bus.StreamTimers, bus.StreamDLQ,
		"KV_JOBS_STATE", saga.StreamCommands, saga.StreamTimers, "KV_" + saga.Bucket} {
		waitHealthy(ctx, r.t, r.js, s)
	}
}

// metaLeader is the name of the JetStream meta leader ("" while there is
// none): it is not visible through the JetStream API of an account, so
// the cluster's servers are asked.
func (r *faultRig) metaLeader() string {
	name, err := r.c.cl.MetaLeader()
	if err != nil {
		return ""
	}
	return name
}

// faultLogLevel is the engines' log level in the fault suite: errors only,
// or JETJOBS_FAULTS_LOG's (debug, info, warn) to see what they did.
var faultLogLevel = func() string {
	if l := os.Getenv("JETJOBS_FAULTS_LOG"); l != "" {
		return l
	}
	return "error"
}()
