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

const retryBase = time.Second

func retryConfig(maxAttempts int) resilience.Config {
	return resilience.Config{RetryEnabled: true, RetryMaxAttempts: maxAttempts, RetryWaitDuration: retryBase}
}

func TestRetryUntilSuccess(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		p := resilience.New(retryConfig(3), rec)
		var attempts []int
		var at []time.Time
		st := &counted{}
		st.fn = func(_ context.Context, inv *jobs.Invocation) (*jobs.Response, error) {
			attempts = append(attempts, inv.Request.Attempt)
			at = append(at, time.Now())
			if st.calls() < 3 {
				return nil, errBoom
			}
			return okResp, nil
		}
		h := jobs.Chain(st.handler, p.Middleware()...)

		inv := newInv("j")
		resp, err := h(context.Background(), inv)
		if err != nil || resp != okResp {
			t.Fatalf("h = %v, %v; want the third attempt's success", resp, err)
		}
		if n := st.calls(); n != 3 {
			t.Fatalf("stage called %d times, want 3", n)
		}
		if !slices.Equal(attempts, []int{1, 2, 3}) {
			t.Fatalf("Request.Attempt seen by the stage = %v, want [1 2 3]", attempts)
		}
		if inv.Request.Attempt != 3 {
			t.Errorf("caller's Request.Attempt = %d, want 3 (the runtime records it)", inv.Request.Attempt)
		}
		got := rec.Retries()
		if len(got) != 2 {
			t.Fatalf("Retried called %d times, want 2: %+v", len(got), got)
		}
		for i, r := range got {
			if r.job != "j" || r.stage != jobs.StageStart || r.attempt != i+2 || !errors.Is(r.err, errBoom) {
				t.Errorf("Retried #%d = %+v, want j START attempt %d after %v", i+1, r, i+2, errBoom)
			}
		}
		// Backoff: base·2^(n-1) with ±50% jitter.
		within(t, "first backoff", at[1].Sub(at[0]), retryBase/2, 3*retryBase/2)
		within(t, "second backoff", at[2].Sub(at[1]), retryBase, 3*retryBase)
	})
}

func TestRetryContinuesFromCallersAttempt(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		p := resilience.New(retryConfig(2), nil)
		var attempts []int
		h := jobs.Chain(func(_ context.Context, inv *jobs.Invocation) (*jobs.Response, error) {
			attempts = append(attempts, inv.Request.Attempt)
			return nil, errBoom
		}, p.Middleware()...)
		inv := newInv("j")
		inv.Request.Attempt = 4 // a redelivered command already tried 3 times
		h(context.Background(), inv)
		if !slices.Equal(attempts, []int{4, 5}) {
			t.Fatalf("attempts = %v, want [4 5]", attempts)
		}
	})
}

func TestRetryOnlyRetriableErrors(t *testing.T) {
	t.Parallel()
	paramErr := &jobs.ParamError{Name: "n", Problem: "must be an integer, got string"}
	for _, tc := range []struct {
		name  string
		err   error
		calls int
	}{
		{"transient error is retried", errBoom, 3},
		{"job failure code is retried", jobs.Errorf(jobs.CodeFailed, "downstream said no"), 3},
		{"timeout is retried", jobs.Errorf(jobs.CodeTimeout, "slow"), 3},
		{"permanent", jobs.Permanent(errBoom), 1},
		{"wrapped permanent", fmt.Errorf("stage: %w", jobs.Permanent(errBoom)), 1},
		{"param error", paramErr, 1},
		{"wrapped param error", fmt.Errorf("stage: %w", paramErr), 1},
		{"invalid argument", jobs.Errorf(jobs.CodeInvalidArgument, "bad"), 1},
		{"rejected (rate limiter, bulkhead)", jobs.Errorf(jobs.CodeRejected, "full"), 1},
		{"unavailable (open breaker)", jobs.Errorf(jobs.CodeUnavailable, "open"), 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				rec := &recorder{}
				p := resilience.New(retryConfig(3), rec)
				st := &counted{fn: failing(tc.err)}
				h := jobs.Chain(st.handler, p.Middleware()...)
				_, err := h(context.Background(), newInv("j"))
				if err != tc.err {
					t.Fatalf("err = %v, want the stage's own error %v", err, tc.err)
				}
				if n := st.calls(); n != tc.calls {
					t.Fatalf("stage called %d times, want %d", n, tc.calls)
				}
				if n := len(rec.Retries()); n != tc.calls-1 {
					t.Fatalf("Retried called %d times, want %d", n, tc.calls-1)
				}
			})
		})
	}
}

func TestRetryMaxAttempts(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		p := resilience.New(retryConfig(5), rec)
		st := &counted{fn: failing(errBoom)}
		h := jobs.Chain(st.handler, p.Middleware()...)
		start := time.Now()
		_, err := h(context.Background(), newInv("j"))
		if !errors.Is(err, errBoom) {
			t.Fatalf("err = %v, want the last attempt's error", err)
		}
		if n := st.calls(); n != 5 {
			t.Fatalf("stage called %d times, want RetryMaxAttempts = 5", n)
		}
		var got []int
		for _, r := range rec.Retries() {
			got = append(got, r.attempt)
		}
		if !slices.Equal(got, []int{2, 3, 4, 5}) {
			t.Fatalf("Retried attempts = %v, want [2 3 4 5]", got)
		}
		// Four backoffs of 1, 2, 4, 8s ±50%.
		within(t, "total wait", time.Since(start), 15*retryBase/2, 45*retryBase/2)
	})
}

func TestRetryStopsWhenContextCancelledDuringBackoff(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		p := resilience.New(retryConfig(3), nil)
		st := &counted{fn: failing(errBoom)}
		h := jobs.Chain(st.handler, p.Middleware()...)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		// The first backoff is at least base/2 = 500ms; cancel inside it.
		time.AfterFunc(100*time.Millisecond, cancel)
		start := time.Now()
		_, err := h(ctx, newInv("j"))
		if !errors.Is(err, errBoom) {
			t.Fatalf("err = %v, want the failed attempt's error", err)
		}
		if d := time.Since(start); d != 100*time.Millisecond {
			t.Fatalf("returned after %v, want at the cancellation (100ms)", d)
		}
		if n := st.calls(); n != 1 {
			t.Fatalf("stage called %d times, want 1", n)
		}
	})
}

func TestRetryStopsWhenContextCancelledByAttempt(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		p := resilience.New(retryConfig(3), nil)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		st := &counted{fn: func(context.Context, *jobs.Invocation) (*jobs.Response, error) {
			cancel() // the caller went away while the stage ran
			return nil, errBoom
		}}
		h := jobs.Chain(st.handler, p.Middleware()...)
		start := time.Now()
		h(ctx, newInv("j"))
		if n := st.calls(); n != 1 || time.Since(start) != 0 {
			t.Fatalf("stage called %d times over %v, want once, no backoff", n, time.Since(start))
		}
	})
}

// With retry and breaker, retry is outermost: every attempt is seen by the
// breaker, and once it opens the remaining attempts are refused and the
// refusal is not retried.
func TestRetryAroundBreaker(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		cfg := breakerConfig()
		cfg.RetryEnabled = true
		cfg.RetryMaxAttempts = 10
		cfg.RetryWaitDuration = 10 * time.Millisecond
		rec := &recorder{}
		p := resilience.New(cfg, rec)
		st := &counted{fn: failing(errBoom)}
		h := jobs.Chain(st.handler, p.Middleware()...)

		_, err := h(context.Background(), newInv("j"))
		wantCode(t, err, jobs.CodeUnavailable)
		if n := st.calls(); n != 5 {
			t.Fatalf("stage called %d times, want 5 (the breaker opens at the 5th failure)", n)
		}
		wantState(t, p, "j", "open")
		// Attempts 2..6 were announced, the 6th was refused and ended it.
		if n := len(rec.Retries()); n != 5 {
			t.Fatalf("Retried called %d times, want 5", n)
		}
		if got, want := rec.Rejections(), []string{"j/START/circuit_open"}; !slices.Equal(got, want) {
			t.Fatalf("Rejected = %q, want %q", got, want)
		}

		// A new call while open: one refusal, no retry, no wait.
		start := time.Now()
		_, err = h(context.Background(), newInv("j"))
		wantCode(t, err, jobs.CodeUnavailable)
		if st.calls() != 5 || len(rec.Retries()) != 5 || time.Since(start) != 0 {
			t.Fatalf("refused call: stage calls %d, retries %d, took %v; want 5, 5, 0",
				st.calls(), len(rec.Retries()), time.Since(start))
		}
	})
}

func TestBackoffBounds(t *testing.T) {
	t.Parallel()
	const base = 100 * time.Millisecond
	for n := 1; n <= 5; n++ {
		mid := base << (n - 1)
		lo, hi := mid/2, 3*mid/2
		seen := map[time.Duration]bool{}
		for range 1000 {
			d := resilience.Backoff(base, n)
			if d < lo || d > hi {
				t.Fatalf("Backoff(%v, %d) = %v, want within [%v, %v]", base, n, d, lo, hi)
			}
			seen[d] = true
		}
		if len(seen) < 100 {
			t.Errorf("Backoff(%v, %d): %d distinct values in 1000, want jitter", base, n, len(seen))
		}
	}
}
