package saga

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// The saga rules without a server: which runs start when, per policy.

var t0 = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

// diamond is a → {b, c} → d, each of a, b, c with a compensation.
func diamond(t *testing.T, p Policy, critical bool) *Definition {
	t.Helper()
	comp := func() *Compensation {
		return &Compensation{Job: "undo", Critical: critical, Retry: Retry{MaxAttempts: 1}}
	}
	d := &Definition{Name: "diamond", Compensation: p, Steps: []Step{
		{Name: "a", Job: "work", Compensate: comp()},
		{Name: "b", Job: "work", DependsOn: []string{"a"}, Compensate: comp()},
		{Name: "c", Job: "work", DependsOn: []string{"a"}, Compensate: comp()},
		{Name: "d", Job: "work", DependsOn: []string{"b", "c"}},
	}}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	return d
}

func asyncMode(string, Mode) Mode { return ModeAsync }

// running lists the runs in RUNNING, "x" for a step, "x-c" for its
// compensation.
func running(in *Instance) []string {
	var out []string
	for _, s := range in.Steps {
		if s.Run.Status == RunRunning {
			out = append(out, s.Name)
		}
		if s.Comp != nil && s.Comp.Status == RunRunning {
			out = append(out, s.Name+"-c")
		}
	}
	return out
}

func mustEnd(t *testing.T, d *Definition, in *Instance, step string, comp bool, o outcome) {
	t.Helper()
	r := in.run(step, comp)
	if !endRun(d, in, step, comp, r.ExecutionID, o, t0) {
		t.Fatalf("endRun(%s, comp=%v) changed nothing: %s", step, comp, dump(in))
	}
}

func wantRunning(t *testing.T, in *Instance, want ...string) {
	t.Helper()
	if got := running(in); !slices.Equal(got, want) {
		t.Fatalf("running %v, want %v", got, want)
	}
}

func outboxTypes(in *Instance) []string {
	var out []string
	for _, e := range in.Outbox {
		out = append(out, e.Data.EventType)
	}
	return out
}

var ok = outcome{ok: true}

func failDiamond(t *testing.T, d *Definition) *Instance {
	t.Helper()
	in := newInstance(d, "s1", nil, asyncMode, t0)
	wantRunning(t, in, "a")
	mustEnd(t, d, in, "a", false, ok)
	wantRunning(t, in, "b", "c")
	mustEnd(t, d, in, "b", false, ok)
	mustEnd(t, d, in, "c", false, ok)
	wantRunning(t, in, "d")
	mustEnd(t, d, in, "d", false, outcome{err: "boom"})
	if in.Status != StatusCompensating || in.Failed != "d" || in.Error != "step d failed: boom" {
		t.Fatalf("after failure: %s", dump(in))
	}
	return in
}

func TestStrictSequentialCompensation(t *testing.T) {
	t.Parallel()
	d := diamond(t, StrictSequential, false)
	in := failDiamond(t, d)
	for _, next := range []string{"c", "b", "a"} { // reverse completion order
		wantRunning(t, in, next+"-c")
		mustEnd(t, d, in, next, true, ok)
	}
	if in.Status != StatusCompensated {
		t.Fatalf("status %s", in.Status)
	}
	want := []string{EventStarted, EventStepCompleted, EventStepCompleted, EventStepCompleted, EventCompensating, EventCompensated}
	if got := outboxTypes(in); !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
}

func TestGroupedParallelCompensation(t *testing.T) {
	t.Parallel()
	d := diamond(t, GroupedParallel, false)
	in := failDiamond(t, d)
	wantRunning(t, in, "b-c", "c-c") // layer 1 together
	mustEnd(t, d, in, "c", true, ok)
	wantRunning(t, in, "b-c") // a waits for the whole layer
	mustEnd(t, d, in, "b", true, ok)
	wantRunning(t, in, "a-c")
	mustEnd(t, d, in, "a", true, ok)
	if in.Status != StatusCompensated {
		t.Fatalf("status %s", in.Status)
	}
}

func TestBestEffortParallelCompensation(t *testing.T) {
	t.Parallel()
	d := diamond(t, BestEffortParallel, true)
	in := failDiamond(t, d)
	wantRunning(t, in, "a-c", "b-c", "c-c")
	mustEnd(t, d, in, "b", true, outcome{err: "cannot undo"}) // critical, but the others run anyway
	mustEnd(t, d, in, "a", true, ok)
	mustEnd(t, d, in, "c", true, ok)
	if in.Status != StatusFailed || !strings.Contains(in.CompError, "compensation of step b failed: cannot undo") {
		t.Fatalf("after a failed compensation: %s", dump(in))
	}
}

// A critical compensation that fails holds back the rest; a non-critical
// one does not. Both end FAILED, and Resume retries what is left.
func TestCriticalCompensationAndResume(t *testing.T) {
	t.Parallel()
	for _, critical := range []bool{true, false} {
		d := diamond(t, StrictSequential, critical)
		in := failDiamond(t, d)
		mustEnd(t, d, in, "c", true, outcome{err: "cannot undo"})
		if critical {
			if in.Status != StatusFailed || !in.Halted || in.step("b").Comp.Status != RunPending {
				t.Fatalf("critical failure: %s", dump(in))
			}
		} else {
			wantRunning(t, in, "b-c")
			mustEnd(t, d, in, "b", true, ok)
			mustEnd(t, d, in, "a", true, ok)
			if in.Status != StatusFailed || in.Halted {
				t.Fatalf("non-critical failure: %s", dump(in))
			}
		}
		if err := resume(d, in, t0); err != nil {
			t.Fatal(err)
		}
		wantRunning(t, in, "c-c")
		if r := in.step("c").Comp; r.Attempt != 2 || r.ExecutionID != "s1-c-c2" || r.MaxAttempts != 2 {
			t.Fatalf("resumed run: %+v", r)
		}
		mustEnd(t, d, in, "c", true, ok)
		if critical {
			mustEnd(t, d, in, "b", true, ok)
			mustEnd(t, d, in, "a", true, ok)
		}
		if in.Status != StatusCompensated || in.CompError != "" {
			t.Fatalf("after resume: %s", dump(in))
		}
		if err := resume(d, in, t0); err == nil {
			t.Fatal("a COMPENSATED saga was resumed")
		}
	}
}

// A step still running when another fails is waited for; if it completes,
// it is compensated too, first.
func TestLateCompletionIsCompensated(t *testing.T) {
	t.Parallel()
	d := diamond(t, StrictSequential, false)
	in := newInstance(d, "s1", nil, asyncMode, t0)
	mustEnd(t, d, in, "a", false, ok)
	mustEnd(t, d, in, "b", false, outcome{err: "boom"})
	wantRunning(t, in, "c") // compensation waits for c
	if in.Status != StatusCompensating || in.step("d").Run.Status != RunSkipped {
		t.Fatalf("%s", dump(in))
	}
	mustEnd(t, d, in, "c", false, ok)
	wantRunning(t, in, "c-c")
	mustEnd(t, d, in, "c", true, ok)
	wantRunning(t, in, "a-c")
}

func TestStaleOutcomesChangeNothing(t *testing.T) {
	t.Parallel()
	d := diamond(t, StrictSequential, false)
	in := newInstance(d, "s1", nil, asyncMode, t0)
	if endRun(d, in, "a", false, "s1-a-r2", ok, t0) || endRun(d, in, "b", false, "s1-b", ok, t0) {
		t.Fatal("an outcome for another attempt or a pending step was applied")
	}
	mustEnd(t, d, in, "a", false, ok)
	if endRun(d, in, "a", false, "s1-a", outcome{err: "late"}, t0) {
		t.Fatal("a redelivered outcome was applied twice")
	}
	if n := len(in.Completed); n != 1 {
		t.Fatalf("completed %v", in.Completed)
	}
}

func TestStepRetryAndCancel(t *testing.T) {
	t.Parallel()
	d := &Definition{Name: "r", Steps: []Step{
		{Name: "a", Job: "work", Retry: Retry{MaxAttempts: 2, Backoff: time.Second, Jitter: 0.01}, Compensate: &Compensation{Job: "undo"}},
		{Name: "b", Job: "work"},
	}}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	in := newInstance(d, "s1", nil, asyncMode, t0)
	mustEnd(t, d, in, "a", false, outcome{err: "flaky"})
	a := in.step("a").Run
	if a.Status != RunWaiting || a.RetryAt == nil || a.RetryAt.Sub(t0) < 980*time.Millisecond {
		t.Fatalf("after a failed attempt: %+v", a)
	}
	if retryDue(d, in, "a", false, 2, t0) || !retryDue(d, in, "a", false, 1, t0) {
		t.Fatal("retryDue matched the wrong attempt")
	}
	if a := in.step("a").Run; a.Status != RunRunning || a.ExecutionID != "s1-a-r2" {
		t.Fatalf("second attempt: %+v", a)
	}
	mustEnd(t, d, in, "a", false, ok)
	if err := cancel(d, in, "no longer needed", t0); err != nil {
		t.Fatal(err)
	}
	wantRunning(t, in, "b") // the coordinator stops it
	mustEnd(t, d, in, "b", false, outcome{err: "job stopped"})
	mustEnd(t, d, in, "a", true, ok)
	if in.Status != StatusCancelled || in.Error != "cancelled: no longer needed" {
		t.Fatalf("cancelled: %s", dump(in))
	}
}

func TestExecutionIDs(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		comp    bool
		attempt int
		want    string
	}{{false, 1, "id-s"}, {false, 3, "id-s-r3"}, {true, 1, "id-s-c"}, {true, 2, "id-s-c2"}} {
		if got := executionID("id", "s", c.comp, c.attempt); got != c.want {
			t.Fatalf("executionID(%v, %d) = %s, want %s", c.comp, c.attempt, got, c.want)
		}
	}
}
