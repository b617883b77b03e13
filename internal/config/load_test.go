package config

import (
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/jetjobs/jetjobs/jobs/resilience"
)

// fullConfig is testdata/full.yaml decoded by hand.
func fullConfig() Config {
	return Config{
		Orchestration: Orchestration{
			Enabled: true, OrchestratorType: "AWS_STEP_FUNCTIONS", DefaultTimeout: 12 * time.Hour,
			MaxRetries: 7, RetryDelay: 9 * time.Second, PublishJobEvents: false, JobEventsTopic: "my-events",
			CheckInterval: 3 * time.Second, MaxCheckInterval: 45 * time.Second, CheckBackoffMultiplier: 2,
			TimerReconcileInterval: 7 * time.Minute, WorkerConcurrency: 12,
			Airflow: Airflow{BaseURL: "https://airflow.example:8443", APIVersion: "v2", AuthenticationType: "BEARER_TOKEN",
				Username: "alice", Password: "pw1", BearerToken: "bt1", DagIDPrefix: "my_dag",
				ConnectionTimeout: 11 * time.Second, RequestTimeout: 31 * time.Second, VerifySSL: false, MaxConcurrentDagRuns: 11},
			AWSStepFunctions: AWSStepFunctions{Region: "eu-west-1", StateMachineARN: "arn:aws:states:eu-west-1:123:stateMachine:x",
				UseDefaultCredentials: false, AccessKeyID: "AKIA1", SecretAccessKey: "sak1", SessionToken: "st1",
				ConnectionTimeout: 12 * time.Second, RequestTimeout: 32 * time.Second, MaxConcurrentExecutions: 101, EnableXRayTracing: true,
				Endpoint: "http://localhost:4566"},
			Resiliency: resilience.Config{
				CircuitBreakerEnabled: false, FailureRateThreshold: 40.5, SlowCallRateThreshold: 90,
				SlowCallDurationThreshold: 61 * time.Second, WaitDurationInOpenState: 62 * time.Second,
				PermittedCallsInHalfOpenState: 11, SlidingWindowSize: 101,
				MinimumNumberOfCalls: 12, RetryEnabled: false, RetryMaxAttempts: 4, RetryWaitDuration: 6 * time.Second,
				RateLimiterEnabled: true, RateLimiterLimitForPeriod: 200, RateLimiterLimitRefreshPeriod: 2 * time.Second,
				RateLimiterTimeoutDuration: 7 * time.Second, BulkheadEnabled: true, BulkheadMaxConcurrentCalls: 26,
				BulkheadMaxWaitDuration: 750 * time.Millisecond, TimeoutEnabled: false, StageTimeout: 90 * time.Second},
			Observability: Observability{IncludeJobParametersInTraces: true, IncludeJobResultsInTraces: true,
				MetricPrefix: "my.jobs", TracingExporter: "otlp", OTLPEndpoint: "http://collector:4318"},
			HealthCheck: HealthCheck{Timeout: 6 * time.Second, Interval: 31 * time.Second},
			Persistence: Persistence{IncludeStackTraces: true, ResultRetentionDays: 7, ResultCacheTTLSeconds: 60,
				ExcludedParameterKeys: []string{"pin", "ssn"}, ExecutionRetentionDays: 7, SagaRetentionDays: 3},
		},
		NATS: NATS{URL: "nats://bob:secret@n1:4222,nats://n2:4222", Listen: "0.0.0.0:4333", DataDir: "/var/lib/jetjobs",
			Sync: "always", SubjectPrefix: "acme.jobs", User: "bob", Password: "npw",
			TLSCert: "/tls/cert.pem", TLSKey: "/tls/key.pem", TLSCA: "/tls/ca.pem", ConnectTimeout: 8 * time.Second,
			Replicas: 3, DuplicateWindow: 5 * time.Minute, MaxDeliver: 9, AckWait: time.Minute, CommandConcurrency: 16,
			DLQMaxAge: 72 * time.Hour,
			Limits: Limits{Commands: StreamLimits{24 * time.Hour, 1e6}, Events: StreamLimits{48 * time.Hour, 2e6},
				Audit: SizeLimit{3e6}, DLQ: SizeLimit{4e6}, Timers: StreamLimits{72 * time.Hour, 5e6}, State: SizeLimit{6e6},
				Results: SizeLimit{7e6}, ResultObjects: SizeLimit{8e6}, Sagas: SizeLimit{9e6},
				SagaCommands: StreamLimits{96 * time.Hour, 1e7}, SagaTimers: StreamLimits{120 * time.Hour, 0},
				Work: StreamLimits{130 * time.Hour, 11e6}, Schedules: SizeLimit{11e6}},
			Server: NATSServer{Auth: NATSAuthGenerated, Users: map[string]NATSUser{
				"importer": {Password: "ipw", Publish: []string{"acme.jobs.cmd.customer-import.*"}, Subscribe: []string{"_INBOX_importer.>"}},
				"watcher":  {NKey: "UB7D3WVK5I64BODUQJUNEEAPDUG6FXA563LQRFO5JNSLY6DLDMB3RVOZ", Subscribe: []string{"acme.jobs.evt.>"}},
			}, TLSCert: "/tls/server-cert.pem", TLSKey: "/tls/server-key.pem", TLSCA: "/tls/client-ca.pem"},
			InboxPrefix: "_INBOX_engine", ReplyPrefixes: []string{"_INBOX_importer.>", "replies.*.>"},
			RedeliveryBackoff: []string{"500ms", "10s", "10m"}, PublishRetry: 4 * time.Second},
		HTTP: HTTP{Addr: "127.0.0.1:9090", BasePath: "/jobs/api", RequestTimeout: 15 * time.Second, MaxBodyBytes: 2048,
			TLSCert: "/tls/http.pem", TLSKey: "/tls/http-key.pem",
			Auth: HTTPAuth{Mode: "auto", APIKeysFile: "/etc/jetjobs/api-keys.yaml",
				APIKeys: `keys: [{name: ci, sha256: "00", permissions: ["read:*"]}]`,
				JWT: HTTPAuthJWT{JWKSURL: "https://idp.example/jwks.json", Issuer: "https://idp.example/", Audience: "jetjobs",
					ClockSkew: 10 * time.Second, PermissionsClaim: "scope", NameClaim: "client_id"},
				ClientCA:        "/tls/clients-ca.pem",
				MTLSPermissions: map[string][]string{"billing-batch": {"run:billing", "read:billing"}, "ops": {"read:*"}}},
			CORS: HTTPCORS{AllowedOrigins: []string{"https://console.example", "http://localhost:3000"}}},
		Log: Log{Level: "debug", Format: "console"},
		Jobs: map[string]Job{
			"customer-import": {BasePath: "/imports", DefaultTimeout: time.Hour, CheckInterval: 10 * time.Second, StageTimeout: 20 * time.Second,
				Orchestrated: &Orchestrated{JobDefinition: "arn:aws:states:eu-west-1:123:stateMachine:import", OrchestratorType: OrchestratorAWSStepFunctions},
				Schedules: []Schedule{
					{Name: "nightly", Cron: "0 0 2 * * *", TimeZone: "Europe/Paris",
						Parameters: map[string]any{"mode": "full", "batch": 500, "tags": []any{"a", "b"}}, Metadata: map[string]string{"tenant": "acme"}},
					{Name: "poll", Every: "15m"},
				}},
			"nightly-report": {},
		},
	}
}

func TestLoadFullFile(t *testing.T) {
	t.Parallel()
	got, err := Load("testdata/full.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := fullConfig(); !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

// The full file must really hold every key, or TestLoadFullFile proves less.
func TestFullFileHasEveryKey(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	present := map[string]bool{}
	var walk func(n *yaml.Node, key string)
	walk = func(n *yaml.Node, key string) {
		if n.Kind != yaml.MappingNode {
			present[key] = true
			return
		}
		for i := 0; i < len(n.Content); i += 2 {
			walk(n.Content[i+1], join(key, n.Content[i].Value))
		}
	}
	walk(doc.Content[0], "")
	for _, l := range leaves() {
		if !present[l.key] {
			t.Errorf("testdata/full.yaml lacks %s", l.key)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, yaml string
		want       []string // substrings of the error, all required
	}{
		{"unknown key", "orchestration:\n  resiliency:\n    retry-max-atempts: 3\n",
			[]string{`config: unknown key "orchestration.resiliency.retry-max-atempts" (line 3)`}},
		{"unknown top key", "natz: {}\n", []string{`unknown key "natz"`}},
		{"unknown job key", "jobs:\n  a:\n    timeout: 1s\n", []string{`unknown key "jobs.a.timeout"`}},
		{"bad duration", "orchestration:\n  default-timeout: abc\n",
			[]string{`config: orchestration.default-timeout: invalid duration "abc"`, "(line 2)"}},
		{"duration with an unknown unit", "http:\n  request-timeout: 30x\n", []string{`http.request-timeout: invalid duration "30x": unknown unit "x"`}},
		{"both roots", "orchestration:\n  enabled: true\nfirefly:\n  data:\n    orchestration:\n      enabled: false\n",
			[]string{`both "orchestration" and "firefly.data.orchestration" are given: use one of them`}},
		{"other firefly tree", "firefly:\n  data:\n    enrichment: {}\n    orchestration: {}\n",
			[]string{`unknown key "firefly.data.enrichment"`}},
		{"unknown key under the spring root", "firefly:\n  data:\n    orchestration:\n      retries: 3\n",
			[]string{`unknown key "firefly.data.orchestration.retries"`}},
		{"validation names the spring root", "firefly:\n  data:\n    orchestration:\n      max-retries: -1\n",
			[]string{`firefly.data.orchestration.max-retries:`}},
		{"nested and flat resiliency", "orchestration:\n  resiliency:\n    circuit-breaker-enabled: true\n    circuit-breaker:\n      enabled: false\n",
			[]string{`orchestration.resiliency.circuit-breaker-enabled and orchestration.resiliency.circuit-breaker.enabled set the same key: give one of them`}},
		{"flat after nested resiliency", "orchestration:\n  resiliency:\n    retry:\n      max-attempts: 2\n    retry-max-attempts: 3\n",
			[]string{`orchestration.resiliency.retry.max-attempts and orchestration.resiliency.retry-max-attempts set the same key`}},
		{"unknown nested resiliency key", "orchestration:\n  resiliency:\n    retry:\n      attempts: 2\n",
			[]string{`unknown key "orchestration.resiliency.retry.attempts"`}},
		{"nested resiliency not a mapping", "orchestration:\n  resiliency:\n    bulkhead: on\n",
			[]string{`orchestration.resiliency.bulkhead: expected a mapping, got "on"`}},
		{"bad integer", "nats:\n  replicas: three\n", []string{`nats.replicas: invalid integer "three"`}},
		{"float for integer", "orchestration:\n  max-retries: 2.5\n", []string{`orchestration.max-retries: invalid integer "2.5"`}},
		{"integer overflow", "http:\n  max-body-bytes: 99999999999999999999\n", []string{`http.max-body-bytes: integer "99999999999999999999" out of range`}},
		{"bad number", "orchestration:\n  resiliency:\n    circuit-breaker-failure-rate-threshold: half\n",
			[]string{`orchestration.resiliency.circuit-breaker-failure-rate-threshold: invalid number "half"`}},
		{"bad bool", "orchestration:\n  enabled: maybe\n", []string{`orchestration.enabled: invalid bool "maybe"`}},
		{"null bool", "orchestration:\n  enabled:\n", []string{`orchestration.enabled: missing value`}},
		{"mapping for scalar", "log:\n  level: {a: b}\n", []string{`log.level: expected a single value, got a mapping`}},
		{"scalar for mapping", "orchestration:\n  airflow: yes\n", []string{`orchestration.airflow: expected a mapping, got "yes"`}},
		{"list of lists", "orchestration:\n  persistence:\n    excluded-parameter-keys: [[a]]\n",
			[]string{`orchestration.persistence.excluded-parameter-keys: expected a list of strings`}},
		{"duplicate key", "log:\n  level: info\n  level: debug\n", []string{`duplicate key "log.level" (line 3)`}},
		{"all problems at once", "log:\n  levl: x\nnats:\n  ack-wait: soon\n",
			[]string{`unknown key "log.levl"`, `nats.ack-wait: invalid duration "soon"`}},
		{"anchor on an unknown key", "x-timeout: &t 3s\n", []string{`unknown key "x-timeout"`}},
		{"two documents", "log: {}\n---\nlog: {}\n", []string{"only one YAML document"}},
		{"syntax", "log: [\n", []string{"config: yaml:"}},
		{"out of range", "orchestration:\n  resiliency:\n    circuit-breaker-failure-rate-threshold: 150\n",
			[]string{"orchestration.resiliency.circuit-breaker-failure-rate-threshold: must be in (0,100], got 150"}},
		{"bad job name", "jobs:\n  Bad_Name: {}\n", []string{"jobs.Bad_Name: job name must match"}},
		{"bad enum", "orchestration:\n  orchestrator-type: temporal\n",
			[]string{`orchestration.orchestrator-type: must be one of APACHE_AIRFLOW|AWS_STEP_FUNCTIONS|CUSTOM|NONE, got "TEMPORAL"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := loadString(t, tt.yaml)
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nlacks %q", err, w)
				}
			}
		})
	}
}

func TestLoadAccepts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, yaml string
		check      func(Config) bool
	}{
		{"empty file", "", func(c Config) bool { return reflect.DeepEqual(c, Default()) }},
		{"comments only", "# nothing\n", func(c Config) bool { return reflect.DeepEqual(c, Default()) }},
		{"empty section keeps defaults", "orchestration:\n  airflow:\n", func(c Config) bool { return reflect.DeepEqual(c, Default()) }},
		{"excluded keys as string", "orchestration:\n  persistence:\n    excluded-parameter-keys: ' a, b ,,c'\n",
			func(c Config) bool {
				return reflect.DeepEqual(c.Orchestration.Persistence.ExcludedParameterKeys, []string{"a", "b", "c"})
			}},
		{"excluded keys empty", "orchestration:\n  persistence:\n    excluded-parameter-keys: ''\n",
			func(c Config) bool { return c.Orchestration.Persistence.ExcludedParameterKeys == nil }},
		{"yes/no bools", "orchestration:\n  enabled: no\n  publish-job-events: On\n",
			func(c Config) bool { return !c.Orchestration.Enabled && c.Orchestration.PublishJobEvents }},
		{"null string is empty", "http:\n  addr:\n", func(c Config) bool { return c.HTTP.Addr == "" }},
		{"alias", "orchestration:\n  retry-delay: &t 3s\n  resiliency:\n    retry-wait-duration: *t\n",
			func(c Config) bool { return c.Orchestration.Resiliency.RetryWaitDuration == 3*time.Second }},
		{"normalized case", "orchestration:\n  orchestrator-type: none\nlog:\n  level: WARN\n",
			func(c Config) bool {
				return c.Orchestration.OrchestratorType == OrchestratorNone && c.Log.Level == "warn"
			}},
		{"empty jobs is nil", "jobs: {}\n", func(c Config) bool { return c.Jobs == nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := loadString(t, tt.yaml)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(c) {
				t.Errorf("unexpected config %+v", c)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	t.Parallel()
	_, err := Load("testdata/nope.yaml", nil)
	if err == nil || !strings.Contains(err.Error(), "testdata/nope.yaml") {
		t.Errorf("err = %v, want one naming the file", err)
	}
}

func TestEnv(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		yaml    string
		env     []string
		check   func(Config) bool
		wantErr string
	}{
		{"duration", "", []string{"JETJOBS_ORCHESTRATION_DEFAULT_TIMEOUT=1h"},
			func(c Config) bool { return c.Orchestration.DefaultTimeout == time.Hour }, ""},
		{"env beats file", "nats:\n  replicas: 3\n", []string{"JETJOBS_NATS_REPLICAS=5"},
			func(c Config) bool { return c.NATS.Replicas == 5 }, ""},
		{"last wins", "", []string{"JETJOBS_LOG_LEVEL=warn", "JETJOBS_LOG_LEVEL=error"},
			func(c Config) bool { return c.Log.Level == "error" }, ""},
		{"list", "", []string{"JETJOBS_ORCHESTRATION_PERSISTENCE_EXCLUDED_PARAMETER_KEYS=a,b"},
			func(c Config) bool {
				return reflect.DeepEqual(c.Orchestration.Persistence.ExcludedParameterKeys, []string{"a", "b"})
			}, ""},
		{"deep key", "", []string{"JETJOBS_ORCHESTRATION_RESILIENCY_CIRCUIT_BREAKER_FAILURE_RATE_THRESHOLD=25.5"},
			func(c Config) bool { return c.Orchestration.Resiliency.FailureRateThreshold == 25.5 }, ""},
		{"empty string", "", []string{"JETJOBS_HTTP_ADDR="}, func(c Config) bool { return c.HTTP.Addr == "" }, ""},
		{"others ignored", "", []string{"HOME=/root", "JETJOBS_CONFIG=/etc/x.yaml", "NOEQUALS"},
			func(c Config) bool { return reflect.DeepEqual(c, Default()) }, ""},
		{"bad duration", "", []string{"JETJOBS_NATS_ACK_WAIT=soon"}, nil,
			`config: JETJOBS_NATS_ACK_WAIT (nats.ack-wait): invalid duration "soon"`},
		{"bad bool", "", []string{"JETJOBS_ORCHESTRATION_ENABLED=y"}, nil,
			`JETJOBS_ORCHESTRATION_ENABLED (orchestration.enabled): invalid bool "y"`},
		{"bad int", "", []string{"JETJOBS_NATS_MAX_DELIVER=lots"}, nil,
			`JETJOBS_NATS_MAX_DELIVER (nats.max-deliver): invalid integer "lots"`},
		{"unknown var", "", []string{"JETJOBS_NATS_REPLICA=3"}, nil,
			"config: environment variable JETJOBS_NATS_REPLICA matches no key"},
		{"jobs not from env", "", []string{"JETJOBS_JOBS_A_BASE_PATH=/x"}, nil, "JETJOBS_JOBS_A_BASE_PATH matches no key"},
		{"file and env errors together", "log:\n  levl: x\n", []string{"JETJOBS_NATS_REPLICA=3"}, nil,
			`unknown key "log.levl" (line 2)` + "\nconfig: environment variable JETJOBS_NATS_REPLICA"},
		{"validated after env", "", []string{"JETJOBS_NATS_REPLICAS=0"}, nil, "nats.replicas: must be in [1,5], got 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := loadString(t, tt.yaml, tt.env...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(c) {
				t.Errorf("unexpected config %+v", c)
			}
		})
	}
}

// Every leaf key can be set from its variable.
func TestEnvCoversEveryKey(t *testing.T) {
	t.Parallel()
	full := fullConfig()
	fullV := reflectValue(&full)
	var env []string
	for _, l := range leaves() {
		out, err := yaml.Marshal(encode(fullV.FieldByIndex(l.index)))
		if err != nil {
			t.Fatal(err)
		}
		var s string
		if err := yaml.Unmarshal(out, &s); err != nil {
			t.Fatal(err)
		}
		env = append(env, EnvName(l.key)+"="+s)
	}
	got, err := Load("", env)
	if err != nil {
		t.Fatal(err)
	}
	full.Jobs = nil                      // not settable from env
	full.HTTP.Auth.MTLSPermissions = nil // a map: not settable from env
	full.NATS.Server.Users = nil         // nor these
	if !reflect.DeepEqual(got, full) {
		t.Errorf("got  %+v\nwant %+v", got, full)
	}
}

func TestYAMLRoundTrip(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]Config{"default": Default(), "full": fullConfig()} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			out, err := c.YAML()
			if err != nil {
				t.Fatal(err)
			}
			got, err := loadString(t, string(out))
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if !reflect.DeepEqual(got, c) {
				t.Errorf("round trip changed the config:\n%s", out)
			}
		})
	}
	out, _ := Default().YAML()
	for _, want := range []string{"default-timeout: 24h\n", "bulkhead-max-wait-duration: 500ms\n",
		"circuit-breaker-failure-rate-threshold: 50.0\n", "excluded-parameter-keys: password,passwd,pwd,passphrase,secret,token,apiKey,authorization,credential,privateKey,accessKey,sessionKey,cookie,connectionString\n",
		"addr: 127.0.0.1:8080\n", "duplicate-window: 2m\n", "jobs: {}\n"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("YAML() lacks %q:\n%s", want, out)
		}
	}
}
