package config

import (
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    time.Duration
		wantErr string
	}{
		// Go
		{"30s", 30 * time.Second, ""},
		{"1h30m", 90 * time.Minute, ""},
		{"1.5h", 90 * time.Minute, ""},
		{"250us", 250 * time.Microsecond, ""},
		{"0", 0, ""},
		// Spring simple: an integer and a unit, any case
		{"1d", 24 * time.Hour, ""},
		{"500ms", 500 * time.Millisecond, ""},
		{"5m", 5 * time.Minute, ""},
		{"2h", 2 * time.Hour, ""},
		{"10S", 10 * time.Second, ""},
		{"3D", 72 * time.Hour, ""},
		{"100ns", 100, ""},
		{" 30s ", 30 * time.Second, ""},
		// bare integer: milliseconds, as Spring reads a Duration
		{"500", 500 * time.Millisecond, ""},
		{"60000", time.Minute, ""},
		// ISO-8601 (java.time.Duration)
		{"PT5S", 5 * time.Second, ""},
		{"PT1H30M", 90 * time.Minute, ""},
		{"P1D", 24 * time.Hour, ""},
		{"P1DT12H", 36 * time.Hour, ""},
		{"PT0.5S", 500 * time.Millisecond, ""},
		{"PT1,25S", 1250 * time.Millisecond, ""},
		{"pt2m", 2 * time.Minute, ""},
		{"-PT1M", -time.Minute, ""},
		{"PT-1M30S", -30 * time.Second, ""},
		// errors
		{"", 0, "empty duration"},
		{"abc", 0, "not a duration"},
		{"30x", 0, `unknown unit "x"`},
		{"1w", 0, `unknown unit "w"`},
		{"P", 0, "without a value"},
		{"PT", 0, "without a value"},
		{"P1DT", 0, "no time part"},
		{"P1Y", 0, "not a duration"},
		{"P1M", 0, "not a duration"}, // months are not a Duration in Java either
		{"1d12h", 0, "not a duration"},
		{"106752d", 0, "out of range"},
		{"P106752D", 0, "out of range"},
		{"99999999999999999999ms", 0, "out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseDuration(tt.in)
			switch {
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("ParseDuration(%q) = %v, %v; want error %q", tt.in, got, err, tt.wantErr)
			case tt.wantErr == "" && err != nil:
				t.Fatalf("ParseDuration(%q): %v", tt.in, err)
			case got != tt.want:
				t.Fatalf("ParseDuration(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

// Every duration key takes every spelling, in the file and in the
// environment; nats.sync (a string) too.
func TestDurationSpellingsEverywhere(t *testing.T) {
	t.Parallel()
	c, err := loadString(t, "orchestration:\n  default-timeout: P1D\n  retry-delay: 5000\n"+
		"  resiliency:\n    bulkhead-max-wait-duration: PT0.5S\n    circuit-breaker:\n      wait-duration-in-open-state: 1m\n"+
		"jobs:\n  a:\n    check-interval: 1d\nnats:\n  sync: PT2S\n",
		"JETJOBS_NATS_ACK_WAIT=PT45S", "JETJOBS_HTTP_REQUEST_TIMEOUT=2000", "JETJOBS_ORCHESTRATION_HEALTH_CHECK_INTERVAL=1d")
	if err != nil {
		t.Fatal(err)
	}
	o := c.Orchestration
	for _, tt := range []struct {
		key       string
		got, want time.Duration
	}{
		{"orchestration.default-timeout", o.DefaultTimeout, 24 * time.Hour},
		{"orchestration.retry-delay", o.RetryDelay, 5 * time.Second},
		{"orchestration.resiliency.bulkhead-max-wait-duration", o.Resiliency.BulkheadMaxWaitDuration, 500 * time.Millisecond},
		{"orchestration.resiliency.circuit-breaker.wait-duration-in-open-state", o.Resiliency.WaitDurationInOpenState, time.Minute},
		{"jobs.a.check-interval", c.Jobs["a"].CheckInterval, 24 * time.Hour},
		{"JETJOBS_NATS_ACK_WAIT", c.NATS.AckWait, 45 * time.Second},
		{"JETJOBS_HTTP_REQUEST_TIMEOUT", c.HTTP.RequestTimeout, 2 * time.Second},
		{"JETJOBS_ORCHESTRATION_HEALTH_CHECK_INTERVAL", o.HealthCheck.Interval, 24 * time.Hour},
	} {
		if tt.got != tt.want {
			t.Errorf("%s = %v, want %v", tt.key, tt.got, tt.want)
		}
	}
	if d, always := c.NATS.SyncPolicy(); d != 2*time.Second || always || c.NATS.Sync != "2s" {
		t.Errorf("nats.sync PT2S read as %q (%v, %v)", c.NATS.Sync, d, always)
	}
}

// The nested resiliency form loads to the same configuration as the flat
// one.
func TestNestedResiliencyEqualsFlat(t *testing.T) {
	t.Parallel()
	flat, err := loadString(t, `orchestration:
  resiliency:
    circuit-breaker-enabled: false
    circuit-breaker-failure-rate-threshold: 25
    circuit-breaker-sliding-window-size: 20
    retry-enabled: true
    retry-max-attempts: 7
    retry-wait-duration: 2s
    rate-limiter-enabled: true
    rate-limiter-limit-for-period: 9
    bulkhead-enabled: true
    bulkhead-max-concurrent-calls: 4
    stage-timeout: 10s
`)
	if err != nil {
		t.Fatal(err)
	}
	nested, err := loadString(t, `orchestration:
  resiliency:
    circuit-breaker:
      enabled: false
      failure-rate-threshold: 25
      sliding-window-size: 20
    retry:
      enabled: true
      max-attempts: 7
      wait-duration: PT2S
    rate-limiter:
      enabled: true
      limit-for-period: 9
    bulkhead:
      enabled: true
      max-concurrent-calls: 4
    stage-timeout: 10s
`)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(flat, nested) {
		t.Fatalf("nested form differs:\n flat   %+v\n nested %+v", flat.Orchestration.Resiliency, nested.Orchestration.Resiliency)
	}
	if flat.Orchestration.Resiliency.RetryMaxAttempts != 7 || flat.Orchestration.Resiliency.StageTimeout != 10*time.Second {
		t.Fatal("the flat file did not load")
	}
}

// The YAML examples of the original library's guide (testdata/guide,
// copied unchanged) load, each with what it says.
func TestGuideExamplesLoad(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file     string
		check    func(c Config) bool
		warnings []string
	}{
		{"minimal.yaml", func(c Config) bool {
			return c.Orchestration.Enabled && c.Orchestration.OrchestratorType == OrchestratorCustom && !c.Orchestration.PublishJobEvents
		}, nil},
		{"complete.yaml", func(c Config) bool {
			o := c.Orchestration
			return o.OrchestratorType == OrchestratorAWSStepFunctions && o.JobEventsTopic == "customer-job-events" &&
				o.AWSStepFunctions.StateMachineARN == "arn:aws:states:us-east-1:123456789012:stateMachine:CustomerDataStateMachine" &&
				o.DefaultTimeout == 24*time.Hour && o.Resiliency.BulkheadMaxWaitDuration == 500*time.Millisecond &&
				slices.Equal(o.Persistence.ExcludedParameterKeys, []string{"password", "secret", "token", "apiKey"})
		}, nil},
		{"quick-start.yaml", func(c Config) bool {
			r := c.Orchestration.Resiliency
			return c.Orchestration.OrchestratorType == OrchestratorAWSStepFunctions && r.CircuitBreakerEnabled &&
				r.FailureRateThreshold == 50 && r.RetryEnabled && r.RetryMaxAttempts == 3
		}, nil},
		{"faq-minimal.yaml", func(c Config) bool { return c.Orchestration.OrchestratorType == OrchestratorCustom }, nil},
		{"custom.yaml", func(c Config) bool { return c.Orchestration.OrchestratorType == OrchestratorCustom }, nil},
		{"step-functions.yaml", func(c Config) bool {
			return c.Orchestration.AWSStepFunctions.StateMachineARN != "" && c.Orchestration.AWSStepFunctions.Region == "us-east-1"
		}, nil},
		{"airflow.yaml", func(c Config) bool {
			return c.Orchestration.Airflow.BaseURL == "http://airflow.example.com:8080" && c.Orchestration.Airflow.Username == "admin"
		}, []string{"firefly.data.orchestration.airflow.password: ${…} placeholders are not expanded; set JETJOBS_ORCHESTRATION_AIRFLOW_PASSWORD"}},
		{"health-check.yaml", func(c Config) bool { return c.Orchestration.HealthCheck.Timeout == 5*time.Second }, nil},
		{"persistence.yaml", func(c Config) bool { return c.Orchestration.Persistence.AuditRetentionDays == 90 }, nil},
		{"tracing.yaml", func(c Config) bool { return c.Orchestration.Observability.TraceJobStart }, nil},
		{"metrics.yaml", func(c Config) bool { return c.Orchestration.Observability.MetricPrefix == "firefly.data.job" }, nil},
		{"circuit-breaker.yaml", func(c Config) bool {
			return c.Orchestration.Resiliency.WaitDurationInOpenState == time.Minute
		}, nil},
		{"retry.yaml", func(c Config) bool { return c.Orchestration.Resiliency.RetryWaitDuration == 5*time.Second }, nil},
		{"rate-limiter.yaml", func(c Config) bool { return c.Orchestration.Resiliency.RateLimiterEnabled }, nil},
		{"bulkhead.yaml", func(c Config) bool { return c.Orchestration.Resiliency.BulkheadEnabled }, nil},
		{"faq-disable-resiliency.yaml", func(c Config) bool {
			r := c.Orchestration.Resiliency
			return !r.CircuitBreakerEnabled && !r.RetryEnabled && !r.RateLimiterEnabled && !r.BulkheadEnabled
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			c, err := Load(filepath.Join("testdata", "guide", tt.file), nil)
			if err != nil {
				t.Fatalf("the guide's example does not load: %v", err)
			}
			if !tt.check(c) {
				t.Fatalf("loaded, but not as written: %+v", c.Orchestration)
			}
			if len(c.Warnings) != len(tt.warnings) {
				t.Fatalf("warnings %q, want %d", c.Warnings, len(tt.warnings))
			}
			for i, w := range tt.warnings {
				if !strings.Contains(c.Warnings[i], w) {
					t.Errorf("warning %q lacks %q", c.Warnings[i], w)
				}
				if strings.Contains(c.Warnings[i], "AIRFLOW_PASSWORD}") {
					t.Errorf("warning %q quotes the value", c.Warnings[i])
				}
			}
		})
	}
}
