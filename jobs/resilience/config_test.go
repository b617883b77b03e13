package resilience_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jetjobs/jetjobs/jobs/resilience"
)

func TestWithDefaults(t *testing.T) {
	t.Parallel()
	want := resilience.Config{
		FailureRateThreshold:          50,
		SlowCallRateThreshold:         100,
		SlowCallDurationThreshold:     60 * time.Second,
		WaitDurationInOpenState:       60 * time.Second,
		PermittedCallsInHalfOpenState: 10,
		SlidingWindowSize:             100,
		MinimumNumberOfCalls:          10,
		RetryMaxAttempts:              3,
		RetryWaitDuration:             5 * time.Second,
		RateLimiterLimitForPeriod:     100,
		RateLimiterLimitRefreshPeriod: time.Second,
		RateLimiterTimeoutDuration:    5 * time.Second,
		BulkheadMaxConcurrentCalls:    25,
		BulkheadMaxWaitDuration:       500 * time.Millisecond,
		StageTimeout:                  60 * time.Second,
	}
	if got := (resilience.Config{}).WithDefaults(); got != want {
		t.Fatalf("Config{}.WithDefaults() =\n%+v\nwant\n%+v", got, want)
	}

	// Set values and the switches are kept.
	set := resilience.Config{
		CircuitBreakerEnabled: true, RetryEnabled: true, TimeoutEnabled: true,
		FailureRateThreshold: 20, SlidingWindowSize: 7, RetryMaxAttempts: 1, StageTimeout: time.Millisecond,
	}
	got := set.WithDefaults()
	if !got.CircuitBreakerEnabled || !got.RetryEnabled || !got.TimeoutEnabled || got.RateLimiterEnabled || got.BulkheadEnabled {
		t.Errorf("switches changed: %+v", got)
	}
	if got.FailureRateThreshold != 20 || got.SlidingWindowSize != 7 || got.RetryMaxAttempts != 1 || got.StageTimeout != time.Millisecond {
		t.Errorf("set values changed: %+v", got)
	}
	if err := want.Validate(); err != nil {
		t.Errorf("defaults do not validate: %v", err)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		edit func(*resilience.Config)
		err  string // a key the error names; "" for valid
	}{
		{"defaults", func(*resilience.Config) {}, ""},
		{"threshold 100", func(c *resilience.Config) { c.FailureRateThreshold = 100 }, ""},
		{"min calls = window", func(c *resilience.Config) { c.MinimumNumberOfCalls, c.SlidingWindowSize = 10, 10 }, ""},
		{"failure threshold 0", func(c *resilience.Config) { c.FailureRateThreshold = 0 }, "orchestration.resiliency.circuit-breaker-failure-rate-threshold"},
		{"failure threshold negative", func(c *resilience.Config) { c.FailureRateThreshold = -1 }, "orchestration.resiliency.circuit-breaker-failure-rate-threshold"},
		{"failure threshold 150", func(c *resilience.Config) { c.FailureRateThreshold = 150 }, "orchestration.resiliency.circuit-breaker-failure-rate-threshold"},
		{"slow threshold 0", func(c *resilience.Config) { c.SlowCallRateThreshold = 0 }, "orchestration.resiliency.circuit-breaker-slow-call-rate-threshold"},
		{"slow threshold 150", func(c *resilience.Config) { c.SlowCallRateThreshold = 150 }, "orchestration.resiliency.circuit-breaker-slow-call-rate-threshold"},
		{"min calls > window", func(c *resilience.Config) { c.MinimumNumberOfCalls, c.SlidingWindowSize = 11, 10 }, "orchestration.resiliency.circuit-breaker-minimum-number-of-calls"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := resilience.Config{}.WithDefaults()
			tc.edit(&c)
			err := c.Validate()
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tc.err != "" && err == nil:
				t.Fatalf("Validate() = nil, want an error naming %s", tc.err)
			case tc.err != "" && !strings.Contains(err.Error(), tc.err):
				t.Fatalf("Validate() = %v, want it to name %s", err, tc.err)
			}
		})
	}
}

// DefaultConfig is the one statement of the defaults: WithDefaults fills
// from it, and it holds the switches WithDefaults leaves alone.
func TestDefaultConfig(t *testing.T) {
	t.Parallel()
	d := resilience.DefaultConfig()
	if got := d.WithDefaults(); got != d {
		t.Errorf("DefaultConfig().WithDefaults() changed it:\n%+v\nwant\n%+v", got, d)
	}
	if !d.CircuitBreakerEnabled || !d.RetryEnabled || !d.TimeoutEnabled || d.RateLimiterEnabled || d.BulkheadEnabled {
		t.Errorf("switches = %+v, want breaker, retry and timeout on, rate limiter and bulkhead off", d)
	}
	if err := d.Validate(); err != nil {
		t.Errorf("DefaultConfig() does not validate: %v", err)
	}
}

// Every problem is reported, each a *ConfigError naming its full key.
func TestValidateNamesEveryKey(t *testing.T) {
	t.Parallel()
	c := resilience.Config{RetryWaitDuration: -time.Second, RateLimiterTimeoutDuration: -1, BulkheadMaxWaitDuration: -1}
	err := c.Validate()
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		t.Fatalf("Validate() = %v, want joined errors", err)
	}
	var keys []string
	for _, e := range j.Unwrap() {
		var ce *resilience.ConfigError
		if !errors.As(e, &ce) || !strings.HasPrefix(ce.Key, resilience.KeyPrefix) || e.Error() != ce.Key+": "+ce.Message {
			t.Fatalf("%v (%T) is not a *ConfigError naming an orchestration.resiliency key", e, e)
		}
		keys = append(keys, strings.TrimPrefix(ce.Key, resilience.KeyPrefix))
	}
	want := []string{
		"circuit-breaker-failure-rate-threshold", "circuit-breaker-slow-call-rate-threshold",
		"circuit-breaker-slow-call-duration-threshold", "circuit-breaker-wait-duration-in-open-state",
		"circuit-breaker-permitted-number-of-calls-in-half-open-state", "circuit-breaker-sliding-window-size",
		"circuit-breaker-minimum-number-of-calls", "retry-max-attempts", "retry-wait-duration",
		"rate-limiter-limit-for-period", "rate-limiter-limit-refresh-period", "rate-limiter-timeout-duration",
		"bulkhead-max-concurrent-calls", "bulkhead-max-wait-duration", "stage-timeout",
	}
	if strings.Join(keys, " ") != strings.Join(want, " ") {
		t.Errorf("keys =\n%v\nwant\n%v", keys, want)
	}
}
