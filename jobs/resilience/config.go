package resilience

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// KeyPrefix is where Config sits in the configuration tree; Validate's
// errors name their key under it.
const KeyPrefix = "orchestration.resiliency."

// Config is `orchestration.resiliency:`, the policies around every stage,
// with the original library's (Resilience4j's) flat property names as yaml
// tags and its defaults. The configuration tree holds this type as is
// (internal/config), so the keys, their defaults (DefaultConfig) and their
// checks (Validate) are said here only (docs/configuration.md).
type Config struct {
	// Circuit breaker (breaker.go): one per job type, count-based window.
	CircuitBreakerEnabled         bool          `yaml:"circuit-breaker-enabled"`                                      // default true
	FailureRateThreshold          float64       `yaml:"circuit-breaker-failure-rate-threshold"`                       // default 50 (percent of failed calls in the window that opens it)
	SlowCallRateThreshold         float64       `yaml:"circuit-breaker-slow-call-rate-threshold"`                     // default 100 (percent of slow calls that opens it)
	SlowCallDurationThreshold     time.Duration `yaml:"circuit-breaker-slow-call-duration-threshold"`                 // default 60s (a call longer than this is slow)
	WaitDurationInOpenState       time.Duration `yaml:"circuit-breaker-wait-duration-in-open-state"`                  // default 60s (then half-open)
	PermittedCallsInHalfOpenState int           `yaml:"circuit-breaker-permitted-number-of-calls-in-half-open-state"` // default 10 (successes in half-open that close it)
	SlidingWindowSize             int           `yaml:"circuit-breaker-sliding-window-size"`                          // default 100 (calls the rates are computed over)
	MinimumNumberOfCalls          int           `yaml:"circuit-breaker-minimum-number-of-calls"`                      // default 10 (calls before the rates count)

	// Retry: attempts with exponential backoff and jitter (Backoff).
	RetryEnabled      bool          `yaml:"retry-enabled"`       // default true
	RetryMaxAttempts  int           `yaml:"retry-max-attempts"`  // default 3 (attempts in all, the first included)
	RetryWaitDuration time.Duration `yaml:"retry-wait-duration"` // default 5s (first backoff; doubles each retry, ±50% jitter)

	// Rate limiter: permits per job type (golang.org/x/time/rate).
	RateLimiterEnabled            bool          `yaml:"rate-limiter-enabled"`              // default false
	RateLimiterLimitForPeriod     int           `yaml:"rate-limiter-limit-for-period"`     // default 100 (permits)
	RateLimiterLimitRefreshPeriod time.Duration `yaml:"rate-limiter-limit-refresh-period"` // default 1s (per this period)
	RateLimiterTimeoutDuration    time.Duration `yaml:"rate-limiter-timeout-duration"`     // default 5s (longest wait for a permit)

	// Bulkhead: calls of one job type running at once.
	BulkheadEnabled            bool          `yaml:"bulkhead-enabled"`              // default false
	BulkheadMaxConcurrentCalls int           `yaml:"bulkhead-max-concurrent-calls"` // default 25
	BulkheadMaxWaitDuration    time.Duration `yaml:"bulkhead-max-wait-duration"`    // default 500ms (longest wait for a slot)

	// Timeout (jetjobs): a stage's context is cancelled after StageTimeout,
	// or the job's own (jobs.JobOptions.StageTimeout, jobs.<name>.stage-timeout).
	TimeoutEnabled bool          `yaml:"timeout-enabled"` // default true
	StageTimeout   time.Duration `yaml:"stage-timeout"`   // default 60s
}

// DefaultConfig is the documented defaults, switches included: the one
// place they are said. internal/config's Default takes them from here.
func DefaultConfig() Config {
	return Config{
		CircuitBreakerEnabled:         true,
		FailureRateThreshold:          50,
		SlowCallRateThreshold:         100,
		SlowCallDurationThreshold:     60 * time.Second,
		WaitDurationInOpenState:       60 * time.Second,
		PermittedCallsInHalfOpenState: 10,
		SlidingWindowSize:             100,
		MinimumNumberOfCalls:          10,

		RetryEnabled:      true,
		RetryMaxAttempts:  3,
		RetryWaitDuration: 5 * time.Second,

		RateLimiterEnabled:            false,
		RateLimiterLimitForPeriod:     100,
		RateLimiterLimitRefreshPeriod: time.Second,
		RateLimiterTimeoutDuration:    5 * time.Second,

		BulkheadEnabled:            false,
		BulkheadMaxConcurrentCalls: 25,
		BulkheadMaxWaitDuration:    500 * time.Millisecond,

		TimeoutEnabled: true,
		StageTimeout:   60 * time.Second,
	}
}

// WithDefaults fills zero or negative numeric fields from DefaultConfig;
// the Enabled switches are left as given (a false switch is a choice).
func (c Config) WithDefaults() Config {
	d := DefaultConfig()
	num := func(v *float64, def float64) {
		if *v <= 0 {
			*v = def
		}
	}
	dur := func(v *time.Duration, def time.Duration) {
		if *v <= 0 {
			*v = def
		}
	}
	count := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	num(&c.FailureRateThreshold, d.FailureRateThreshold)
	num(&c.SlowCallRateThreshold, d.SlowCallRateThreshold)
	dur(&c.SlowCallDurationThreshold, d.SlowCallDurationThreshold)
	dur(&c.WaitDurationInOpenState, d.WaitDurationInOpenState)
	count(&c.PermittedCallsInHalfOpenState, d.PermittedCallsInHalfOpenState)
	count(&c.SlidingWindowSize, d.SlidingWindowSize)
	count(&c.MinimumNumberOfCalls, d.MinimumNumberOfCalls)
	count(&c.RetryMaxAttempts, d.RetryMaxAttempts)
	dur(&c.RetryWaitDuration, d.RetryWaitDuration)
	count(&c.RateLimiterLimitForPeriod, d.RateLimiterLimitForPeriod)
	dur(&c.RateLimiterLimitRefreshPeriod, d.RateLimiterLimitRefreshPeriod)
	dur(&c.RateLimiterTimeoutDuration, d.RateLimiterTimeoutDuration)
	count(&c.BulkheadMaxConcurrentCalls, d.BulkheadMaxConcurrentCalls)
	dur(&c.BulkheadMaxWaitDuration, d.BulkheadMaxWaitDuration)
	dur(&c.StageTimeout, d.StageTimeout)
	return c
}

// ConfigError is one bad setting of Config; Key is its full dotted key
// (orchestration.resiliency.retry-max-attempts).
type ConfigError struct {
	Key     string
	Message string
}

func (e *ConfigError) Error() string { return e.Key + ": " + e.Message }

// Validate checks every setting, even of a policy that is off (so turning
// it on later cannot fail), and returns every problem joined, each a
// *ConfigError naming its key.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, &ConfigError{Key: KeyPrefix + key, Message: fmt.Sprintf(format, args...)})
	}
	percent := func(key string, v float64) {
		if !(v > 0 && v <= 100) { // written so NaN fails too
			bad(key, "must be in (0,100], got %v", v)
		}
	}
	atLeast1 := func(key string, v int) {
		if v < 1 {
			bad(key, "must be >= 1, got %d", v)
		}
	}
	positive := func(key string, d time.Duration) {
		if d <= 0 {
			bad(key, "must be > 0, got %s", formatDuration(d))
		}
	}
	nonNegative := func(key string, d time.Duration) {
		if d < 0 {
			bad(key, "must be >= 0, got %s", formatDuration(d))
		}
	}
	percent("circuit-breaker-failure-rate-threshold", c.FailureRateThreshold)
	percent("circuit-breaker-slow-call-rate-threshold", c.SlowCallRateThreshold)
	positive("circuit-breaker-slow-call-duration-threshold", c.SlowCallDurationThreshold)
	positive("circuit-breaker-wait-duration-in-open-state", c.WaitDurationInOpenState)
	atLeast1("circuit-breaker-permitted-number-of-calls-in-half-open-state", c.PermittedCallsInHalfOpenState)
	atLeast1("circuit-breaker-sliding-window-size", c.SlidingWindowSize)
	atLeast1("circuit-breaker-minimum-number-of-calls", c.MinimumNumberOfCalls)
	atLeast1("retry-max-attempts", c.RetryMaxAttempts)
	nonNegative("retry-wait-duration", c.RetryWaitDuration)
	atLeast1("rate-limiter-limit-for-period", c.RateLimiterLimitForPeriod)
	positive("rate-limiter-limit-refresh-period", c.RateLimiterLimitRefreshPeriod)
	nonNegative("rate-limiter-timeout-duration", c.RateLimiterTimeoutDuration)
	atLeast1("bulkhead-max-concurrent-calls", c.BulkheadMaxConcurrentCalls)
	nonNegative("bulkhead-max-wait-duration", c.BulkheadMaxWaitDuration)
	positive("stage-timeout", c.StageTimeout)
	if c.MinimumNumberOfCalls > c.SlidingWindowSize {
		bad("circuit-breaker-minimum-number-of-calls",
			"%d is larger than circuit-breaker-sliding-window-size (%d): the breaker could never open",
			c.MinimumNumberOfCalls, c.SlidingWindowSize)
	}
	return errors.Join(errs...)
}

// formatDuration writes 2m, 1h, 1m30s instead of 2m0s, 1h0m0s, as the
// configuration file spells durations.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
