package jetjobs_test

import (
	"context"
	"net/http/httptest"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jetjobs/jetjobs"
	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/internal/testutil"
	"github.com/jetjobs/jetjobs/jetjobstest"
	"github.com/jetjobs/jetjobs/jobs"
)

// outageAsync starts at once and completes on its first CHECK.
type outageAsync struct{ jobs.AsyncDefaults }

func (outageAsync) Start(context.Context, *jobs.Request) (*jobs.Response, error) {
	time.Sleep(5 * time.Millisecond)
	return jobs.Started("started"), nil
}
func (outageAsync) Check(context.Context, *jobs.Request) (*jobs.Response, error) {
	return jobs.Completed("done", nil), nil
}
func (outageAsync) Stop(context.Context, *jobs.Request) (*jobs.Response, error) {
	return &jobs.Response{Success: true}, nil
}

type outageSync struct{}

func (outageSync) Execute(context.Context, *jobs.Request) (*jobs.Response, error) {
	time.Sleep(20 * time.Millisecond)
	return jobs.Completed("done", nil), nil
}

// The NATS server stopped for 20 s while 500 async jobs and 200 sync calls
// are in flight, then started again on the same port and store: the same
// engine (never restarted) ends every accepted START and EXECUTE COMPLETED,
// each with exactly one terminal event, and JOBS_DLQ stays empty. While the
// server is away /health says DOWN and the connection-state gauge 0; the
// reconnect is counted.
func TestServerStoppedTwentySeconds(t *testing.T) {
	if testing.Short() {
		t.Skip("a 20 s outage")
	}
	t.Parallel()
	port, dir := testutil.FreePort(t), t.TempDir()
	srvCfg := bus.EmbeddedConfig{Port: port, StoreDir: dir}
	srv, err := bus.StartEmbedded(srvCfg)
	if err != nil {
		t.Fatal(err)
	}
	var srvMu sync.Mutex
	t.Cleanup(func() { srvMu.Lock(); srv.Shutdown(); srvMu.Unlock() })

	cfg := jetjobs.DefaultConfig()
	cfg.NATS.URL = srv.ClientURL()
	cfg.HTTP.Addr = ""
	cfg.Log.Level = "error"
	cfg.Orchestration.CheckInterval = 50 * time.Millisecond
	cfg.Orchestration.MaxCheckInterval = 200 * time.Millisecond
	cfg.NATS.AckWait = 5 * time.Second
	cfg.NATS.CommandConcurrency = 16
	cfg.NATS.MaxDeliver = 2 // outages must not count towards it
	cfg.NATS.RedeliveryBackoff = []string{"250ms", "1s", "2s"}
	reg := jobs.NewRegistry()
	reg.MustRegister("out-async", outageAsync{})
	reg.MustRegister("out-sync", outageSync{})
	eng, err := jetjobs.New(cfg, reg, jetjobs.WithLogger(jetjobstest.TestLogger(t, cfg.Log.Level)),
		jetjobs.WithShutdownTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	startCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := eng.Start(startCtx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(eng.Stop)
	engineConn := eng.Conn()

	nc, js, err := bus.Connect(bus.ConnConfig{URL: srv.ClientURL(), Name: "outage-test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	client := bus.NewClient(nc, js)
	t.Cleanup(client.Close)

	// 500 async STARTs, acknowledged by JetStream (accepted).
	var asyncIDs []string
	for i := range 500 {
		id, err := client.Send(ctx, "out-async", jobs.StageStart, &jobs.Request{}, bus.SendOptions{ID: "a-" + strconv.Itoa(i)})
		if err != nil {
			t.Fatal(err)
		}
		asyncIDs = append(asyncIDs, id)
	}
	// 200 sync calls, 16 at a time at most in the engine: most are queued
	// or running when the server stops.
	type syncCall struct {
		id  string
		err error
	}
	calls := make([]syncCall, 200)
	var answered atomic.Int32
	var wg sync.WaitGroup
	for i := range calls {
		calls[i].id = "s-" + strconv.Itoa(i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, 50*time.Second)
			defer cancel()
			_, calls[i].err = client.Call(cctx, "out-sync", jobs.StageExecute, &jobs.Request{}, bus.SendOptions{ID: calls[i].id})
			answered.Add(1)
		}()
	}
	for deadline := time.Now().Add(20 * time.Second); answered.Load() < 10; {
		if time.Now().After(deadline) {
			t.Fatal("no sync call answered before the outage")
		}
		time.Sleep(5 * time.Millisecond)
	}

	health := func() int {
		rr := httptest.NewRecorder()
		eng.Router().ServeHTTP(rr, httptest.NewRequest("GET", "/health", nil))
		return rr.Code
	}
	metric := func(name string) (float64, bool) {
		rr := httptest.NewRecorder()
		eng.Metrics().ServeHTTP(rr, httptest.NewRequest("GET", "/metrics", nil))
		m := regexp.MustCompile(`(?m)^` + name + `(?:\{[^}]*\})? (\S+)$`).FindStringSubmatch(rr.Body.String())
		if m == nil {
			return 0, false
		}
		v, err := strconv.ParseFloat(m[1], 64)
		return v, err == nil
	}
	if v, ok := metric("firefly_data_job_nats_connection_state"); !ok || v != 1 {
		t.Errorf("connection state before the outage: %v (found %v), want 1", v, ok)
	}

	// The outage.
	t.Logf("server stopped with %d of 200 sync calls answered", answered.Load())
	srvMu.Lock()
	srv.Shutdown()
	srvMu.Unlock()
	stopped := time.Now()
	waitFor(t, func() bool { return health() == 503 })
	if v, ok := metric("firefly_data_job_nats_connection_state"); !ok || v != 0 {
		t.Errorf("connection state during the outage: %v (found %v), want 0", v, ok)
	}
	time.Sleep(time.Until(stopped.Add(20 * time.Second))) // the outage lasts 20 s, whatever happens meanwhile
	srvMu.Lock()
	srv, err = bus.StartEmbedded(srvCfg)
	srvMu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return health() == 200 })

	wg.Wait() // every call answered or timed out
	var want []string
	want = append(want, asyncIDs...)
	for _, c := range calls {
		if c.err == nil {
			want = append(want, c.id)
		}
	}
	status := func(job, id string) jobs.Status {
		exec, _, err := eng.State().Get(ctx, job, id)
		if err != nil {
			return ""
		}
		return exec.Status
	}
	jobOf := func(id string) string {
		if id[0] == 'a' {
			return "out-async"
		}
		return "out-sync"
	}
	deadline := time.Now().Add(40 * time.Second)
	for _, id := range want {
		for status(jobOf(id), id) != jobs.StatusCompleted {
			if time.Now().After(deadline) {
				t.Fatalf("%s is %q, want COMPLETED", id, status(jobOf(id), id))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	// A call whose publish the outage refused may never have been
	// accepted; one that was ends COMPLETED all the same.
	for _, c := range calls {
		if c.err != nil {
			for st := status("out-sync", c.id); st != "" && st != jobs.StatusCompleted; st = status("out-sync", c.id) {
				if time.Now().After(deadline) {
					t.Fatalf("%s (call failed: %v) is %q", c.id, c.err, st)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
	}

	terminal := terminalEvents(ctx, t, js, "jobs.evt.>")
	if terminal == nil {
		t.Fatal("the events stream could not be read")
	}
	for _, id := range want {
		if n := terminal[id]; n != 1 {
			t.Errorf("%s has %d terminal events, want 1", id, n)
		}
	}
	for id, n := range terminal {
		if n != 1 {
			t.Errorf("%s has %d terminal events, want 1", id, n)
		}
	}
	s, err := js.Stream(ctx, bus.StreamDLQ)
	if err != nil {
		t.Fatal(err)
	}
	if info, err := s.Info(ctx); err != nil || info.State.Msgs != 0 {
		t.Errorf("JOBS_DLQ: %v, err %v; want empty", info, err)
	}
	if eng.Conn() != engineConn || !engineConn.IsConnected() {
		t.Error("the engine's connection was replaced or is down")
	}
	if v, ok := metric("firefly_data_job_nats_reconnects_total"); !ok || v < 1 {
		t.Errorf("reconnects counted: %v (found %v), want at least 1", v, ok)
	}
	t.Logf("%d async and %d answered sync executions completed once each, %d calls failed during the outage",
		len(asyncIDs), len(want)-len(asyncIDs), len(calls)-(len(want)-len(asyncIDs)))
}
