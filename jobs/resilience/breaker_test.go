package resilience_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jetjobs/jetjobs/jobs"
	"github.com/jetjobs/jetjobs/jobs/resilience"
)

const openWait = 10 * time.Second

// breakerConfig: window 10, minimum 5 calls, 50% failures, 10s open, 3
// successes in half-open close it. Only the breaker is enabled.
func breakerConfig() resilience.Config {
	return resilience.Config{
		CircuitBreakerEnabled:         true,
		FailureRateThreshold:          50,
		SlidingWindowSize:             10,
		MinimumNumberOfCalls:          5,
		WaitDurationInOpenState:       openWait,
		PermittedCallsInHalfOpenState: 3,
	}
}

// switchable is a stage that fails while fail is set.
type switchable struct {
	counted
	fail bool // set only between calls, from the test goroutine
}

func newSwitchable() *switchable {
	s := &switchable{fail: true}
	s.fn = func(context.Context, *jobs.Invocation) (*jobs.Response, error) {
		if s.fail {
			return nil, errBoom
		}
		return okResp, nil
	}
	return s
}

func call(h jobs.Handler, job string) (*jobs.Response, error) {
	return h(context.Background(), newInv(job))
}

func wantState(t *testing.T, p *resilience.Policies, job, want string) {
	t.Helper()
	if got := p.BreakerState(job); got != want {
		t.Fatalf("BreakerState(%q) = %q, want %q", job, got, want)
	}
}

func wantChanges(t *testing.T, rec *recorder, want ...string) {
	t.Helper()
	if got := rec.Changes(); !slices.Equal(got, want) {
		t.Fatalf("BreakerChanged calls = %q, want %q", got, want)
	}
}

// openBreaker makes 5 failing calls of job and checks the breaker opened.
func openBreaker(t *testing.T, p *resilience.Policies, h jobs.Handler, job string) {
	t.Helper()
	for range 5 {
		if _, err := call(h, job); !errors.Is(err, errBoom) {
			t.Fatalf("failing call: err = %v, want %v", err, errBoom)
		}
	}
	wantState(t, p, job, "open")
}

func TestBreakerLifecycle(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		p := resilience.New(breakerConfig(), rec)
		st := newSwitchable()
		h := jobs.Chain(st.handler, p.Middleware()...)

		// 4 failures, 0 successes: 100% failures but fewer than the
		// minimum number of calls, so it stays closed.
		for i := range 4 {
			if _, err := call(h, "j"); !errors.Is(err, errBoom) {
				t.Fatalf("call %d: err = %v, want the stage's own error", i+1, err)
			}
			wantState(t, p, "j", "closed")
		}
		wantChanges(t, rec)

		// The 5th failure reaches the minimum: open.
		if _, err := call(h, "j"); !errors.Is(err, errBoom) {
			t.Fatalf("5th call: err = %v, want the stage's own error", err)
		}
		wantState(t, p, "j", "open")
		wantChanges(t, rec, "j: closed->open")

		// Open: calls fail fast, the stage is not called.
		for range 3 {
			resp, err := call(h, "j")
			wantCode(t, err, jobs.CodeUnavailable)
			if resp != nil {
				t.Fatalf("refused call answered %+v", resp)
			}
		}
		if n := st.calls(); n != 5 {
			t.Fatalf("stage called %d times, want 5: an open breaker must not call it", n)
		}
		if got, want := rec.Rejections(), repeat("j/START/circuit_open", 3); !slices.Equal(got, want) {
			t.Fatalf("Rejected calls = %q, want %q", got, want)
		}

		// Still open just before the wait is over, half-open after it.
		time.Sleep(openWait - time.Millisecond)
		wantState(t, p, "j", "open")
		time.Sleep(2 * time.Millisecond)
		wantState(t, p, "j", "half-open")
		wantChanges(t, rec, "j: closed->open", "j: open->half-open")

		// permitted (3) successes close it; 2 do not.
		st.fail = false
		for i := range 3 {
			resp, err := call(h, "j")
			if err != nil || resp != okResp {
				t.Fatalf("half-open call %d = %v, %v; want the stage's response", i+1, resp, err)
			}
			if i < 2 {
				wantState(t, p, "j", "half-open")
			}
		}
		wantState(t, p, "j", "closed")
		wantChanges(t, rec, "j: closed->open", "j: open->half-open", "j: half-open->closed")
		if n := st.calls(); n != 8 {
			t.Fatalf("stage called %d times, want 8", n)
		}

		// Closed again with an empty window: 4 failures do not open it.
		st.fail = true
		for range 4 {
			call(h, "j")
		}
		wantState(t, p, "j", "closed")
	})
}

func TestBreakerFailureInHalfOpenReopens(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		p := resilience.New(breakerConfig(), rec)
		st := newSwitchable()
		h := jobs.Chain(st.handler, p.Middleware()...)

		openBreaker(t, p, h, "j")
		time.Sleep(openWait + time.Millisecond)
		wantState(t, p, "j", "half-open")

		// One success, then a failure: back to open at once.
		st.fail = false
		if _, err := call(h, "j"); err != nil {
			t.Fatal(err)
		}
		st.fail = true
		if _, err := call(h, "j"); !errors.Is(err, errBoom) {
			t.Fatalf("half-open failure: err = %v, want the stage's own error", err)
		}
		wantState(t, p, "j", "open")
		wantChanges(t, rec, "j: closed->open", "j: open->half-open", "j: half-open->open")

		before := st.calls()
		_, err := call(h, "j")
		wantCode(t, err, jobs.CodeUnavailable)
		if st.calls() != before {
			t.Fatal("reopened breaker called the stage")
		}

		// And it waits the full open duration again.
		time.Sleep(openWait - time.Millisecond)
		wantState(t, p, "j", "open")
		time.Sleep(2 * time.Millisecond)
		wantState(t, p, "j", "half-open")
	})
}

func TestBreakerFailureRateThreshold(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		p := resilience.New(breakerConfig(), nil)
		st := newSwitchable()
		h := jobs.Chain(st.handler, p.Middleware()...)

		// 6 successes then 4 failures: 40% < 50% after each call.
		st.fail = false
		for range 6 {
			call(h, "j")
		}
		st.fail = true
		for i := range 4 {
			call(h, "j")
			if s := p.BreakerState("j"); s != "closed" {
				t.Fatalf("after %d failures in %d calls (%.0f%%): state %q, want closed",
					i+1, 7+i, 100*float64(i+1)/float64(7+i), s)
			}
		}
		// A 5th failure pushes the oldest success out of the window of 10:
		// 5/10 = 50% reaches the threshold.
		call(h, "j")
		wantState(t, p, "j", "open")
	})
}

// Resilience4j evaluates the rates after every recorded call, a success
// included: 4 failures and then a success reach the minimum number of calls
// with 80% failures, which opens the breaker.
func TestBreakerTripsOnSuccessThatReachesMinimumCalls(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		p := resilience.New(breakerConfig(), nil)
		st := newSwitchable()
		h := jobs.Chain(st.handler, p.Middleware()...)

		for range 4 {
			call(h, "j")
		}
		wantState(t, p, "j", "closed")
		st.fail = false
		resp, err := call(h, "j")
		if err != nil || resp != okResp {
			t.Fatalf("5th call = %v, %v; want the stage's success, untouched", resp, err)
		}
		wantState(t, p, "j", "open")
	})
}

func TestBreakerSlowCalls(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		cfg := breakerConfig()
		cfg.SlowCallDurationThreshold = time.Second
		cfg.SlowCallRateThreshold = 50
		rec := &recorder{}
		p := resilience.New(cfg, rec)
		st := &counted{fn: func(context.Context, *jobs.Invocation) (*jobs.Response, error) {
			time.Sleep(2 * time.Second)
			return okResp, nil
		}}
		h := jobs.Chain(st.handler, p.Middleware()...)

		for i := range 5 {
			start := time.Now()
			resp, err := call(h, "j")
			if err != nil || resp != okResp {
				t.Fatalf("slow call %d = %v, %v; want the stage's success", i+1, resp, err)
			}
			if d := time.Since(start); d != 2*time.Second {
				t.Fatalf("slow call %d took %v, want 2s", i+1, d)
			}
			if want := map[bool]string{true: "closed", false: "open"}[i < 4]; p.BreakerState("j") != want {
				t.Fatalf("after %d slow calls: state %q, want %q", i+1, p.BreakerState("j"), want)
			}
		}
		wantChanges(t, rec, "j: closed->open")
		_, err := call(h, "j")
		wantCode(t, err, jobs.CodeUnavailable)
		if n := st.calls(); n != 5 {
			t.Fatalf("stage called %d times, want 5", n)
		}
	})
}

func TestBreakerFastCallsAreNotSlow(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		cfg := breakerConfig()
		cfg.SlowCallDurationThreshold = time.Second
		cfg.SlowCallRateThreshold = 50
		p := resilience.New(cfg, nil)
		h := jobs.Chain(func(context.Context, *jobs.Invocation) (*jobs.Response, error) {
			time.Sleep(time.Second) // at the threshold, not over it
			return okResp, nil
		}, p.Middleware()...)
		for range 10 {
			call(h, "j")
		}
		wantState(t, p, "j", "closed")
	})
}

func TestBreakerIgnoresClientErrors(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		p := resilience.New(breakerConfig(), nil)
		paramErr := &jobs.ParamError{Name: "n", Problem: "is required"}
		clientErrs := []error{
			paramErr,
			fmt.Errorf("wrapped: %w", paramErr),
			jobs.Errorf(jobs.CodeInvalidArgument, "bad body"),
			jobs.Errorf(jobs.CodeNotFound, "no such execution"),
			jobs.Errorf(jobs.CodeConflict, "illegal transition"),
		}
		var next int
		st := &counted{fn: func(context.Context, *jobs.Invocation) (*jobs.Response, error) {
			err := clientErrs[next%len(clientErrs)]
			next++
			return nil, err
		}}
		h := jobs.Chain(st.handler, p.Middleware()...)

		for i := range 10 {
			_, err := call(h, "j")
			if want := clientErrs[i%len(clientErrs)]; err != want {
				t.Fatalf("call %d: err = %v, want the stage's own error %v", i+1, err, want)
			}
		}
		wantState(t, p, "j", "closed")
		if n := st.calls(); n != 10 {
			t.Fatalf("stage called %d times, want 10", n)
		}

		// They did not fill the window either: it still takes exactly 5
		// real failures to open.
		fail := jobs.Chain(failing(errBoom), p.Middleware()...)
		for range 4 {
			call(fail, "j")
		}
		wantState(t, p, "j", "closed")
		call(fail, "j")
		wantState(t, p, "j", "open")
	})
}

func TestBreakerPerJobType(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		p := resilience.New(breakerConfig(), rec)
		st := &counted{fn: func(_ context.Context, inv *jobs.Invocation) (*jobs.Response, error) {
			if inv.Job.Name == "a" {
				return nil, errBoom
			}
			return okResp, nil
		}}
		h := jobs.Chain(st.handler, p.Middleware()...)

		openBreaker(t, p, h, "a")
		wantState(t, p, "b", "closed")
		resp, err := call(h, "b")
		if err != nil || resp != okResp {
			t.Fatalf("job b = %v, %v; want its stage's success", resp, err)
		}
		wantState(t, p, "b", "closed")
		_, err = call(h, "a")
		wantCode(t, err, jobs.CodeUnavailable)
		if n := st.calls(); n != 6 {
			t.Fatalf("stage called %d times, want 6 (5 of a, 1 of b)", n)
		}
		wantChanges(t, rec, "a: closed->open")
	})
}
