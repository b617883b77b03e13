package jobs_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/jobs"
	"github.com/jetjobs/jetjobs/kv"
)

// reconcileRig is one engine's reconciler parts on an embedded JetStream:
// the records in a KV bucket, the timers in JOBS_TIMERS.
type reconcileRig struct {
	js     jetstream.JetStream
	store  *kv.StateStore
	timers *bus.Timers
	rt     *jobs.Runtime
	events *events
	now    time.Time
}

func newReconcileRig(t testing.TB) *reconcileRig {
	t.Helper()
	srv, err := bus.StartEmbedded(bus.EmbeddedConfig{Port: -1, StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	nc, js, err := bus.Connect(bus.ConnConfig{URL: srv.ClientURL(), Name: t.Name()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	if err := bus.EnsureStreams(t.Context(), js, bus.StreamsConfig{}); err != nil {
		t.Fatal(err)
	}
	store, err := kv.NewStateStore(t.Context(), js, kv.StateConfig{Bucket: "RECONCILE_TEST"})
	if err != nil {
		t.Fatal(err)
	}
	reg := jobs.NewRegistry()
	reg.MustRegister("j", instant{})
	r := &reconcileRig{js: js, store: store, timers: bus.NewTimers(js, "jobs"), events: &events{}, now: time.Now()}
	r.rt = jobs.NewRuntime(reg, store, r.events, r.timers, jobs.RuntimeConfig{})
	return r
}

// create stores a record of job j.
func (r *reconcileRig) create(t testing.TB, id string, status jobs.Status, deadline time.Duration, pending bool) {
	t.Helper()
	if _, err := r.store.Create(t.Context(), &jobs.Execution{ExecutionID: id, JobType: "j", Mode: "async",
		Status: status, CreatedAt: r.now, UpdatedAt: r.now, Deadline: r.now.Add(deadline), Pending: pending}); err != nil {
		t.Fatal(err)
	}
}

// timer says how id's timer was armed: "" none, "arm" by Timers.Arm,
// "rearm" by Timers.Rearm (its dedup id); and how many messages its subject
// holds.
func (r *reconcileRig) timer(t *testing.T, id string) (string, uint64) {
	t.Helper()
	st, err := r.js.Stream(t.Context(), bus.StreamTimers)
	if err != nil {
		t.Fatal(err)
	}
	subj := bus.Subjects{Prefix: "jobs"}.TimerOf("j", id)
	info, err := st.Info(t.Context(), jetstream.WithSubjectFilter(subj))
	if err != nil {
		t.Fatal(err)
	}
	msg, err := st.GetLastMsgForSubject(t.Context(), subj)
	if err != nil {
		return "", info.State.Subjects[subj]
	}
	if strings.Contains(msg.Header.Get("Nats-Msg-Id"), ".re.") {
		return "rearm", info.State.Subjects[subj]
	}
	return "arm", info.State.Subjects[subj]
}

func (r *reconcileRig) status(t *testing.T, id string) jobs.Status {
	t.Helper()
	e, _, err := r.store.Get(t.Context(), "j", id)
	if err != nil {
		t.Fatal(err)
	}
	return e.Status
}

// oneByOne hides the bulk listing of bus.Timers: a TimerRepair that is not
// an ArmedLister, so every execution is looked up.
type oneByOne struct{ jobs.TimerRepair }

// wholeRecords hides the lean listing of kv.StateStore: a LiveExecutions
// that is not LiveSummaries, so a pass lists the whole records.
type wholeRecords struct{ jobs.LiveExecutions }

var (
	_ jobs.LiveExecutions = (*kv.StateStore)(nil)
	_ jobs.LiveSummaries  = (*kv.StateStore)(nil)
)

// A pass re-arms a lost timer, leaves an armed one alone, ends an
// execution past its deadline (plus the longest CHECK interval) TIMED_OUT
// armed or not, and skips ended records and claims: the same with the
// timers listed once per job type as with a lookup per execution, which
// it then makes only for the executions the listing did not show; and the
// same with the records listed whole (Live) as by their summaries.
func TestReconcilerPass(t *testing.T) {
	t.Parallel()
	type execution struct {
		id       string
		status   jobs.Status
		deadline time.Duration // from now
		pending  bool
		armed    bool
		// after the pass
		wantTimer  string // "", "arm", "rearm"
		wantStatus jobs.Status
	}
	executions := []execution{
		{"armed", jobs.StatusRunning, time.Hour, false, true, "arm", jobs.StatusRunning},
		{"armed-started", jobs.StatusStarted, time.Hour, false, true, "arm", jobs.StatusStarted},
		{"lost", jobs.StatusRunning, time.Hour, false, false, "rearm", jobs.StatusRunning},
		{"lost-started", jobs.StatusStarted, time.Hour, false, false, "rearm", jobs.StatusStarted},
		{"lost-past-deadline", jobs.StatusRunning, -time.Hour, false, false, "", jobs.StatusTimedOut},
		{"armed-past-deadline", jobs.StatusRunning, -time.Hour, false, true, "arm", jobs.StatusTimedOut},
		{"ended", jobs.StatusCompleted, time.Hour, false, false, "", jobs.StatusCompleted},
		{"claim", jobs.StatusStarted, time.Hour, true, false, "", jobs.StatusStarted},
	}
	for _, tc := range []struct {
		name        string
		bulk        bool
		whole       bool
		wantLookups int
	}{
		{"listed once", true, false, 2}, // the two lost ones
		{"one by one", false, false, 4}, // every live one before its deadline
		{"whole records", true, true, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newReconcileRig(t)
			for _, e := range executions {
				r.create(t, e.id, e.status, e.deadline, e.pending)
				if e.armed {
					if err := r.timers.Arm(t.Context(), "j", e.id, time.Hour); err != nil {
						t.Fatal(err)
					}
				}
			}
			var repair jobs.TimerRepair = r.timers
			if !tc.bulk {
				repair = oneByOne{r.timers}
			}
			var live jobs.LiveExecutions = r.store
			if tc.whole {
				live = wholeRecords{r.store}
			}
			rep, err := jobs.NewReconciler(r.rt, live, repair, jobs.ReconcilerConfig{}).Pass(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			want := jobs.ReconcileReport{Live: 6, Rearmed: 2, Expired: 2, Lookups: tc.wantLookups}
			if rep != want {
				t.Errorf("report %+v, want %+v", rep, want)
			}
			for _, e := range executions {
				if how, n := r.timer(t, e.id); how != e.wantTimer || n > 1 {
					t.Errorf("%s: timer %q (%d messages), want %q", e.id, how, n, e.wantTimer)
				}
				if s := r.status(t, e.id); s != e.wantStatus {
					t.Errorf("%s: %s, want %s", e.id, s, e.wantStatus)
				}
			}
			// The next pass finds every clock in place.
			rep, err = jobs.NewReconciler(r.rt, live, repair, jobs.ReconcilerConfig{}).Pass(t.Context())
			if err != nil || rep.Rearmed != 0 || rep.Expired != 0 || rep.Live != 4 {
				t.Errorf("second pass %+v, %v: want 4 live, nothing mended", rep, err)
			}
		})
	}
}

// duringPass changes the world while a pass runs: afterListing runs once
// the pass has listed the armed timers, beforeSeen just before the pass
// looks at an execution.
type duringPass struct {
	*bus.Timers
	live         *kv.StateStore
	afterListing func()
	beforeSeen   func(id string)
}

func (d *duringPass) ArmedSet(ctx context.Context, jobType string) (func(string) bool, error) {
	listed, err := d.Timers.ArmedSet(ctx, jobType)
	if d.afterListing != nil {
		d.afterListing()
	}
	return listed, err
}

func (d *duringPass) Live(ctx context.Context, jobType string, fn func(*jobs.Execution) error) error {
	return d.live.Live(ctx, jobType, func(e *jobs.Execution) error {
		if d.beforeSeen != nil {
			d.beforeSeen(e.ExecutionID)
		}
		return fn(e)
	})
}

func (d *duringPass) LiveSummary(ctx context.Context, jobType string, fn func(jobs.LiveSummary) error) error {
	return d.live.LiveSummary(ctx, jobType, func(e jobs.LiveSummary) error {
		if d.beforeSeen != nil {
			d.beforeSeen(e.ExecutionID)
		}
		return fn(e)
	})
}

var (
	_ jobs.ArmedLister    = (*duringPass)(nil)
	_ jobs.TimerRepair    = (*duringPass)(nil)
	_ jobs.LiveExecutions = (*duringPass)(nil)
	_ jobs.LiveSummaries  = (*duringPass)(nil)
)

// What happens while a pass runs is not undone by it: a timer armed after
// the listing (a START that just finished) is looked up, found and left
// as it is; an execution that ended or went after it was listed, its
// timer gone with it, is read again and not given a timer back.
func TestReconcilerPassRaces(t *testing.T) {
	t.Parallel()
	r := newReconcileRig(t)
	r.create(t, "started-late", jobs.StatusRunning, time.Hour, false)
	r.create(t, "ends", jobs.StatusRunning, time.Hour, false)
	r.create(t, "lost", jobs.StatusRunning, time.Hour, false)
	r.create(t, "goes", jobs.StatusRunning, time.Hour, false)
	d := &duringPass{Timers: r.timers, live: r.store}
	d.afterListing = func() {
		if err := r.timers.Arm(context.Background(), "j", "started-late", time.Hour); err != nil {
			t.Error(err)
		}
	}
	d.beforeSeen = func(id string) {
		if id != "ends" && id != "goes" {
			return
		}
		e, rev, err := r.store.Get(context.Background(), "j", id)
		if err != nil {
			t.Error(err)
			return
		}
		if id == "goes" {
			err = r.store.Delete(context.Background(), "j", id, rev)
		} else {
			e.Status = jobs.StatusCompleted
			_, err = r.store.Update(context.Background(), e, rev)
		}
		if err != nil {
			t.Error(err)
		}
	}
	rep, err := jobs.NewReconciler(r.rt, d, d, jobs.ReconcilerConfig{}).Pass(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if want := (jobs.ReconcileReport{Live: 4, Rearmed: 1, Lookups: 4}); rep != want {
		t.Errorf("report %+v, want %+v", rep, want)
	}
	for _, tc := range []struct{ id, want string }{{"started-late", "arm"}, {"ends", ""}, {"goes", ""}, {"lost", "rearm"}} {
		if how, n := r.timer(t, tc.id); how != tc.want || n > 1 {
			t.Errorf("%s: timer %q (%d messages), want %q", tc.id, how, n, tc.want)
		}
	}
}

// Two engines reconciling the same lost timers at once both succeed, and
// every execution ends up with exactly one timer.
func TestReconcilerPassTwoEngines(t *testing.T) {
	t.Parallel()
	r := newReconcileRig(t)
	const n = 40
	for i := range n {
		r.create(t, fmt.Sprintf("e-%02d", i), jobs.StatusRunning, time.Hour, false)
	}
	var wg sync.WaitGroup
	reps := make([]jobs.ReconcileReport, 2)
	errs := make([]error, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			reps[i], errs[i] = jobs.NewReconciler(r.rt, r.store, r.timers, jobs.ReconcilerConfig{}).Pass(t.Context())
		}()
	}
	wg.Wait()
	for i := range 2 {
		if errs[i] != nil || reps[i].Errors != 0 || reps[i].Live != n {
			t.Errorf("engine %d: %+v, %v", i, reps[i], errs[i])
		}
	}
	if got := reps[0].Rearmed + reps[1].Rearmed; got < n {
		t.Errorf("%d re-armed by both, want at least %d", got, n)
	}
	for i := range n {
		if how, count := r.timer(t, fmt.Sprintf("e-%02d", i)); how != "rearm" || count != 1 {
			t.Errorf("e-%02d: timer %q, %d messages; want one, re-armed", i, how, count)
		}
	}
}
