package resilience

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/jetjobs/jetjobs/jobs"
)

// Policies holds the state of every policy, one instance per job type,
// created on first use.
type Policies struct {
	cfg      Config
	listener Listener

	mu        sync.Mutex
	breakers  map[string]*breaker
	breakerOf sync.Map // job -> *breaker: breakers, read without mu
	limiters  map[string]*rate.Limiter
	bulkheads map[string]chan struct{}
}

// New builds the policies; l may be nil.
func New(cfg Config, l Listener) *Policies {
	if l == nil {
		l = NopListener{}
	}
	return &Policies{cfg: cfg.WithDefaults(), listener: l, breakers: map[string]*breaker{},
		limiters: map[string]*rate.Limiter{}, bulkheads: map[string]chan struct{}{}}
}

// Middleware returns the enabled policies in their order: retry, circuit
// breaker, rate limiter, timeout, bulkhead.
func (p *Policies) Middleware() []jobs.Middleware {
	var mws []jobs.Middleware
	if p.cfg.RetryEnabled {
		mws = append(mws, p.retry)
	}
	if p.cfg.CircuitBreakerEnabled {
		mws = append(mws, p.circuitBreaker)
	}
	if p.cfg.RateLimiterEnabled {
		mws = append(mws, p.rateLimit)
	}
	if p.cfg.TimeoutEnabled {
		mws = append(mws, p.timeout)
	}
	if p.cfg.BulkheadEnabled {
		mws = append(mws, p.bulkhead)
	}
	return mws
}

// refused reports whether err is a refusal by a policy: never retried,
// never counted by the breaker.
func refused(err error) bool {
	c := jobs.CodeOf(err)
	return c == jobs.CodeRejected || c == jobs.CodeUnavailable
}

// retry runs a stage up to RetryMaxAttempts times with exponential backoff
// and jitter. Permanent errors, refusals and a cancelled caller stop it.
func (p *Policies) retry(next jobs.Handler) jobs.Handler {
	return func(ctx context.Context, inv *jobs.Invocation) (*jobs.Response, error) {
		first := max(inv.Request.Attempt, 1)
		for attempt := 1; ; attempt++ {
			inv.Request.Attempt = first + attempt - 1
			resp, err := next(ctx, inv)
			if err == nil || attempt >= p.cfg.RetryMaxAttempts || jobs.IsPermanent(err) || refused(err) || ctx.Err() != nil {
				return resp, err
			}
			wait := Backoff(p.cfg.RetryWaitDuration, attempt)
			p.listener.Retried(inv.Job.Name, inv.Stage, attempt+1, jobs.ScrubberFrom(ctx).Error(err))
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return resp, err
			}
		}
	}
}

// Backoff is the wait after the n-th failed attempt (n from 1): base·2^(n-1)
// with ±50% jitter, so retries of many executions do not move in step.
func Backoff(base time.Duration, n int) time.Duration {
	d := float64(base) * float64(uint64(1)<<min(n-1, 20))
	return time.Duration(d * (0.5 + rand.Float64()))
}

// rateLimit takes a permit of the job type's limiter, waiting at most
// RateLimiterTimeoutDuration.
func (p *Policies) rateLimit(next jobs.Handler) jobs.Handler {
	return func(ctx context.Context, inv *jobs.Invocation) (*jobs.Response, error) {
		lim := p.limiter(inv.Job.Name)
		wctx, cancel := context.WithTimeout(ctx, p.cfg.RateLimiterTimeoutDuration)
		err := lim.Wait(wctx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			p.listener.Rejected(inv.Job.Name, inv.Stage, "rate_limited")
			return nil, jobs.Errorf(jobs.CodeRejected, "rate limit of job %q exceeded: %d calls per %s, no permit within %s",
				inv.Job.Name, p.cfg.RateLimiterLimitForPeriod, p.cfg.RateLimiterLimitRefreshPeriod, p.cfg.RateLimiterTimeoutDuration)
		}
		return next(ctx, inv)
	}
}

func (p *Policies) limiter(job string) *rate.Limiter {
	p.mu.Lock()
	defer p.mu.Unlock()
	lim, ok := p.limiters[job]
	if !ok {
		every := p.cfg.RateLimiterLimitRefreshPeriod / time.Duration(p.cfg.RateLimiterLimitForPeriod)
		lim = rate.NewLimiter(rate.Every(every), p.cfg.RateLimiterLimitForPeriod)
		p.limiters[job] = lim
	}
	return lim
}

// bulkhead bounds the calls of a job type running at once, waiting at most
// BulkheadMaxWaitDuration for a slot.
func (p *Policies) bulkhead(next jobs.Handler) jobs.Handler {
	return func(ctx context.Context, inv *jobs.Invocation) (*jobs.Response, error) {
		slots := p.slots(inv.Job.Name)
		select {
		case slots <- struct{}{}:
		default:
			t := time.NewTimer(p.cfg.BulkheadMaxWaitDuration)
			select {
			case slots <- struct{}{}:
				t.Stop()
			case <-ctx.Done():
				t.Stop()
				return nil, ctx.Err()
			case <-t.C:
				p.listener.Rejected(inv.Job.Name, inv.Stage, "bulkhead_full")
				return nil, jobs.Errorf(jobs.CodeRejected, "bulkhead of job %q is full: %d calls running, no slot within %s",
					inv.Job.Name, p.cfg.BulkheadMaxConcurrentCalls, p.cfg.BulkheadMaxWaitDuration)
			}
		}
		defer func() { <-slots }()
		return next(ctx, inv)
	}
}

func (p *Policies) slots(job string) chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	s, ok := p.bulkheads[job]
	if !ok {
		s = make(chan struct{}, p.cfg.BulkheadMaxConcurrentCalls)
		p.bulkheads[job] = s
	}
	return s
}

func timeoutError(inv *jobs.Invocation, limit time.Duration) error {
	return &jobs.Error{Code: jobs.CodeTimeout, Msg: fmt.Sprintf("%s of job %q timed out after %s", inv.Stage, inv.Job.Name, limit),
		Err: context.DeadlineExceeded}
}
