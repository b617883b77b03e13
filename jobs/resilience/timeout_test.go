package resilience_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jetjobs/jetjobs/jobs"
	"github.com/jetjobs/jetjobs/jobs/resilience"
)

func timeoutConfig() resilience.Config {
	return resilience.Config{TimeoutEnabled: true, StageTimeout: time.Second}
}

// ctxErr is where a stage leaves the error of its context.
type ctxErr struct{ v atomic.Value }

func (c *ctxErr) set(err error) { c.v.Store(&err) }
func (c *ctxErr) get() error {
	if p, ok := c.v.Load().(*error); ok {
		return *p
	}
	return nil
}

// waiting is a stage that honours its context: it ends when ctx is done or
// after d, whichever is first, and records ctx.Err().
func waiting(d time.Duration, seen *ctxErr) jobs.Handler {
	return func(ctx context.Context, _ *jobs.Invocation) (*jobs.Response, error) {
		select {
		case <-ctx.Done():
			seen.set(ctx.Err())
			return nil, ctx.Err()
		case <-time.After(d):
			seen.set(ctx.Err())
			return okResp, nil
		}
	}
}

func wantTimeout(t *testing.T, err error) {
	t.Helper()
	wantCode(t, err, jobs.CodeTimeout)
	if !errors.Is(err, jobs.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want errors.Is ErrTimeout and context.DeadlineExceeded", err)
	}
}

func TestTimeoutCancelsStage(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		p := resilience.New(timeoutConfig(), nil)
		var seen ctxErr
		h := jobs.Chain(waiting(time.Hour, &seen), p.Middleware()...)
		start := time.Now()
		resp, err := h(context.Background(), newInv("j"))
		wantTimeout(t, err)
		if resp != nil {
			t.Fatalf("resp = %+v, want none", resp)
		}
		if d := time.Since(start); d != time.Second {
			t.Fatalf("timed out after %v, want 1s", d)
		}
		synctest.Wait()
		if err := seen.get(); err != context.DeadlineExceeded {
			t.Fatalf("stage's ctx.Err() = %v, want context.DeadlineExceeded", err)
		}
	})
}

func TestTimeoutAnswersEvenIfStageIgnoresContext(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		p := resilience.New(timeoutConfig(), nil)
		var seen ctxErr
		var finished atomic.Bool
		h := jobs.Chain(func(ctx context.Context, _ *jobs.Invocation) (*jobs.Response, error) {
			time.Sleep(5 * time.Second) // a stage that never looks at ctx
			seen.set(ctx.Err())
			finished.Store(true)
			return okResp, nil
		}, p.Middleware()...)
		defer time.Sleep(5 * time.Second) // let the stage end, even on failure
		start := time.Now()
		resp, err := h(context.Background(), newInv("j"))
		wantTimeout(t, err)
		if resp != nil {
			t.Fatalf("resp = %+v, want the late result dropped", resp)
		}
		if d := time.Since(start); d != time.Second {
			t.Fatalf("timed out after %v, want 1s", d)
		}
		if finished.Load() {
			t.Fatal("stage already finished")
		}
		// The stage runs on; its context was cancelled all the same.
		time.Sleep(5 * time.Second)
		if !finished.Load() {
			t.Fatal("stage did not finish")
		}
		if err := seen.get(); err != context.DeadlineExceeded {
			t.Fatalf("stage's ctx.Err() = %v, want context.DeadlineExceeded", err)
		}
	})
}

func TestTimeoutJobOptionOverridesConfig(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		option time.Duration // JobOptions.StageTimeout
		stage  time.Duration // how long the stage takes
		wantTO bool
		at     time.Duration // when the call ends
	}{
		{"config applies without an option", 0, 2 * time.Second, true, time.Second},
		{"longer option lets a 2s stage finish", 3 * time.Second, 2 * time.Second, false, 2 * time.Second},
		{"shorter option cuts a 500ms stage", 200 * time.Millisecond, 500 * time.Millisecond, true, 200 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				p := resilience.New(timeoutConfig(), nil)
				var seen ctxErr
				h := jobs.Chain(waiting(tc.stage, &seen), p.Middleware()...)
				inv := newInv("j")
				inv.Job.Options.StageTimeout = tc.option
				start := time.Now()
				resp, err := h(context.Background(), inv)
				if tc.wantTO {
					wantTimeout(t, err)
				} else if err != nil || resp != okResp {
					t.Fatalf("h = %v, %v; want the stage's success", resp, err)
				}
				if d := time.Since(start); d != tc.at {
					t.Fatalf("call ended after %v, want %v", d, tc.at)
				}
			})
		})
	}
}

func TestTimeoutLeavesFastStageAlone(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		p := resilience.New(timeoutConfig(), nil)
		stageErr := jobs.Errorf(jobs.CodeFailed, "no")
		var seen ctxErr
		var fail atomic.Bool
		h := jobs.Chain(func(ctx context.Context, _ *jobs.Invocation) (*jobs.Response, error) {
			time.Sleep(999 * time.Millisecond)
			seen.set(ctx.Err())
			if fail.Load() {
				return nil, stageErr
			}
			return okResp, nil
		}, p.Middleware()...)

		resp, err := h(context.Background(), newInv("j"))
		if err != nil || resp != okResp || seen.get() != nil {
			t.Fatalf("h = %v, %v (stage ctx %v); want the stage's response, its ctx live", resp, err, seen.get())
		}
		fail.Store(true)
		if _, err := h(context.Background(), newInv("j")); err != stageErr {
			t.Fatalf("err = %v, want the stage's own error", err)
		}
	})
}

func TestTimeoutCallerCancelled(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		p := resilience.New(timeoutConfig(), nil)
		var seen ctxErr
		h := jobs.Chain(waiting(time.Hour, &seen), p.Middleware()...)
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		_, err := h(ctx, newInv("j"))
		if !errors.Is(err, context.Canceled) || jobs.CodeOf(err) == jobs.CodeTimeout {
			t.Fatalf("err = %v, want the caller's cancellation, not a timeout", err)
		}
	})
}

// A stage that outlives its timeout keeps running while retry starts the
// next attempt: it must not see (or race with) the next attempt's Request.
func TestTimeoutLateStageKeepsItsRequest(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		cfg := timeoutConfig()
		cfg.RetryEnabled = true
		cfg.RetryMaxAttempts = 2
		cfg.RetryWaitDuration = 100 * time.Millisecond
		p := resilience.New(cfg, nil)
		var late atomic.Int32
		st := &counted{}
		st.fn = func(_ context.Context, inv *jobs.Invocation) (*jobs.Response, error) {
			if st.calls() == 1 {
				time.Sleep(3 * time.Second) // ignores its context
				late.Store(int32(inv.Request.Attempt))
			}
			return okResp, nil
		}
		h := jobs.Chain(st.handler, p.Middleware()...)
		defer time.Sleep(5 * time.Second) // let the late stage end, even on failure
		inv := newInv("j")
		resp, err := h(context.Background(), inv)
		if err != nil || resp != okResp {
			t.Fatalf("h = %v, %v; want the second attempt's success", resp, err)
		}
		if inv.Request.Attempt != 2 {
			t.Fatalf("caller's Request.Attempt = %d, want 2", inv.Request.Attempt)
		}
		time.Sleep(3 * time.Second)
		if got := late.Load(); got != 1 {
			t.Fatalf("the timed-out first attempt read Request.Attempt = %d, want its own 1", got)
		}
	})
}

type ctxKey struct{}

// The stage's context behaves as context.WithTimeout's would: the
// deadline (or the caller's earlier one), the caller's values, derived
// contexts and AfterFunc ended with it, context.Cause, and cancelled once
// the stage has returned.
func TestTimeoutStageContext(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		p := resilience.New(timeoutConfig(), nil)
		var (
			deadline time.Time
			value    any
			derived  context.Context
			cause    error
			after    atomic.Bool
			stageCtx context.Context
		)
		h := jobs.Chain(func(ctx context.Context, _ *jobs.Invocation) (*jobs.Response, error) {
			stageCtx = ctx
			deadline, _ = ctx.Deadline()
			value = ctx.Value(ctxKey{})
			var cancel context.CancelFunc
			derived, cancel = context.WithCancel(ctx)
			defer cancel()
			context.AfterFunc(ctx, func() { after.Store(true) })
			<-derived.Done()
			cause = context.Cause(ctx)
			return nil, derived.Err()
		}, p.Middleware()...)
		start := time.Now()
		_, err := h(context.WithValue(context.Background(), ctxKey{}, "v"), newInv("j"))
		wantTimeout(t, err)
		synctest.Wait()
		if !deadline.Equal(start.Add(time.Second)) || value != "v" {
			t.Fatalf("stage saw deadline %v (want %v), value %v", deadline, start.Add(time.Second), value)
		}
		if derived.Err() != context.DeadlineExceeded || cause != context.DeadlineExceeded || !after.Load() {
			t.Fatalf("derived %v, cause %v, AfterFunc ran %v; want DeadlineExceeded, DeadlineExceeded, true",
				derived.Err(), cause, after.Load())
		}

		// A caller's earlier deadline is the stage's; the call ends with
		// the caller's error, not a timeout.
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		start = time.Now()
		_, err = h(ctx, newInv("j"))
		if err != ctx.Err() {
			t.Fatalf("err = %#v, want the caller's own %v, not a timeout error", err, ctx.Err())
		}
		synctest.Wait()
		if !deadline.Equal(start.Add(300 * time.Millisecond)) {
			t.Fatalf("stage saw deadline %v, want the caller's %v", deadline, start.Add(300*time.Millisecond))
		}

		// A stage that returns leaves its context cancelled.
		h = jobs.Chain(func(ctx context.Context, _ *jobs.Invocation) (*jobs.Response, error) {
			stageCtx = ctx
			return okResp, nil
		}, p.Middleware()...)
		if _, err := h(context.Background(), newInv("j")); err != nil {
			t.Fatal(err)
		}
		if stageCtx.Err() != context.Canceled {
			t.Fatalf("after the stage returned its ctx.Err() = %v, want context.Canceled", stageCtx.Err())
		}
		select {
		case <-stageCtx.Done():
		default:
			t.Fatal("after the stage returned its ctx is not done")
		}
	})
}
