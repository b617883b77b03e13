package jetjobs_test

import (
	"context"
	"errors"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetjobs/jetjobs"
	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/internal/config"
	"github.com/jetjobs/jetjobs/internal/testutil"
	"github.com/jetjobs/jetjobs/jetjobstest"
	"github.com/jetjobs/jetjobs/jobs"
)

// startedIDs reads JOB_STARTED events of job until n distinct executions
// started, counting how many events each execution had.
func startedIDs(t *testing.T, h *jetjobstest.Harness, evs *jetjobstest.Events, n int, seen map[string]int) []string {
	t.Helper()
	deadline := time.Now().Add(jetjobstest.DefaultTimeout)
	for len(seen) < n && time.Now().Before(deadline) {
		if ev, ok := evs.TryNext(time.Until(deadline)); ok {
			seen[ev.Data.ExecutionID]++
		}
	}
	if len(seen) < n {
		t.Fatalf("%d executions started, want %d", len(seen), n)
	}
	ids := make([]string, 0, len(seen))
	for id := range seen {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// tickTime reads the tick time from a schedule's execution id.
func tickTime(t *testing.T, name, id string) time.Time {
	t.Helper()
	ts, err := time.Parse("20060102T150405Z", id[len(name)+1:])
	if err != nil {
		t.Fatalf("execution id %q is not %s-<tick>: %v", id, name, err)
	}
	return ts
}

// An @every 1s schedule with two engines running: three ticks in a row,
// each started exactly once (one JOB_STARTED, one JOB_COMPLETED, one
// Start call per tick), with the schedule as initiator and its parameters;
// the ticks are consecutive seconds, so none was lost. After delete no
// tick comes, checked against a second schedule that keeps ticking.
func TestScheduleEveryTwoEnginesThenDelete(t *testing.T) {
	t.Parallel()
	var starts atomic.Int32
	h := jetjobstest.New(t, func(r *jobs.Registry) { r.MustRegister("ticked", &countingJob{starts: &starts}) })
	h.StartEngine(t)
	ctx := context.Background()
	store := h.Engine.Schedules()
	evs := h.Events(t, h.Subjects.Event("ticked", jobs.EventStarted))
	err := store.Put(ctx, jobs.Schedule{Job: "ticked", Name: "every", Every: "1s",
		Parameters: map[string]any{"k": "v"}, Metadata: map[string]string{"tenant": "acme"}})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	ids := startedIDs(t, h, evs, 3, seen)
	for i, id := range ids {
		if seen[id] != 1 {
			t.Fatalf("%s started %d times", id, seen[id])
		}
		if i > 0 && tickTime(t, "every", id).Sub(tickTime(t, "every", ids[i-1])) != time.Second {
			t.Fatalf("ticks %v are not consecutive seconds", ids)
		}
		h.WaitEvent(t, "ticked", id, jobs.EventCompleted)
		exec := h.Execution(t, "ticked", id)
		if exec.Initiator != "schedule:every" || exec.Parameters["k"] != "v" || exec.Metadata["tenant"] != "acme" {
			t.Fatalf("execution %+v: want initiator schedule:every, parameters and metadata of the schedule", exec)
		}
	}

	sc, err := store.Get(ctx, "ticked", "every")
	if err != nil {
		t.Fatal(err)
	}
	if runs := sc.NextRuns(time.Now(), 3); len(runs) != 3 {
		t.Fatalf("next runs %v", runs)
	}
	if err := store.Delete(ctx, "ticked", "every"); err != nil {
		t.Fatal(err)
	}
	deletedAt := time.Now()
	if _, err := store.Get(ctx, "ticked", "every"); !errors.Is(err, jobs.ErrScheduleNotFound) {
		t.Fatalf("Get after delete: %v", err)
	}
	// The tick subject's last message when the schedule was deleted…
	st, err := h.JS.Stream(ctx, bus.StreamSchedules)
	if err != nil {
		t.Fatal(err)
	}
	lastTick := func() uint64 {
		m, err := st.GetLastMsgForSubject(ctx, h.Subjects.ScheduleTick("ticked", "every"))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return 0
		}
		if err != nil {
			t.Fatal(err)
		}
		return m.Sequence
	}
	before := lastTick()
	// …is still the last after a marker schedule ticked twice (more than
	// a period of the deleted one).
	if err := store.Put(ctx, jobs.Schedule{Job: "ticked", Name: "marker", Every: "1s"}); err != nil {
		t.Fatal(err)
	}
	markers := map[string]int{}
	for n := 0; n < 2; {
		ev, ok := evs.TryNext(jetjobstest.DefaultTimeout)
		if !ok {
			t.Fatal("the marker schedule did not tick")
		}
		if len(ev.Data.ExecutionID) > 7 && ev.Data.ExecutionID[:7] == "marker-" {
			markers[ev.Data.ExecutionID]++
			n = len(markers)
			continue
		}
		// A tick made just before the delete may still arrive; one made a
		// second after it may not.
		if seen[ev.Data.ExecutionID] == 0 && tickTime(t, "every", ev.Data.ExecutionID).After(deletedAt) {
			t.Fatalf("a deleted schedule ticked: %s", ev.Data.ExecutionID)
		}
	}
	if after := lastTick(); after != before {
		t.Fatalf("the deleted schedule's tick subject moved from seq %d to %d", before, after)
	}
	if err := store.Delete(ctx, "ticked", "marker"); err != nil {
		t.Fatal(err)
	}
}

// A schedule survives an engine restart and a restart of the NATS server
// (file store): the server keeps it and ticks again; the restarted engine
// applies the same configuration without changing it.
func TestScheduleSurvivesEngineAndServerRestart(t *testing.T) {
	t.Parallel()
	port, dir := testutil.FreePort(t), t.TempDir()
	srv, err := bus.StartEmbedded(bus.EmbeddedConfig{Port: port, StoreDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { srv.Shutdown() }()
	var starts atomic.Int32
	cfg := jetjobs.DefaultConfig()
	cfg.NATS.URL = srv.ClientURL()
	cfg.HTTP.Addr = ""
	cfg.Log.Level = "error"
	cfg.Jobs = map[string]config.Job{"ticked": {Schedules: []config.Schedule{{Name: "pulse", Every: "1s"}}}}
	start := func() *jetjobs.Engine {
		reg := jobs.NewRegistry()
		reg.MustRegister("ticked", &countingJob{starts: &starts})
		eng, err := jetjobs.New(cfg, reg, jetjobs.WithLogger(jetjobstest.TestLogger(t, "error")))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := eng.Start(ctx); err != nil {
			t.Fatal(err)
		}
		return eng
	}
	waitStarts := func(eng *jetjobs.Engine, more int32) {
		t.Helper()
		want := starts.Load() + more
		deadline := time.Now().Add(20 * time.Second)
		for starts.Load() < want {
			if time.Now().After(deadline) {
				t.Fatalf("%d starts, want %d", starts.Load(), want)
			}
			waitTick(t, eng)
		}
	}
	eng := start()
	waitStarts(eng, 2)
	seqBefore := scheduleSeq(t, eng)
	eng.Stop()
	eng = start() // same configuration: the schedule is not published again
	if s := scheduleSeq(t, eng); s != seqBefore {
		t.Fatalf("an unchanged schedule was republished (seq %d -> %d)", seqBefore, s)
	}
	waitStarts(eng, 2)
	eng.Stop()
	srv.Shutdown()
	if srv, err = bus.StartEmbedded(bus.EmbeddedConfig{Port: port, StoreDir: dir}); err != nil {
		t.Fatal(err)
	}
	eng = start()
	defer eng.Stop()
	waitStarts(eng, 2)
}

// waitTick waits for the next JOB_STARTED event on the engine's server.
func waitTick(t *testing.T, eng *jetjobs.Engine) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sub, err := eng.Conn().SubscribeSync("jobs.evt.ticked.JOB_STARTED")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	_, _ = sub.NextMsgWithContext(ctx)
}

func scheduleSeq(t *testing.T, eng *jetjobs.Engine) uint64 {
	t.Helper()
	st, err := eng.JetStream().Stream(context.Background(), bus.StreamSchedules)
	if err != nil {
		t.Fatal(err)
	}
	m, err := st.GetLastMsgForSubject(context.Background(), "jobs.schedule.ticked.pulse")
	if err != nil {
		t.Fatal(err)
	}
	return m.Sequence
}

// The configured schedules are applied at each start: unchanged ones left
// alone (an operator's pause kept), changed ones replaced, ones dropped
// from the file deleted, and the ones made at run time kept.
func TestConfigSchedulesApplied(t *testing.T) {
	t.Parallel()
	var starts atomic.Int32
	h := jetjobstest.New(t, func(r *jobs.Registry) { r.MustRegister("ticked", &countingJob{starts: &starts}) },
		jetjobstest.WithConfig(func(c *jetjobs.Config) {
			c.Jobs = map[string]config.Job{"ticked": {Schedules: []config.Schedule{
				{Name: "keep", Cron: "0 0 2 * * *", TimeZone: "Europe/Paris"},
				{Name: "change", Every: "1h"},
				{Name: "drop", Every: "2h"},
			}}}
		}))
	ctx := context.Background()
	if err := h.Engine.Schedules().Put(ctx, jobs.Schedule{Job: "ticked", Name: "runtime", Every: "3h"}); err != nil {
		t.Fatal(err)
	}
	seq := func(name string) uint64 {
		t.Helper()
		st, err := h.JS.Stream(ctx, bus.StreamSchedules)
		if err != nil {
			t.Fatal(err)
		}
		m, err := st.GetLastMsgForSubject(ctx, h.Subjects.ScheduleOf("ticked", name))
		if err != nil {
			t.Fatal(err)
		}
		return m.Sequence
	}
	if err := h.Engine.Schedules().Pause(ctx, "ticked", "keep"); err != nil {
		t.Fatal(err)
	}
	keepSeq := seq("keep")
	h.Engine.Stop()
	h.Config.Jobs = map[string]config.Job{"ticked": {Schedules: []config.Schedule{
		{Name: "keep", Cron: "0 0 2 * * *", TimeZone: "Europe/Paris"},
		{Name: "change", Every: "90m", Parameters: map[string]any{"v": 2}},
	}}}
	h.Engine = h.StartEngine(t)
	list, err := h.Engine.Schedules().List(ctx, "ticked")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]jobs.Schedule{}
	for _, s := range list {
		got[s.Name] = s
	}
	if len(got) != 3 || got["change"].Every != "90m" || got["change"].Parameters["v"] != float64(2) ||
		got["keep"].Origin != jobs.OriginConfig || !got["keep"].Paused || got["runtime"].Origin != jobs.OriginAPI {
		t.Fatalf("schedules after the change: %+v", list)
	}
	if _, dropped := got["drop"]; dropped {
		t.Fatal("a schedule removed from the configuration is still there")
	}
	if s := seq("keep"); s != keepSeq {
		t.Fatalf("an unchanged schedule was published again (seq %d -> %d)", keepSeq, s)
	}
}

// A configured schedule on a sync job stops start-up, naming the key: a
// schedule sends START, which a sync job does not have.
func TestConfigScheduleOnSyncJobRefused(t *testing.T) {
	t.Parallel()
	srv, err := bus.StartEmbedded(bus.EmbeddedConfig{Port: -1, StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	cfg := jetjobs.DefaultConfig()
	cfg.NATS.URL, cfg.HTTP.Addr = srv.ClientURL(), ""
	cfg.Jobs = map[string]config.Job{"quick": {Schedules: []config.Schedule{{Name: "often", Every: "1m"}}}}
	reg := jobs.NewRegistry()
	reg.MustRegister("quick", outageSync{})
	eng, err := jetjobs.New(cfg, reg, jetjobs.WithLogger(jetjobstest.TestLogger(t, "error")))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err = eng.Start(ctx)
	eng.Stop()
	if err == nil || !strings.Contains(err.Error(), "jobs.quick.schedules[0]: quick is a sync job") {
		t.Fatalf("Start: %v", err)
	}
}
