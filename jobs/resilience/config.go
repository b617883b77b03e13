package resilience

import (
	"errors"
	"fmt"
	"time"
)

// Config is orchestration.resiliency.* with the original names' meaning.
// Zero values take the defaults in comments (those of the Spring library).
type Config struct {
	CircuitBreakerEnabled         bool          // true (set by the engine from config)
	FailureRateThreshold          float64       // 50: percent of failed calls in the window that opens the breaker
	SlowCallRateThreshold         float64       // 100: percent of slow calls in the window that opens it
	SlowCallDurationThreshold     time.Duration // 60s: a call longer than this is slow
	WaitDurationInOpenState       time.Duration // 60s: then half-open
	PermittedCallsInHalfOpenState int           // 10: successes in half-open that close it
	SlidingWindowSize             int           // 100: calls the rates are computed over
	MinimumNumberOfCalls          int           // 10: calls before the rates count

	RetryEnabled      bool          // true
	RetryMaxAttempts  int           // 3: attempts in all, the first included
	RetryWaitDuration time.Duration // 5s: first backoff; doubles each retry, with ±50% jitter

	RateLimiterEnabled            bool          // false
	RateLimiterLimitForPeriod     int           // 100 permits
	RateLimiterLimitRefreshPeriod time.Duration // per 1s
	RateLimiterTimeoutDuration    time.Duration // 5s: longest wait for a permit

	BulkheadEnabled            bool          // false
	BulkheadMaxConcurrentCalls int           // 25 calls of one job type at once
	BulkheadMaxWaitDuration    time.Duration // 500ms: longest wait for a slot

	TimeoutEnabled bool          // true
	StageTimeout   time.Duration // 60s: a stage's context is cancelled after this
}

// WithDefaults fills zero numeric fields; the Enabled switches are left as
// given.
func (c Config) WithDefaults() Config {
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	defInt := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	if c.FailureRateThreshold <= 0 {
		c.FailureRateThreshold = 50
	}
	if c.SlowCallRateThreshold <= 0 {
		c.SlowCallRateThreshold = 100
	}
	def(&c.SlowCallDurationThreshold, 60*time.Second)
	def(&c.WaitDurationInOpenState, 60*time.Second)
	defInt(&c.PermittedCallsInHalfOpenState, 10)
	defInt(&c.SlidingWindowSize, 100)
	defInt(&c.MinimumNumberOfCalls, 10)
	defInt(&c.RetryMaxAttempts, 3)
	def(&c.RetryWaitDuration, 5*time.Second)
	defInt(&c.RateLimiterLimitForPeriod, 100)
	def(&c.RateLimiterLimitRefreshPeriod, time.Second)
	def(&c.RateLimiterTimeoutDuration, 5*time.Second)
	defInt(&c.BulkheadMaxConcurrentCalls, 25)
	def(&c.BulkheadMaxWaitDuration, 500*time.Millisecond)
	def(&c.StageTimeout, 60*time.Second)
	return c
}

// Validate names the first bad setting by its configuration key.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("orchestration.resiliency.%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if c.FailureRateThreshold <= 0 || c.FailureRateThreshold > 100 {
		bad("circuit-breaker-failure-rate-threshold", "must be in (0,100], got %v", c.FailureRateThreshold)
	}
	if c.SlowCallRateThreshold <= 0 || c.SlowCallRateThreshold > 100 {
		bad("circuit-breaker-slow-call-rate-threshold", "must be in (0,100], got %v", c.SlowCallRateThreshold)
	}
	if c.MinimumNumberOfCalls > c.SlidingWindowSize {
		bad("circuit-breaker-minimum-number-of-calls", "%d is larger than the sliding window (%d): the breaker could never open",
			c.MinimumNumberOfCalls, c.SlidingWindowSize)
	}
	return errors.Join(errs...)
}
