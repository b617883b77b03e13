package resilience_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jetjobs/jetjobs/jobs"
	"github.com/jetjobs/jetjobs/jobs/resilience"
)

// rateConfig: 10 permits per second, waiting at most timeout for one
// (Config has no "do not wait": zero takes the 5s default).
func rateConfig(timeout time.Duration) resilience.Config {
	return resilience.Config{
		RateLimiterEnabled:            true,
		RateLimiterLimitForPeriod:     10,
		RateLimiterLimitRefreshPeriod: time.Second,
		RateLimiterTimeoutDuration:    timeout,
	}
}

// burst makes n concurrent calls of job and returns how many were
// admitted by the stage counter and the errors of the others.
func burst(t *testing.T, h jobs.Handler, st *counted, job string, n int) (admitted int, errs []error) {
	t.Helper()
	before := st.calls()
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			_, err := h(context.Background(), newInv(job))
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return st.calls() - before, errs
}

func TestRateLimiterBurst(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		p := resilience.New(rateConfig(time.Millisecond), rec)
		st := &counted{fn: ok}
		h := jobs.Chain(st.handler, p.Middleware()...)

		start := time.Now()
		admitted, errs := burst(t, h, st, "j", 15)
		if admitted != 10 || len(errs) != 5 {
			t.Fatalf("burst of 15: %d admitted, %d refused; want 10 and 5", admitted, len(errs))
		}
		for _, err := range errs {
			wantCode(t, err, jobs.CodeRejected)
		}
		if got, want := rec.Rejections(), repeat("j/START/rate_limited", 5); !slices.Equal(got, want) {
			t.Fatalf("Rejected = %q, want %q", got, want)
		}
		if d := time.Since(start); d > time.Millisecond {
			t.Fatalf("burst took %v, want refusals within the 1ms timeout", d)
		}

		// Another job type has its own permits.
		if admitted, errs := burst(t, h, st, "other", 10); admitted != 10 || len(errs) != 0 {
			t.Fatalf("job other: %d admitted, %d refused; want 10 and 0", admitted, len(errs))
		}

		// A refresh period later there are 10 permits again, not more.
		time.Sleep(time.Second)
		admitted, errs = burst(t, h, st, "j", 15)
		if admitted != 10 || len(errs) != 5 {
			t.Fatalf("after 1s, burst of 15: %d admitted, %d refused; want 10 and 5", admitted, len(errs))
		}
	})
}

func TestRateLimiterWaitsForPermit(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		p := resilience.New(rateConfig(time.Second), rec)
		st := &counted{fn: ok}
		h := jobs.Chain(st.handler, p.Middleware()...)

		if admitted, errs := burst(t, h, st, "j", 10); admitted != 10 || len(errs) != 0 {
			t.Fatalf("first 10: %d admitted, %d refused", admitted, len(errs))
		}
		start := time.Now()
		resp, err := h(context.Background(), newInv("j"))
		if err != nil || resp != okResp {
			t.Fatalf("11th call = %v, %v; want it admitted after a wait", resp, err)
		}
		within(t, "11th call's wait", time.Since(start), time.Nanosecond, time.Second)
		if n := len(rec.Rejections()); n != 0 {
			t.Fatalf("Rejected called %d times, want 0", n)
		}
	})
}

func TestRateLimiterCallerCancelled(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		p := resilience.New(rateConfig(time.Second), rec)
		st := &counted{fn: ok}
		h := jobs.Chain(st.handler, p.Middleware()...)
		burst(t, h, st, "j", 10)

		// The 11th call waits for a permit; its caller goes away first.
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		time.AfterFunc(50*time.Millisecond, cancel)
		_, err := h(ctx, newInv("j"))
		if err != context.Canceled {
			t.Fatalf("err = %v, want the caller's own context error", err)
		}
		if st.calls() != 10 || len(rec.Rejections()) != 0 {
			t.Fatalf("stage calls %d, rejections %d; want 10, 0", st.calls(), len(rec.Rejections()))
		}
	})
}
