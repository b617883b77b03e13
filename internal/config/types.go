package config

import (
	"slices"
	"time"

	"github.com/jetjobs/jetjobs/jobs"
	"github.com/jetjobs/jetjobs/jobs/resilience"
)

// Config is the whole process configuration. The zero value is not usable:
// start from Default or Load.
type Config struct {
	Orchestration Orchestration `yaml:"orchestration"`
	NATS          NATS          `yaml:"nats"`
	HTTP          HTTP          `yaml:"http"`
	Log           Log           `yaml:"log"`
	// Jobs holds per-job-type overrides keyed by job name. Default: none.
	Jobs map[string]Job `yaml:"jobs"`
	// Console is the web console at /ui (console.go).
	Console Console `yaml:"console"`

	// Warnings are set by Load, not read from the file: values of the
	// original library accepted but read differently (compat.go). The
	// engine logs each at start-up.
	Warnings []string `yaml:"-"`
}

// Orchestrator types accepted by orchestration.orchestrator-type.
const (
	OrchestratorAirflow          = "APACHE_AIRFLOW"
	OrchestratorAWSStepFunctions = "AWS_STEP_FUNCTIONS"
	OrchestratorNone             = "NONE"
	// OrchestratorCustom is an orchestrator registered in Go
	// (jetjobs.WithOrchestrator); without one the engine refuses to start.
	OrchestratorCustom = "CUSTOM"
)

// Airflow authentication types accepted by orchestration.airflow.authentication-type.
const (
	AuthBasic       = "BASIC"
	AuthBearerToken = "BEARER_TOKEN"
	AuthNone        = "NONE"
)

// SyncAlways is the nats.sync value that fsyncs every write.
const SyncAlways = "always"

// Orchestration is the `orchestration:` tree, named as in the Spring library.
type Orchestration struct {
	Enabled bool `yaml:"enabled"` // default true
	// OrchestratorType is APACHE_AIRFLOW, AWS_STEP_FUNCTIONS or NONE; any case
	// is accepted and normalized to upper case. Default APACHE_AIRFLOW.
	OrchestratorType string        `yaml:"orchestrator-type"`
	DefaultTimeout   time.Duration `yaml:"default-timeout"`    // default 24h
	MaxRetries       int           `yaml:"max-retries"`        // default 3
	RetryDelay       time.Duration `yaml:"retry-delay"`        // default 5s
	PublishJobEvents bool          `yaml:"publish-job-events"` // default true
	// JobEventsTopic becomes the CloudEvents source of job events
	// (/<topic>/<job>). Default data-job-events.
	JobEventsTopic string `yaml:"job-events-topic"`
	// CheckInterval is the first engine-driven CHECK delay (jetjobs). Default 2s.
	CheckInterval time.Duration `yaml:"check-interval"`
	// MaxCheckInterval caps the CHECK backoff (jetjobs). Default 30s.
	MaxCheckInterval time.Duration `yaml:"max-check-interval"`
	// CheckBackoffMultiplier grows the CHECK delay (jetjobs). Default 1.5.
	CheckBackoffMultiplier float64 `yaml:"check-backoff-multiplier"`
	// TimerReconcileInterval is how often each engine looks for live
	// executions whose CHECK timer is missing, re-arms them and enforces
	// their deadline (jetjobs, issue 13). Default 5m.
	TimerReconcileInterval time.Duration `yaml:"timer-reconcile-interval"`
	// WorkerConcurrency is how many Work calls of one worker job type one
	// engine instance runs at once (jetjobs, docs/jobs.md "Worker jobs");
	// jobs.<name>.concurrency overrides it per job. Default 100: a slot is
	// a goroutine, and Work is mostly waiting on something else (docs/jobs.md).
	WorkerConcurrency int `yaml:"worker-concurrency"`

	Airflow          Airflow          `yaml:"airflow"`
	AWSStepFunctions AWSStepFunctions `yaml:"aws-step-functions"`
	// Resiliency is jobs/resilience's own type: its keys, defaults and
	// checks are said there (resilience.Config).
	Resiliency    resilience.Config `yaml:"resiliency"`
	Observability Observability     `yaml:"observability"`
	HealthCheck   HealthCheck       `yaml:"health-check"`
	Persistence   Persistence       `yaml:"persistence"`
}

// Airflow is `orchestration.airflow:`, the Apache Airflow REST client.
type Airflow struct {
	BaseURL    string `yaml:"base-url"`    // default "" (required by orchestrated jobs)
	APIVersion string `yaml:"api-version"` // default v1
	// AuthenticationType is BASIC, BEARER_TOKEN or NONE. Default BASIC.
	AuthenticationType   string        `yaml:"authentication-type"`
	Username             string        `yaml:"username"`                // default ""
	Password             string        `yaml:"password"`                // default "" (secret)
	BearerToken          string        `yaml:"bearer-token"`            // default "" (secret)
	DagIDPrefix          string        `yaml:"dag-id-prefix"`           // default data_job
	ConnectionTimeout    time.Duration `yaml:"connection-timeout"`      // default 10s
	RequestTimeout       time.Duration `yaml:"request-timeout"`         // default 30s
	VerifySSL            bool          `yaml:"verify-ssl"`              // default true
	MaxConcurrentDagRuns int           `yaml:"max-concurrent-dag-runs"` // default 10
}

// AWSStepFunctions is `orchestration.aws-step-functions:`.
type AWSStepFunctions struct {
	Region                  string        `yaml:"region"`                    // default us-east-1
	StateMachineARN         string        `yaml:"state-machine-arn"`         // default ""
	UseDefaultCredentials   bool          `yaml:"use-default-credentials"`   // default true
	AccessKeyID             string        `yaml:"access-key-id"`             // default "" (secret)
	SecretAccessKey         string        `yaml:"secret-access-key"`         // default "" (secret)
	SessionToken            string        `yaml:"session-token"`             // default "" (secret)
	ConnectionTimeout       time.Duration `yaml:"connection-timeout"`        // default 10s
	RequestTimeout          time.Duration `yaml:"request-timeout"`           // default 30s
	MaxConcurrentExecutions int           `yaml:"max-concurrent-executions"` // default 100
	EnableXRayTracing       bool          `yaml:"enable-x-ray-tracing"`      // default false
	// Endpoint overrides the service endpoint (LocalStack, a VPC endpoint,
	// a test server) (jetjobs). Default "" (the region's endpoint).
	Endpoint string `yaml:"endpoint"`
}

// Observability is `orchestration.observability:`.
type Observability struct {
	TracingEnabled               bool   `yaml:"tracing-enabled"`                  // default true
	TraceJobStart                bool   `yaml:"trace-job-start"`                  // default true
	TraceJobCheck                bool   `yaml:"trace-job-check"`                  // default true
	TraceJobCollect              bool   `yaml:"trace-job-collect"`                // default true
	TraceJobResult               bool   `yaml:"trace-job-result"`                 // default true
	IncludeJobParametersInTraces bool   `yaml:"include-job-parameters-in-traces"` // default false
	IncludeJobResultsInTraces    bool   `yaml:"include-job-results-in-traces"`    // default false
	MetricsEnabled               bool   `yaml:"metrics-enabled"`                  // default true
	MetricPrefix                 string `yaml:"metric-prefix"`                    // default firefly.data.job
	// TracingExporter is none, stdout or otlp (jetjobs). Default none.
	TracingExporter string `yaml:"tracing-exporter"`
	// OTLPEndpoint is the OTLP/HTTP endpoint, e.g. http://localhost:4318
	// (jetjobs). Default "" (the exporter's own default / OTEL_* env).
	OTLPEndpoint string `yaml:"otlp-endpoint"`
}

// HealthCheck is `orchestration.health-check:`.
type HealthCheck struct {
	Enabled           bool          `yaml:"enabled"`            // default true
	Timeout           time.Duration `yaml:"timeout"`            // default 5s
	Interval          time.Duration `yaml:"interval"`           // default 30s
	CheckConnectivity bool          `yaml:"check-connectivity"` // default true
	ShowDetails       bool          `yaml:"show-details"`       // default true
}

// Persistence is `orchestration.persistence:` (audit trail and results).
type Persistence struct {
	AuditEnabled             bool  `yaml:"audit-enabled"`              // default true
	IncludeStackTraces       bool  `yaml:"include-stack-traces"`       // default false
	AuditRetentionDays       int   `yaml:"audit-retention-days"`       // default 90; 0 = keep forever
	ResultPersistenceEnabled bool  `yaml:"result-persistence-enabled"` // default true
	ResultRetentionDays      int   `yaml:"result-retention-days"`      // default 30; 0 = keep forever
	EnableResultCaching      bool  `yaml:"enable-result-caching"`      // default true
	ResultCacheTTLSeconds    int   `yaml:"result-cache-ttl-seconds"`   // default 3600
	MaxDataSizeBytes         int64 `yaml:"max-data-size-bytes"`        // default 10485760 (10 MiB); 0 = unlimited
	PersistRawOutput         bool  `yaml:"persist-raw-output"`         // default true
	PersistTransformedOutput bool  `yaml:"persist-transformed-output"` // default true
	PersistInputParameters   bool  `yaml:"persist-input-parameters"`   // default true
	SanitizeSensitiveData    bool  `yaml:"sanitize-sensitive-data"`    // default true
	// ExcludedParameterKeys is a comma-separated string in YAML and env (a
	// YAML list is accepted too). Default jobs.DefaultSensitiveKeys:
	// password,passwd,pwd,passphrase,secret,token,apiKey,authorization,
	// credential,privateKey,accessKey,sessionKey,cookie,connectionString.
	ExcludedParameterKeys []string `yaml:"excluded-parameter-keys"`

	// ExecutionRetentionDays is how long JOBS_STATE keeps a terminal
	// execution (COMPLETED, FAILED, STOPPED, TIMED_OUT) after its last
	// write; live executions never expire. Default 30; 0 = keep forever.
	ExecutionRetentionDays int `yaml:"execution-retention-days"`
	// SagaRetentionDays is how long SAGAS keeps a finished saga (COMPLETED,
	// COMPENSATED, CANCELLED) after its last write; running sagas and FAILED
	// ones (which wait for an operator) never expire. Default 30; 0 = keep
	// forever.
	SagaRetentionDays int `yaml:"saga-retention-days"`
}

// NATS is `nats:`: the embedded server or the connection to an existing one.
type NATS struct {
	URL           string `yaml:"url"`            // default "" = run an embedded server
	Listen        string `yaml:"listen"`         // default 127.0.0.1:4222 (embedded server's client address)
	DataDir       string `yaml:"data-dir"`       // default ./data (embedded server's JetStream store)
	Sync          string `yaml:"sync"`           // default 1s; "always" or an fsync interval
	SubjectPrefix string `yaml:"subject-prefix"` // default jobs
	User          string `yaml:"user"`           // default ""
	Password      string `yaml:"password"`       // default "" (secret)
	Token         string `yaml:"token"`          // default "" (secret)
	Creds         string `yaml:"creds"`          // default "" (path of a .creds file)
	NKey          string `yaml:"nkey"`           // default "" (secret)
	TLSCert       string `yaml:"tls-cert"`       // default ""
	TLSKey        string `yaml:"tls-key"`        // default ""
	TLSCA         string `yaml:"tls-ca"`         // default ""
	// ConnectTimeout bounds the initial connect. Default 5s.
	ConnectTimeout time.Duration `yaml:"connect-timeout"`
	// Replicas of streams and KV buckets (3 in a cluster). Default 1.
	Replicas int `yaml:"replicas"`
	// DuplicateWindow is the command stream's dedup window. Default 2m.
	DuplicateWindow time.Duration `yaml:"duplicate-window"`
	// MaxDeliver is how many poison deliveries (an engine error, a panic, a
	// message too large to store) a command gets before the DLQ; outages
	// do not count. Default 5.
	MaxDeliver int           `yaml:"max-deliver"`
	AckWait    time.Duration `yaml:"ack-wait"` // default 30s
	// CommandConcurrency is how many stages of one job type run at once. Default
	// 256: a stage that waits on I/O (its state write, the job's own calls)
	// holds a slot, and at 64 a 2-core machine sat 8% idle in a burn-down.
	CommandConcurrency int `yaml:"command-concurrency"`
	// DLQMaxAge is how long JOBS_DLQ keeps a dead letter, which holds the
	// original command, parameters included, for replay (so it may hold
	// secrets). Default 336h (14 days); 0 keeps them until an operator
	// removes them (the behaviour before this key).
	DLQMaxAge time.Duration `yaml:"dlq-max-age"`
	// Limits bound every stream and bucket (limits.go). Default
	// DefaultLimits().
	Limits Limits `yaml:"limits"`

	// Server secures the embedded server (nats.url empty). Default: the
	// engine's generated nkey, no other user, no TLS.
	Server NATSServer `yaml:"server"`
	// InboxPrefix is the prefix of the engine's own reply subjects (its
	// calls, its publish acks), so that permissions can name it. Default
	// _INBOX.
	InboxPrefix string `yaml:"inbox-prefix"`
	// ReplyPrefixes are subject patterns (* and >) a command's replyto may
	// use besides _INBOX.> and {inbox-prefix}.>; never under $ subjects nor
	// nats.subject-prefix. Default none.
	ReplyPrefixes []string `yaml:"reply-prefixes"`
	// RedeliveryBackoff is the wait before the 1st, 2nd, ... redelivery of a
	// command that could not be processed (an outage, a refusal, poison),
	// the last repeating: durations, a comma-separated string in env.
	// Default 1s,5s,30s,2m,5m.
	RedeliveryBackoff []string `yaml:"redelivery-backoff"`
	// PublishRetry is how long the engine's client (REST adapter, saga
	// coordinator) and the CLI resend a command that got no answer from
	// JetStream (a leader election), with the same Nats-Msg-Id; 0 publishes
	// once. Default 15s.
	PublishRetry time.Duration `yaml:"publish-retry"`
}

// Values of nats.server.auth.
const (
	NATSAuthGenerated = "generated"
	NATSAuthNone      = "none"
)

// NATSListenOff is the nats.listen value that opens no TCP port: the
// embedded server is reached in-process only.
const NATSListenOff = "off"

// NATSServer is `nats.server:`, who the embedded server admits.
type NATSServer struct {
	// Auth is generated (the engine signs in with an nkey whose seed it
	// keeps in {nats.data-dir}/nats-engine.nk, mode 0600) or none (no
	// authentication: anyone who reaches the port may do anything).
	// Default generated.
	Auth string `yaml:"auth"`
	// Users are more users of the embedded server, keyed by name (file
	// only, not env). Default none.
	Users   map[string]NATSUser `yaml:"users"`
	TLSCert string              `yaml:"tls-cert"` // default "" (no TLS); the server's certificate
	TLSKey  string              `yaml:"tls-key"`  // default ""; its key
	TLSCA   string              `yaml:"tls-ca"`   // default ""; set: clients must present a certificate it signed
}

// NATSUser is `nats.server.users.<name>:`. Exactly one of password and
// nkey is set; empty permission lists allow everything.
type NATSUser struct {
	Password  string   `yaml:"password"`  // default "" (secret); the user signs in as <name>/password
	NKey      string   `yaml:"nkey"`      // default ""; a public user nkey (U...), the name is then a label
	Publish   []string `yaml:"publish"`   // default none = any subject
	Subscribe []string `yaml:"subscribe"` // default none = any subject
}

// HTTP is `http:`, the REST adapter.
type HTTP struct {
	Addr           string        `yaml:"addr"`            // default "127.0.0.1:8080"; "" disables the REST adapter
	BasePath       string        `yaml:"base-path"`       // default /api/v1
	RequestTimeout time.Duration `yaml:"request-timeout"` // default 30s
	MaxBodyBytes   int64         `yaml:"max-body-bytes"`  // default 1048576 (1 MiB)

	// REST security (docs/rest.md, "Authentication"); see security.go.
	TLSCert string   `yaml:"tls-cert"` // default "" (PEM file; with tls-key the listener speaks HTTPS)
	TLSKey  string   `yaml:"tls-key"`  // default "" (PEM file)
	Auth    HTTPAuth `yaml:"auth"`
	CORS    HTTPCORS `yaml:"cors"`
}

// Log is `log:`.
type Log struct {
	Level  string `yaml:"level"`  // default info; trace|debug|info|warn|error
	Format string `yaml:"format"` // default json; json|console
}

// Job is `jobs.<name>:`, overrides for one job type. Zero values inherit.
type Job struct {
	BasePath       string        `yaml:"base-path"`       // default "" = {http.base-path}/<job>
	DefaultTimeout time.Duration `yaml:"default-timeout"` // default 0 = orchestration.default-timeout
	CheckInterval  time.Duration `yaml:"check-interval"`  // default 0 = orchestration.check-interval
	StageTimeout   time.Duration `yaml:"stage-timeout"`   // default 0 = orchestration.resiliency.stage-timeout
	Concurrency    int           `yaml:"concurrency"`     // worker jobs: default 0 = orchestration.worker-concurrency
	// Orchestrated declares a job with no Go code that delegates to the
	// configured orchestrator. Default nil.
	Orchestrated *Orchestrated `yaml:"orchestrated"`
	// Schedules start the job periodically or once (schedules.go,
	// docs/schedules.md). Default none.
	Schedules []Schedule `yaml:"schedules"`
}

// Orchestrated is `jobs.<name>.orchestrated:`.
type Orchestrated struct {
	// JobDefinition is the DAG id or state machine ARN. Required.
	JobDefinition string `yaml:"job-definition"`
	// OrchestratorType runs this job on another orchestrator than
	// orchestration.orchestrator-type: APACHE_AIRFLOW, AWS_STEP_FUNCTIONS or
	// CUSTOM, any case. Default "" (orchestration.orchestrator-type).
	OrchestratorType string `yaml:"orchestrator-type"`
}

// OrchestratorTypeOf is the orchestrator an orchestrated job runs on: its
// own orchestrator-type, else orchestration.orchestrator-type.
func (c Config) OrchestratorTypeOf(o *Orchestrated) string {
	if o != nil && o.OrchestratorType != "" {
		return o.OrchestratorType
	}
	return c.Orchestration.OrchestratorType
}

// OrchestratorTypesInUse lists orchestration.orchestrator-type (unless
// NONE) and every orchestrator-type of an orchestrated job, once each.
func (c Config) OrchestratorTypesInUse() []string {
	seen := map[string]bool{}
	var out []string
	add := func(t string) {
		if t != "" && t != OrchestratorNone && !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	add(c.Orchestration.OrchestratorType)
	for _, name := range sortedJobNames(c.Jobs) {
		if j := c.Jobs[name]; j.Orchestrated != nil {
			add(c.OrchestratorTypeOf(j.Orchestrated))
		}
	}
	return out
}

// Default returns the documented defaults, all filled.
func Default() Config {
	return Config{
		Orchestration: Orchestration{
			Enabled:                true,
			OrchestratorType:       OrchestratorAirflow,
			DefaultTimeout:         24 * time.Hour,
			MaxRetries:             3,
			RetryDelay:             5 * time.Second,
			PublishJobEvents:       true,
			JobEventsTopic:         "data-job-events",
			CheckInterval:          2 * time.Second,
			MaxCheckInterval:       30 * time.Second,
			CheckBackoffMultiplier: 1.5,
			TimerReconcileInterval: 5 * time.Minute,
			WorkerConcurrency:      100,
			Airflow: Airflow{
				APIVersion:           "v1",
				AuthenticationType:   AuthBasic,
				DagIDPrefix:          "data_job",
				ConnectionTimeout:    10 * time.Second,
				RequestTimeout:       30 * time.Second,
				VerifySSL:            true,
				MaxConcurrentDagRuns: 10,
			},
			AWSStepFunctions: AWSStepFunctions{
				Region:                  "us-east-1",
				UseDefaultCredentials:   true,
				ConnectionTimeout:       10 * time.Second,
				RequestTimeout:          30 * time.Second,
				MaxConcurrentExecutions: 100,
			},
			Resiliency: resilience.DefaultConfig(),
			Observability: Observability{
				TracingEnabled:  true,
				TraceJobStart:   true,
				TraceJobCheck:   true,
				TraceJobCollect: true,
				TraceJobResult:  true,
				MetricsEnabled:  true,
				MetricPrefix:    "firefly.data.job",
				TracingExporter: "none",
			},
			HealthCheck: HealthCheck{
				Enabled:           true,
				Timeout:           5 * time.Second,
				Interval:          30 * time.Second,
				CheckConnectivity: true,
				ShowDetails:       true,
			},
			Persistence: Persistence{
				AuditEnabled:             true,
				AuditRetentionDays:       90,
				ResultPersistenceEnabled: true,
				ResultRetentionDays:      30,
				EnableResultCaching:      true,
				ResultCacheTTLSeconds:    3600,
				MaxDataSizeBytes:         10 << 20,
				PersistRawOutput:         true,
				PersistTransformedOutput: true,
				PersistInputParameters:   true,
				SanitizeSensitiveData:    true,
				ExcludedParameterKeys:    slices.Clone(jobs.DefaultSensitiveKeys),
				ExecutionRetentionDays:   30,
				SagaRetentionDays:        30,
			},
		},
		NATS: NATS{
			Listen:             "127.0.0.1:4222",
			DataDir:            "./data",
			Sync:               "1s",
			SubjectPrefix:      "jobs",
			ConnectTimeout:     5 * time.Second,
			Replicas:           1,
			DuplicateWindow:    2 * time.Minute,
			MaxDeliver:         5,
			AckWait:            30 * time.Second,
			CommandConcurrency: 256,
			DLQMaxAge:          14 * 24 * time.Hour,
			Limits:             DefaultLimits(),
			Server:             NATSServer{Auth: NATSAuthGenerated},
			InboxPrefix:        "_INBOX",
			RedeliveryBackoff:  defaultRedeliveryBackoff(),
			PublishRetry:       15 * time.Second,
		},
		HTTP: HTTP{
			Addr:           "127.0.0.1:8080",
			BasePath:       "/api/v1",
			RequestTimeout: 30 * time.Second,
			MaxBodyBytes:   1 << 20,
			Auth:           defaultHTTPAuth(),
		},
		Log: Log{Level: "info", Format: "json"},

		Console: DefaultConsole(),
	}
}

// SyncPolicy reads nats.sync: always reports "always" (fsync per write),
// otherwise interval is the fsync interval. Call it on a validated Config.
func (n NATS) SyncPolicy() (interval time.Duration, always bool) {
	if n.Sync == SyncAlways {
		return 0, true
	}
	d, _ := time.ParseDuration(n.Sync)
	return d, false
}

// EffectiveJob returns the settings of job type name with the inherited
// values filled in: base path, default timeout and check interval.
func (c Config) EffectiveJob(name string) Job {
	j := c.Jobs[name]
	if j.BasePath == "" {
		j.BasePath = c.HTTP.BasePath + "/" + name
	}
	if j.DefaultTimeout == 0 {
		j.DefaultTimeout = c.Orchestration.DefaultTimeout
	}
	if j.CheckInterval == 0 {
		j.CheckInterval = c.Orchestration.CheckInterval
	}
	if j.Orchestrated != nil {
		o := *j.Orchestrated // don't hand out the map's pointer
		j.Orchestrated = &o
	}
	return j
}
