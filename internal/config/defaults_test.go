package config

import (
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// The Spring library's defaults, one row per key, so a changed default shows
// up as a named failure instead of a struct diff.
func TestDefaultsResiliencyAndPersistence(t *testing.T) {
	t.Parallel()
	r := Default().Orchestration.Resiliency
	p := Default().Orchestration.Persistence
	tests := []struct {
		key       string
		got, want any
	}{
		{"circuit-breaker-enabled", r.CircuitBreakerEnabled, true},
		{"circuit-breaker-failure-rate-threshold", r.FailureRateThreshold, 50.0},
		{"circuit-breaker-slow-call-rate-threshold", r.SlowCallRateThreshold, 100.0},
		{"circuit-breaker-slow-call-duration-threshold", r.SlowCallDurationThreshold, 60 * time.Second},
		{"circuit-breaker-wait-duration-in-open-state", r.WaitDurationInOpenState, 60 * time.Second},
		{"circuit-breaker-permitted-number-of-calls-in-half-open-state", r.PermittedCallsInHalfOpenState, 10},
		{"circuit-breaker-sliding-window-size", r.SlidingWindowSize, 100},
		{"circuit-breaker-minimum-number-of-calls", r.MinimumNumberOfCalls, 10},
		{"retry-enabled", r.RetryEnabled, true},
		{"retry-max-attempts", r.RetryMaxAttempts, 3},
		{"retry-wait-duration", r.RetryWaitDuration, 5 * time.Second},
		{"rate-limiter-enabled", r.RateLimiterEnabled, false},
		{"rate-limiter-limit-for-period", r.RateLimiterLimitForPeriod, 100},
		{"rate-limiter-limit-refresh-period", r.RateLimiterLimitRefreshPeriod, time.Second},
		{"rate-limiter-timeout-duration", r.RateLimiterTimeoutDuration, 5 * time.Second},
		{"bulkhead-enabled", r.BulkheadEnabled, false},
		{"bulkhead-max-concurrent-calls", r.BulkheadMaxConcurrentCalls, 25},
		{"bulkhead-max-wait-duration", r.BulkheadMaxWaitDuration, 500 * time.Millisecond},

		{"audit-enabled", p.AuditEnabled, true},
		{"include-stack-traces", p.IncludeStackTraces, false},
		{"audit-retention-days", p.AuditRetentionDays, 90},
		{"result-persistence-enabled", p.ResultPersistenceEnabled, true},
		{"result-retention-days", p.ResultRetentionDays, 30},
		{"enable-result-caching", p.EnableResultCaching, true},
		{"result-cache-ttl-seconds", p.ResultCacheTTLSeconds, 3600},
		{"max-data-size-bytes", p.MaxDataSizeBytes, int64(10485760)},
		{"persist-raw-output", p.PersistRawOutput, true},
		{"persist-transformed-output", p.PersistTransformedOutput, true},
		{"persist-input-parameters", p.PersistInputParameters, true},
		{"sanitize-sensitive-data", p.SanitizeSensitiveData, true},
		{"excluded-parameter-keys", p.ExcludedParameterKeys, []string{"password", "passwd", "pwd", "passphrase", "secret", "token", "apiKey",
			"authorization", "credential", "privateKey", "accessKey", "sessionKey", "cookie", "connectionString"}},
		{"execution-retention-days", p.ExecutionRetentionDays, 30},
		{"saga-retention-days", p.SagaRetentionDays, 30},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			t.Parallel()
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Errorf("%s = %#v, want %#v", tt.key, tt.got, tt.want)
			}
		})
	}
}

func TestDefaultsOther(t *testing.T) {
	t.Parallel()
	c := Default()
	o := c.Orchestration
	tests := []struct {
		key       string
		got, want any
	}{
		{"orchestration.enabled", o.Enabled, true},
		{"orchestration.orchestrator-type", o.OrchestratorType, "APACHE_AIRFLOW"},
		{"orchestration.default-timeout", o.DefaultTimeout, 24 * time.Hour},
		{"orchestration.max-retries", o.MaxRetries, 3},
		{"orchestration.retry-delay", o.RetryDelay, 5 * time.Second},
		{"orchestration.publish-job-events", o.PublishJobEvents, true},
		{"orchestration.job-events-topic", o.JobEventsTopic, "data-job-events"},
		{"orchestration.check-interval", o.CheckInterval, 2 * time.Second},
		{"orchestration.max-check-interval", o.MaxCheckInterval, 30 * time.Second},
		{"orchestration.check-backoff-multiplier", o.CheckBackoffMultiplier, 1.5},
		{"orchestration.timer-reconcile-interval", o.TimerReconcileInterval, 5 * time.Minute},
		{"orchestration.airflow", o.Airflow, Airflow{APIVersion: "v1", AuthenticationType: "BASIC", DagIDPrefix: "data_job",
			ConnectionTimeout: 10 * time.Second, RequestTimeout: 30 * time.Second, VerifySSL: true, MaxConcurrentDagRuns: 10}},
		{"orchestration.aws-step-functions", o.AWSStepFunctions, AWSStepFunctions{Region: "us-east-1", UseDefaultCredentials: true,
			ConnectionTimeout: 10 * time.Second, RequestTimeout: 30 * time.Second, MaxConcurrentExecutions: 100}},
		{"orchestration.observability", o.Observability, Observability{TracingEnabled: true, TraceJobStart: true, TraceJobCheck: true,
			TraceJobCollect: true, TraceJobResult: true, MetricsEnabled: true, MetricPrefix: "firefly.data.job", TracingExporter: "none"}},
		{"orchestration.health-check", o.HealthCheck, HealthCheck{Enabled: true, Timeout: 5 * time.Second, Interval: 30 * time.Second,
			CheckConnectivity: true, ShowDetails: true}},
		{"nats", c.NATS, NATS{Listen: "127.0.0.1:4222", DataDir: "./data", Sync: "1s", SubjectPrefix: "jobs",
			ConnectTimeout: 5 * time.Second, Replicas: 1, DuplicateWindow: 2 * time.Minute, MaxDeliver: 5,
			AckWait: 30 * time.Second, CommandConcurrency: 256, DLQMaxAge: 14 * 24 * time.Hour, Limits: DefaultLimits(),
			Server: NATSServer{Auth: "generated"}, InboxPrefix: "_INBOX",
			RedeliveryBackoff: []string{"1s", "5s", "30s", "2m", "5m"}, PublishRetry: 15 * time.Second}},
		{"http", c.HTTP, HTTP{Addr: "127.0.0.1:8080", BasePath: "/api/v1", RequestTimeout: 30 * time.Second, MaxBodyBytes: 1048576,
			Auth: HTTPAuth{Mode: "auto", OpenHealth: true, OpenMetrics: true, OpenOpenAPI: true,
				JWT: HTTPAuthJWT{ClockSkew: 30 * time.Second, PermissionsClaim: "permissions", NameClaim: "sub"}}}},
		{"log", c.Log, Log{Level: "info", Format: "json"}},
		{"jobs", len(c.Jobs), 0},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			t.Parallel()
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Errorf("%s = %#v, want %#v", tt.key, tt.got, tt.want)
			}
		})
	}
}

func TestDefaultValidates(t *testing.T) {
	t.Parallel()
	if err := Default().Validate(); err != nil {
		t.Fatal(err)
	}
	c, err := Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, Default()) {
		t.Errorf("Load(\"\", nil) != Default()")
	}
}

// The shipped example documents the defaults; it must not drift from them.
func TestExampleFileIsDefault(t *testing.T) {
	t.Parallel()
	c, err := Load(filepath.Join("..", "..", "deploy", "engine.example.yaml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, Default()) {
		t.Errorf("deploy/engine.example.yaml differs from Default():\n got %+v\nwant %+v", c, Default())
	}
}

func TestEnvName(t *testing.T) {
	t.Parallel()
	tests := []struct{ key, want string }{
		{"orchestration.default-timeout", "JETJOBS_ORCHESTRATION_DEFAULT_TIMEOUT"},
		{"nats.url", "JETJOBS_NATS_URL"},
		{"orchestration.aws-step-functions.enable-x-ray-tracing", "JETJOBS_ORCHESTRATION_AWS_STEP_FUNCTIONS_ENABLE_X_RAY_TRACING"},
	}
	for _, tt := range tests {
		if got := EnvName(tt.key); got != tt.want {
			t.Errorf("EnvName(%q) = %q, want %q", tt.key, got, tt.want)
		}
	}
}

// Two keys must never share a variable, or one would silently shadow the other.
func TestEnvNamesUnique(t *testing.T) {
	t.Parallel()
	seen := map[string]string{}
	for _, l := range leaves() {
		n := EnvName(l.key)
		if other, ok := seen[n]; ok {
			t.Errorf("%s and %s both map to %s", other, l.key, n)
		}
		seen[n] = l.key
	}
	if n := EnvName("config"); n != EnvConfigFile || seen[n] != "" {
		t.Errorf("EnvConfigFile %s collides with a key", EnvConfigFile)
	}
	if len(leaves()) < 100 {
		t.Errorf("only %d leaf keys found; the walker lost some", len(leaves()))
	}
}
