package config

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		mutate  func(*Config)
		wantKey string // "" = valid
		wantMsg string
	}{
		{"defaults", func(*Config) {}, "", ""},
		{"failure rate 150", func(c *Config) { c.Orchestration.Resiliency.FailureRateThreshold = 150 },
			"orchestration.resiliency.circuit-breaker-failure-rate-threshold", "must be in (0,100], got 150"},
		{"failure rate 0", func(c *Config) { c.Orchestration.Resiliency.FailureRateThreshold = 0 },
			"orchestration.resiliency.circuit-breaker-failure-rate-threshold", "must be in (0,100], got 0"},
		{"failure rate 100 ok", func(c *Config) { c.Orchestration.Resiliency.FailureRateThreshold = 100 }, "", ""},
		{"slow call rate NaN", func(c *Config) { c.Orchestration.Resiliency.SlowCallRateThreshold = math.NaN() },
			"orchestration.resiliency.circuit-breaker-slow-call-rate-threshold", "must be in (0,100]"},
		{"half-open calls 0", func(c *Config) { c.Orchestration.Resiliency.PermittedCallsInHalfOpenState = 0 },
			"orchestration.resiliency.circuit-breaker-permitted-number-of-calls-in-half-open-state", "must be >= 1, got 0"},
		{"window 0", func(c *Config) { c.Orchestration.Resiliency.SlidingWindowSize = 0 },
			"orchestration.resiliency.circuit-breaker-sliding-window-size", "must be >= 1"},
		{"min calls 0", func(c *Config) { c.Orchestration.Resiliency.MinimumNumberOfCalls = 0 },
			"orchestration.resiliency.circuit-breaker-minimum-number-of-calls", "must be >= 1"},
		{"open wait 0", func(c *Config) { c.Orchestration.Resiliency.WaitDurationInOpenState = 0 },
			"orchestration.resiliency.circuit-breaker-wait-duration-in-open-state", "must be > 0, got 0s"},
		{"retry attempts 0", func(c *Config) { c.Orchestration.Resiliency.RetryMaxAttempts = 0 },
			"orchestration.resiliency.retry-max-attempts", "must be >= 1"},
		{"retry wait negative", func(c *Config) { c.Orchestration.Resiliency.RetryWaitDuration = -time.Second },
			"orchestration.resiliency.retry-wait-duration", "must be >= 0, got -1s"},
		{"retry wait 0 ok", func(c *Config) { c.Orchestration.Resiliency.RetryWaitDuration = 0 }, "", ""},
		{"rate limit 0", func(c *Config) { c.Orchestration.Resiliency.RateLimiterLimitForPeriod = 0 },
			"orchestration.resiliency.rate-limiter-limit-for-period", "must be >= 1"},
		{"refresh 0", func(c *Config) { c.Orchestration.Resiliency.RateLimiterLimitRefreshPeriod = 0 },
			"orchestration.resiliency.rate-limiter-limit-refresh-period", "must be > 0"},
		{"bulkhead 0", func(c *Config) { c.Orchestration.Resiliency.BulkheadMaxConcurrentCalls = 0 },
			"orchestration.resiliency.bulkhead-max-concurrent-calls", "must be >= 1"},
		{"default timeout 0", func(c *Config) { c.Orchestration.DefaultTimeout = 0 }, "orchestration.default-timeout", "must be > 0"},
		{"max retries -1", func(c *Config) { c.Orchestration.MaxRetries = -1 }, "orchestration.max-retries", "must be >= 0"},
		{"max check < check", func(c *Config) { c.Orchestration.MaxCheckInterval = time.Second },
			"orchestration.max-check-interval", "must be >= orchestration.check-interval (2s), got 1s"},
		{"multiplier < 1", func(c *Config) { c.Orchestration.CheckBackoffMultiplier = 0.5 },
			"orchestration.check-backoff-multiplier", "must be >= 1, got 0.5"},
		{"timer reconcile 0", func(c *Config) { c.Orchestration.TimerReconcileInterval = 0 },
			"orchestration.timer-reconcile-interval", "must be > 0"},
		{"topic with slash", func(c *Config) { c.Orchestration.JobEventsTopic = "a/b" }, "orchestration.job-events-topic", "without spaces"},
		{"orchestrator enum", func(c *Config) { c.Orchestration.OrchestratorType = "apache_airflow" },
			"orchestration.orchestrator-type", `got "apache_airflow"`},
		{"auth enum", func(c *Config) { c.Orchestration.Airflow.AuthenticationType = "OAUTH" },
			"orchestration.airflow.authentication-type", "must be one of BASIC|BEARER_TOKEN|NONE"},
		{"airflow url", func(c *Config) { c.Orchestration.Airflow.BaseURL = "airflow:8080" }, "orchestration.airflow.base-url", "http(s) URL"},
		{"airflow basic needs user", func(c *Config) { c.Orchestration.Airflow.BaseURL = "http://airflow:8080" },
			"orchestration.airflow.username", "must be set"},
		{"airflow bearer needs token", func(c *Config) {
			c.Orchestration.Airflow.BaseURL = "http://airflow:8080"
			c.Orchestration.Airflow.AuthenticationType = AuthBearerToken
		}, "orchestration.airflow.bearer-token", "must be set"},
		{"dag runs 0", func(c *Config) { c.Orchestration.Airflow.MaxConcurrentDagRuns = 0 },
			"orchestration.airflow.max-concurrent-dag-runs", "must be >= 1"},
		{"aws explicit creds", func(c *Config) {
			c.Orchestration.OrchestratorType = OrchestratorAWSStepFunctions
			c.Orchestration.AWSStepFunctions.UseDefaultCredentials = false
		}, "orchestration.aws-step-functions.access-key-id", "must be set"},
		{"aws arn", func(c *Config) { c.Orchestration.AWSStepFunctions.StateMachineARN = "machine" },
			"orchestration.aws-step-functions.state-machine-arn", "must be an ARN"},
		{"aws region", func(c *Config) { c.Orchestration.AWSStepFunctions.Region = "" }, "orchestration.aws-step-functions.region", "must not be empty"},
		{"exporter", func(c *Config) { c.Orchestration.Observability.TracingExporter = "jaeger" },
			"orchestration.observability.tracing-exporter", "must be one of none|stdout|otlp"},
		{"otlp endpoint", func(c *Config) { c.Orchestration.Observability.OTLPEndpoint = "localhost:4318" },
			"orchestration.observability.otlp-endpoint", "http(s) URL"},
		{"metric prefix", func(c *Config) { c.Orchestration.Observability.MetricPrefix = "a..b" },
			"orchestration.observability.metric-prefix", "dot-separated"},
		{"health timeout", func(c *Config) { c.Orchestration.HealthCheck.Timeout = 0 }, "orchestration.health-check.timeout", "must be > 0"},
		{"audit retention -1", func(c *Config) { c.Orchestration.Persistence.AuditRetentionDays = -1 },
			"orchestration.persistence.audit-retention-days", "must be >= 0, got -1"},
		{"result retention 0 ok", func(c *Config) { c.Orchestration.Persistence.ResultRetentionDays = 0 }, "", ""},
		{"cache ttl 0 with caching", func(c *Config) { c.Orchestration.Persistence.ResultCacheTTLSeconds = 0 },
			"orchestration.persistence.result-cache-ttl-seconds", "must be >= 1"},
		{"max data -1", func(c *Config) { c.Orchestration.Persistence.MaxDataSizeBytes = -1 },
			"orchestration.persistence.max-data-size-bytes", "must be >= 0"},
		{"subject prefix upper", func(c *Config) { c.NATS.SubjectPrefix = "Jobs" }, "nats.subject-prefix", `got "Jobs"`},
		{"subject prefix wildcard", func(c *Config) { c.NATS.SubjectPrefix = "jobs.*" }, "nats.subject-prefix", "must match"},
		{"subject prefix dotted ok", func(c *Config) { c.NATS.SubjectPrefix = "acme.jobs_v2" }, "", ""},
		{"sync bad", func(c *Config) { c.NATS.Sync = "sometimes" }, "nats.sync", `must be "always" or a duration > 0`},
		{"sync 0", func(c *Config) { c.NATS.Sync = "0s" }, "nats.sync", "duration > 0"},
		{"sync always ok", func(c *Config) { c.NATS.Sync = SyncAlways }, "", ""},
		{"listen", func(c *Config) { c.NATS.Listen = "4222" }, "nats.listen", "host:port"},
		{"listen ignored with url", func(c *Config) { c.NATS.URL, c.NATS.Listen = "nats://n1:4222", "" }, "", ""},
		{"url scheme", func(c *Config) { c.NATS.URL = "http://n1:4222" }, "nats.url", "nats://"},
		{"url bare host ok", func(c *Config) { c.NATS.URL = "n1:4222, n2:4222" }, "", ""},
		{"two auth methods", func(c *Config) { c.NATS.User, c.NATS.Token = "u", "t" }, "nats.user", "only one of"},
		{"password without user", func(c *Config) { c.NATS.Password = "p" }, "nats.password", "needs nats.user"},
		{"tls key without cert", func(c *Config) { c.NATS.TLSKey = "k.pem" }, "nats.tls-cert", "together"},
		{"replicas 6", func(c *Config) { c.NATS.Replicas = 6 }, "nats.replicas", "must be in [1,5], got 6"},
		{"listen off ok", func(c *Config) { c.NATS.Listen = NATSListenOff }, "", ""},
		{"server auth", func(c *Config) { c.NATS.Server.Auth = "token" }, "nats.server.auth", "must be one of generated|none"},
		{"server auth none ok", func(c *Config) { c.NATS.Server.Auth = NATSAuthNone }, "", ""},
		{"users need generated", func(c *Config) {
			c.NATS.Server.Auth = NATSAuthNone
			c.NATS.Server.Users = map[string]NATSUser{"a": {Password: "p"}}
		}, "nats.server.users", "needs nats.server.auth generated"},
		{"user with password and nkey", func(c *Config) {
			c.NATS.Server.Users = map[string]NATSUser{"a": {Password: "p", NKey: "UB7D3WVK5I64BODUQJUNEEAPDUG6FXA563LQRFO5JNSLY6DLDMB3RVOZ"}}
		}, "nats.server.users.a", "exactly one of password and nkey"},
		{"user with neither", func(c *Config) { c.NATS.Server.Users = map[string]NATSUser{"a": {}} }, "nats.server.users.a", "exactly one"},
		{"user nkey not a user key", func(c *Config) { c.NATS.Server.Users = map[string]NATSUser{"a": {NKey: "SUAKEY"}} },
			"nats.server.users.a.nkey", "public user nkey"},
		{"user bad subject", func(c *Config) {
			c.NATS.Server.Users = map[string]NATSUser{"a": {Password: "p", Publish: []string{"a..b"}}}
		}, "nats.server.users.a.publish", "not a subject pattern"},
		{"user ok", func(c *Config) {
			c.NATS.Server.Users = map[string]NATSUser{"a": {Password: "p", Publish: []string{"jobs.cmd.x.*"}, Subscribe: []string{"_INBOX_a.>"}}}
		}, "", ""},
		{"server tls key alone", func(c *Config) { c.NATS.Server.TLSKey = "k.pem" }, "nats.server.tls-cert", "together"},
		{"server tls ca alone", func(c *Config) { c.NATS.Server.TLSCA = "ca.pem" }, "nats.server.tls-ca", "needs nats.server.tls-cert"},
		{"reply prefix under $KV", func(c *Config) { c.NATS.ReplyPrefixes = []string{"$KV.>"} }, "nats.reply-prefixes", "NATS server"},
		{"reply prefix under $JS", func(c *Config) { c.NATS.ReplyPrefixes = []string{"$JS.API.>"} }, "nats.reply-prefixes", "NATS server"},
		{"reply prefix under the subject prefix", func(c *Config) { c.NATS.ReplyPrefixes = []string{"jobs.replies.>"} },
			"nats.reply-prefixes", "engine's subject prefix jobs"},
		{"reply prefix under a dotted subject prefix", func(c *Config) {
			c.NATS.SubjectPrefix, c.NATS.ReplyPrefixes = "acme.jobs", []string{"acme.*.x"}
		}, "nats.reply-prefixes", "acme.jobs"},
		{"reply prefix wildcard first", func(c *Config) { c.NATS.ReplyPrefixes = []string{">"} }, "nats.reply-prefixes", "wildcard"},
		{"reply prefix ok", func(c *Config) { c.NATS.ReplyPrefixes = []string{"_INBOX_app.>", "replies.*"} }, "", ""},
		{"redelivery backoff empty", func(c *Config) { c.NATS.RedeliveryBackoff = nil }, "nats.redelivery-backoff", "at least one"},
		{"redelivery backoff not a duration", func(c *Config) { c.NATS.RedeliveryBackoff = []string{"1s", "soon"} },
			"nats.redelivery-backoff", `item 2: invalid duration "soon"`},
		{"redelivery backoff zero", func(c *Config) { c.NATS.RedeliveryBackoff = []string{"0s"} }, "nats.redelivery-backoff", "positive"},
		{"redelivery backoff shrinking", func(c *Config) { c.NATS.RedeliveryBackoff = []string{"5s", "1s"} },
			"nats.redelivery-backoff", "must not shrink"},
		{"redelivery backoff over a day", func(c *Config) { c.NATS.RedeliveryBackoff = []string{"25h"} }, "nats.redelivery-backoff", "24h"},
		{"publish retry negative", func(c *Config) { c.NATS.PublishRetry = -time.Second }, "nats.publish-retry", "must be >= 0"},
		{"redelivery backoff ok", func(c *Config) { c.NATS.RedeliveryBackoff = []string{"200ms", "200ms", "1h"} }, "", ""},
		{"inbox prefix under $", func(c *Config) { c.NATS.InboxPrefix = "$SYS" }, "nats.inbox-prefix", "NATS server"},
		{"inbox prefix wildcard", func(c *Config) { c.NATS.InboxPrefix = "_INBOX.*" }, "nats.inbox-prefix", "literal subject"},
		{"inbox prefix empty", func(c *Config) { c.NATS.InboxPrefix = "" }, "nats.inbox-prefix", "literal subject"},
		{"inbox prefix ok", func(c *Config) { c.NATS.InboxPrefix = "_INBOX_jetjobs" }, "", ""},
		{"max deliver 0", func(c *Config) { c.NATS.MaxDeliver = 0 }, "nats.max-deliver", "must be >= 1"},
		{"ack wait 0", func(c *Config) { c.NATS.AckWait = 0 }, "nats.ack-wait", "must be > 0"},
		{"concurrency 0", func(c *Config) { c.NATS.CommandConcurrency = 0 }, "nats.command-concurrency", "must be >= 1"},
		{"worker concurrency 0", func(c *Config) { c.Orchestration.WorkerConcurrency = 0 }, "orchestration.worker-concurrency", "must be >= 1"},
		{"job concurrency negative", func(c *Config) { c.Jobs = map[string]Job{"w": {Concurrency: -1}} }, "jobs.w.concurrency", "must be >= 0"},
		{"job concurrency set", func(c *Config) { c.Jobs = map[string]Job{"w": {Concurrency: 3}} }, "", ""},
		{"work limits bad", func(c *Config) { c.NATS.Limits.Work.MaxBytes = 10 }, "nats.limits.work.max-bytes", "must be 0"},
		{"dlq max age negative", func(c *Config) { c.NATS.DLQMaxAge = -time.Hour }, "nats.dlq-max-age", "must be >= 0"},
		{"dlq max age 0 keeps forever", func(c *Config) { c.NATS.DLQMaxAge = 0 }, "", ""},
		{"http addr", func(c *Config) { c.HTTP.Addr = "8080" }, "http.addr", `must be host:port (host may be empty), got "8080"`},
		{"http addr port range", func(c *Config) { c.HTTP.Addr = ":70000" }, "http.addr", "host:port"},
		{"http addr empty ok", func(c *Config) { c.HTTP.Addr = "" }, "", ""},
		{"http addr host ok", func(c *Config) { c.HTTP.Addr = "[::1]:0" }, "", ""},
		{"base path trailing slash", func(c *Config) { c.HTTP.BasePath = "/api/" }, "http.base-path", "no trailing /"},
		{"body bytes 0", func(c *Config) { c.HTTP.MaxBodyBytes = 0 }, "http.max-body-bytes", "must be >= 1"},
		{"log level", func(c *Config) { c.Log.Level = "verbose" }, "log.level", "must be one of trace|debug|info|warn|error"},
		{"log format", func(c *Config) { c.Log.Format = "text" }, "log.format", "must be one of json|console"},
		{"job name", func(c *Config) { c.Jobs = map[string]Job{"-import": {}} }, "jobs.-import", "job name must match"},
		{"job name too long", func(c *Config) { c.Jobs = map[string]Job{strings.Repeat("a", 65): {}} }, "jobs." + strings.Repeat("a", 65), "job name"},
		{"job ok", func(c *Config) { c.Jobs = map[string]Job{"customer-import": {DefaultTimeout: time.Hour}} }, "", ""},
		{"job timeout", func(c *Config) { c.Jobs = map[string]Job{"a": {DefaultTimeout: -1}} }, "jobs.a.default-timeout", "must be >= 0"},
		{"job base path", func(c *Config) { c.Jobs = map[string]Job{"a": {BasePath: "x"}} }, "jobs.a.base-path", "leading /"},
		{"orchestrated no definition", func(c *Config) {
			c.Orchestration.Airflow.BaseURL, c.Orchestration.Airflow.Username = "http://af:8080", "u"
			c.Jobs = map[string]Job{"a": {Orchestrated: &Orchestrated{}}}
		}, "jobs.a.orchestrated.job-definition", "must not be empty"},
		{"orchestrated needs airflow url", func(c *Config) {
			c.Jobs = map[string]Job{"a": {Orchestrated: &Orchestrated{JobDefinition: "dag"}}}
		}, "jobs.a.orchestrated", "needs orchestration.airflow.base-url"},
		{"orchestrated needs orchestrator", func(c *Config) {
			c.Orchestration.OrchestratorType = OrchestratorNone
			c.Jobs = map[string]Job{"a": {Orchestrated: &Orchestrated{JobDefinition: "dag"}}}
		}, "jobs.a.orchestrated", "other than NONE"},
		{"custom orchestrator type", func(c *Config) { c.Orchestration.OrchestratorType = OrchestratorCustom }, "", ""},
		{"sfn endpoint", func(c *Config) { c.Orchestration.AWSStepFunctions.Endpoint = "localhost:4566" },
			"orchestration.aws-step-functions.endpoint", "http(s) URL"},
		{"job orchestrator type enum", func(c *Config) {
			c.Orchestration.AWSStepFunctions.StateMachineARN = "arn:aws:states:us-east-1:1:stateMachine:m"
			c.Jobs = map[string]Job{"a": {Orchestrated: &Orchestrated{JobDefinition: "m", OrchestratorType: "TEMPORAL"}}}
		}, "jobs.a.orchestrated.orchestrator-type", "must be one of APACHE_AIRFLOW|AWS_STEP_FUNCTIONS|CUSTOM"},
		{"job on step functions needs an ARN", func(c *Config) {
			c.Jobs = map[string]Job{"a": {Orchestrated: &Orchestrated{JobDefinition: "m", OrchestratorType: OrchestratorAWSStepFunctions}}}
		}, "jobs.a.orchestrated.job-definition", "state-machine-arn set"},
		{"job on step functions needs its keys", func(c *Config) {
			c.Orchestration.AWSStepFunctions.UseDefaultCredentials = false
			c.Jobs = map[string]Job{"a": {Orchestrated: &Orchestrated{JobDefinition: "arn:aws:states:us-east-1:1:stateMachine:m",
				OrchestratorType: OrchestratorAWSStepFunctions}}}
		}, "orchestration.aws-step-functions.access-key-id", "must be set"},
		{"job on airflow under a step functions default", func(c *Config) {
			c.Orchestration.OrchestratorType = OrchestratorAWSStepFunctions
			c.Jobs = map[string]Job{"a": {Orchestrated: &Orchestrated{JobDefinition: "dag", OrchestratorType: OrchestratorAirflow}}}
		}, "jobs.a.orchestrated", "needs orchestration.airflow.base-url"},
		{"job on custom", func(c *Config) {
			c.Jobs = map[string]Job{"a": {Orchestrated: &Orchestrated{JobDefinition: "x", OrchestratorType: OrchestratorCustom}}}
		}, "", ""},
		{"orchestrated ok", func(c *Config) {
			c.Orchestration.Airflow.BaseURL, c.Orchestration.Airflow.Username = "http://af:8080", "u"
			c.Jobs = map[string]Job{"a": {Orchestrated: &Orchestrated{JobDefinition: "dag"}}}
		}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := Default()
			tt.mutate(&c)
			err := c.Validate()
			if tt.wantKey == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want a *FieldError for %s", err, tt.wantKey)
			}
			if fe.Key != tt.wantKey || !strings.Contains(fe.Message, tt.wantMsg) {
				t.Errorf("err = %q, want key %s with %q", err, tt.wantKey, tt.wantMsg)
			}
		})
	}
}

// Every problem is reported, not just the first.
func TestValidateCollectsAll(t *testing.T) {
	t.Parallel()
	c := Default()
	c.Log.Level = "loud"
	c.NATS.Replicas = 0
	c.HTTP.RequestTimeout = 0
	err := c.Validate()
	for _, key := range []string{"log.level:", "nats.replicas:", "http.request-timeout:"} {
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("err = %v, want it to name %s", err, key)
		}
	}
}

// Keys named by Validate must be real keys, or the message misleads.
func TestValidateKeysExist(t *testing.T) {
	t.Parallel()
	known := map[string]bool{}
	for _, l := range leaves() {
		known[l.key] = true
	}
	c := Default()
	r := &c.Orchestration.Resiliency
	r.FailureRateThreshold, r.SlowCallRateThreshold = 0, 0
	r.SlowCallDurationThreshold, r.WaitDurationInOpenState = 0, 0
	r.PermittedCallsInHalfOpenState, r.SlidingWindowSize, r.MinimumNumberOfCalls = 0, 0, 0
	r.RetryMaxAttempts, r.RetryWaitDuration, r.RateLimiterLimitForPeriod = 0, -1, 0
	r.RateLimiterLimitRefreshPeriod, r.RateLimiterTimeoutDuration, r.BulkheadMaxConcurrentCalls, r.BulkheadMaxWaitDuration = 0, -1, 0, -1
	c.Orchestration.DefaultTimeout, c.Orchestration.CheckInterval = 0, 0
	c.Orchestration.Persistence.AuditRetentionDays, c.Orchestration.Persistence.ResultRetentionDays = -1, -1
	c.NATS = NATS{}
	c.HTTP = HTTP{Addr: "x"}
	c.Log = Log{}
	err := c.Validate()
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) || len(joined.Unwrap()) < 30 {
		t.Fatalf("want many problems, got %v", err)
	}
	for _, e := range joined.Unwrap() {
		var fe *FieldError
		if !errors.As(e, &fe) || !known[fe.Key] {
			t.Errorf("problem %q names no known key", e)
		}
	}
}

func TestEffectiveJobAndSyncPolicy(t *testing.T) {
	t.Parallel()
	c := Default()
	c.Jobs = map[string]Job{"b": {BasePath: "/bee", CheckInterval: time.Second, Orchestrated: &Orchestrated{JobDefinition: "d"}}}
	a := c.EffectiveJob("a")
	if a.BasePath != "/api/v1/a" || a.DefaultTimeout != 24*time.Hour || a.CheckInterval != 2*time.Second {
		t.Errorf("EffectiveJob(a) = %+v", a)
	}
	b := c.EffectiveJob("b")
	b.Orchestrated.JobDefinition = "changed"
	if b.BasePath != "/bee" || b.CheckInterval != time.Second || c.Jobs["b"].Orchestrated.JobDefinition != "d" {
		t.Errorf("EffectiveJob(b) = %+v, config %+v", b, c.Jobs["b"])
	}
	if d, always := c.NATS.SyncPolicy(); d != time.Second || always {
		t.Errorf("SyncPolicy() = %v, %v", d, always)
	}
	c.NATS.Sync = SyncAlways
	if _, always := c.NATS.SyncPolicy(); !always {
		t.Error("SyncPolicy() not always")
	}
}

// The REST security keys: a non-loopback listener needs a method or an
// explicit opt-out, and each method's keys are checked.
func TestValidateHTTPSecurity(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		edit    func(*Config)
		key     string // "" = valid
		message string
	}{
		{"default loopback, no auth", func(*Config) {}, "", ""},
		{"localhost", func(c *Config) { c.HTTP.Addr = "localhost:8080" }, "", ""},
		{"ipv6 loopback", func(c *Config) { c.HTTP.Addr = "[::1]:8080" }, "", ""},
		{"all interfaces refused", func(c *Config) { c.HTTP.Addr = ":8080" }, "http.addr", "http.auth.mode: none"},
		{"0.0.0.0 refused", func(c *Config) { c.HTTP.Addr = "0.0.0.0:8080" }, "http.addr", "no REST authentication is configured"},
		{"host name refused", func(c *Config) { c.HTTP.Addr = "engine.internal:8080" }, "http.addr", "http.auth.api-keys-file"},
		{"opt-out", func(c *Config) { c.HTTP.Addr, c.HTTP.Auth.Mode = ":8080", "none" }, "", ""},
		{"api keys", func(c *Config) { c.HTTP.Addr, c.HTTP.Auth.APIKeysFile = ":8080", "keys.yaml" }, "", ""},
		{"inline api keys", func(c *Config) { c.HTTP.Addr, c.HTTP.Auth.APIKeys = ":8080", "keys: []" }, "", ""},
		{"http off", func(c *Config) { c.HTTP.Addr = "" }, "", ""},
		{"bad mode", func(c *Config) { c.HTTP.Auth.Mode = "off" }, "http.auth.mode", "auto|none"},
		{"none with a method", func(c *Config) { c.HTTP.Auth.Mode, c.HTTP.Auth.APIKeysFile = "none", "k.yaml" }, "http.auth.mode", "http.auth.api-keys-file"},
		{"tls cert alone", func(c *Config) { c.HTTP.TLSCert = "c.pem" }, "http.tls-cert", "together"},
		{"client-ca without tls", func(c *Config) { c.HTTP.Auth.ClientCA = "ca.pem" }, "http.auth.client-ca", "http.tls-cert"},
		{"mtls permissions without ca", func(c *Config) { c.HTTP.Auth.MTLSPermissions = map[string][]string{"a": {"run:*"}} },
			"http.auth.mtls-permissions", "client-ca"},
		{"bad mtls permission", func(c *Config) {
			c.HTTP.TLSCert, c.HTTP.TLSKey, c.HTTP.Auth.ClientCA = "c", "k", "ca"
			c.HTTP.Auth.MTLSPermissions = map[string][]string{"ops": {"write:*"}}
		}, "http.auth.mtls-permissions.ops", `"write:*"`},
		{"jwt both sources", func(c *Config) {
			j := &c.HTTP.Auth.JWT
			j.JWKSURL, j.PublicKeyFile, j.Issuer, j.Audience = "https://idp/jwks", "k.pem", "i", "a"
		}, "http.auth.jwt.jwks-url", "not both"},
		{"jwt url", func(c *Config) {
			j := &c.HTTP.Auth.JWT
			j.JWKSURL, j.Issuer, j.Audience = "idp/jwks", "i", "a"
		}, "http.auth.jwt.jwks-url", "http(s) URL"},
		{"jwt needs issuer", func(c *Config) { c.HTTP.Auth.JWT.PublicKeyFile, c.HTTP.Auth.JWT.Audience = "k.pem", "a" },
			"http.auth.jwt.issuer", "must be set"},
		{"jwt needs audience", func(c *Config) { c.HTTP.Auth.JWT.PublicKeyFile, c.HTTP.Auth.JWT.Issuer = "k.pem", "i" },
			"http.auth.jwt.audience", "must be set"},
		{"negative skew", func(c *Config) { c.HTTP.Auth.JWT.ClockSkew = -1 }, "http.auth.jwt.clock-skew", ">= 0"},
		{"empty name claim", func(c *Config) { c.HTTP.Auth.JWT.NameClaim = "" }, "http.auth.jwt.name-claim", "empty"},
		{"cors origin with path", func(c *Config) { c.HTTP.CORS.AllowedOrigins = []string{"https://a.example/x"} },
			"http.cors.allowed-origins", "no path"},
		{"cors origins ok", func(c *Config) { c.HTTP.CORS.AllowedOrigins = []string{"https://a.example", "http://*.b.example:3000"} }, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := Default()
			tt.edit(&c)
			err := c.Validate()
			if tt.key == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Key != tt.key || !strings.Contains(err.Error(), tt.message) {
				t.Fatalf("got %v, want an error of %s containing %q", err, tt.key, tt.message)
			}
		})
	}
}
