package config

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jetjobs/jetjobs/jobs/resilience"
)

// FieldError is one validation problem; Key is the full dotted key.
type FieldError struct {
	Key     string
	Message string
}

func (e *FieldError) Error() string { return e.Key + ": " + e.Message }

var (
	subjectPrefixRE = regexp.MustCompile(`^[a-z0-9_-]+(\.[a-z0-9_-]+)*$`)
	jobNameRE       = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)
	dagIDPrefixRE   = regexp.MustCompile(`^[A-Za-z0-9_.-]*$`)
	metricPrefixRE  = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$`)
)

// checker collects problems so one start-up shows all of them.
type checker struct{ errs []error }

func (c *checker) add(key, format string, args ...any) {
	c.errs = append(c.errs, &FieldError{Key: key, Message: fmt.Sprintf(format, args...)})
}

// merge adds the problems of a component's own Validate (each a
// *resilience.ConfigError naming its full key) as FieldErrors, so that
// Validate's answer and its Spring renaming (compat.go) treat them alike.
func (c *checker) merge(err error) {
	if err == nil {
		return
	}
	list := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list = j.Unwrap()
	}
	for _, e := range list {
		var ce *resilience.ConfigError
		if errors.As(e, &ce) {
			c.add(ce.Key, "%s", ce.Message)
		} else {
			c.errs = append(c.errs, e)
		}
	}
}

func (c *checker) atLeast(key string, v, lo int64) {
	if v < lo {
		c.add(key, "must be >= %d, got %d", lo, v)
	}
}

func (c *checker) positive(key string, d time.Duration) {
	if d <= 0 {
		c.add(key, "must be > 0, got %s", formatDuration(d))
	}
}

func (c *checker) nonNegative(key string, d time.Duration) {
	if d < 0 {
		c.add(key, "must be >= 0, got %s", formatDuration(d))
	}
}

func (c *checker) oneOf(key, v string, allowed ...string) {
	for _, a := range allowed {
		if v == a {
			return
		}
	}
	c.add(key, "must be one of %s, got %q", strings.Join(allowed, "|"), v)
}

func (c *checker) hostPort(key, v string) {
	host, port, err := net.SplitHostPort(v)
	if err == nil {
		n, perr := strconv.Atoi(port)
		if perr != nil || n < 0 || n > 65535 || strings.ContainsAny(host, " /") {
			err = errors.New("bad port or host")
		}
	}
	if err != nil {
		c.add(key, "must be host:port (host may be empty), got %q", v)
	}
}

func (c *checker) httpURL(key, v string) {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		c.add(key, "must be an http(s) URL, got %q", v)
	}
}

// basePath accepts "" or "/a/b": a leading slash and no trailing one, so
// base-path + "/" + job never doubles a slash.
func (c *checker) basePath(key, v string) {
	if v != "" && (!strings.HasPrefix(v, "/") || strings.HasSuffix(v, "/") || strings.ContainsAny(v, " ?#")) {
		c.add(key, "must be empty or a path like /api/v1 (leading /, no trailing /), got %q", v)
	}
}

// Validate checks ranges, enums and formats. It returns every problem,
// joined, each a *FieldError naming its key. Load calls it; call it again
// after changing a Config in code. Enum values must be in canonical case
// (Load normalizes them).
func (c Config) Validate() error {
	var k checker
	c.validateOrchestration(&k)
	c.validateNATS(&k)
	c.validateLimits(&k)

	h := c.HTTP
	if h.Addr != "" {
		k.hostPort("http.addr", h.Addr)
	}
	k.basePath("http.base-path", h.BasePath)
	k.positive("http.request-timeout", h.RequestTimeout)
	k.atLeast("http.max-body-bytes", h.MaxBodyBytes, 1)
	c.validateHTTPSecurity(&k)

	k.oneOf("log.level", c.Log.Level, "trace", "debug", "info", "warn", "error")
	k.oneOf("log.format", c.Log.Format, "json", "console")

	c.validateJobs(&k)
	return errors.Join(k.errs...)
}

func (c Config) validateOrchestration(k *checker) {
	const p = "orchestration."
	o := c.Orchestration
	k.oneOf(p+"orchestrator-type", o.OrchestratorType, OrchestratorAirflow, OrchestratorAWSStepFunctions, OrchestratorCustom, OrchestratorNone)
	c.validateOrchestrators(k)
	k.positive(p+"default-timeout", o.DefaultTimeout)
	k.atLeast(p+"max-retries", int64(o.MaxRetries), 0)
	k.nonNegative(p+"retry-delay", o.RetryDelay)
	if o.JobEventsTopic == "" || strings.ContainsAny(o.JobEventsTopic, " \t/") {
		k.add(p+"job-events-topic", "must be a non-empty name without spaces or /, got %q", o.JobEventsTopic)
	}
	k.positive(p+"check-interval", o.CheckInterval)
	k.positive(p+"max-check-interval", o.MaxCheckInterval)
	if o.MaxCheckInterval < o.CheckInterval {
		k.add(p+"max-check-interval", "must be >= orchestration.check-interval (%s), got %s",
			formatDuration(o.CheckInterval), formatDuration(o.MaxCheckInterval))
	}
	if !(o.CheckBackoffMultiplier >= 1) {
		k.add(p+"check-backoff-multiplier", "must be >= 1, got %v", o.CheckBackoffMultiplier)
	}
	k.positive(p+"timer-reconcile-interval", o.TimerReconcileInterval)
	k.atLeast(p+"worker-concurrency", int64(o.WorkerConcurrency), 1)

	a := o.Airflow
	const pa = p + "airflow."
	if a.BaseURL != "" {
		k.httpURL(pa+"base-url", a.BaseURL)
	}
	if a.APIVersion == "" {
		k.add(pa+"api-version", "must not be empty")
	}
	k.oneOf(pa+"authentication-type", a.AuthenticationType, AuthBasic, AuthBearerToken, AuthNone)
	// Credentials matter only when Airflow is the orchestrator in use.
	if o.OrchestratorType == OrchestratorAirflow && a.BaseURL != "" {
		if a.AuthenticationType == AuthBasic && a.Username == "" {
			k.add(pa+"username", "must be set when authentication-type is BASIC")
		}
		if a.AuthenticationType == AuthBearerToken && a.BearerToken == "" {
			k.add(pa+"bearer-token", "must be set when authentication-type is BEARER_TOKEN")
		}
	}
	if !dagIDPrefixRE.MatchString(a.DagIDPrefix) {
		k.add(pa+"dag-id-prefix", "must contain only letters, digits, _ . -, got %q", a.DagIDPrefix)
	}
	k.positive(pa+"connection-timeout", a.ConnectionTimeout)
	k.positive(pa+"request-timeout", a.RequestTimeout)
	k.atLeast(pa+"max-concurrent-dag-runs", int64(a.MaxConcurrentDagRuns), 1)

	s := o.AWSStepFunctions
	const ps = p + "aws-step-functions."
	if s.Region == "" {
		k.add(ps+"region", "must not be empty")
	}
	if s.StateMachineARN != "" && !strings.HasPrefix(s.StateMachineARN, "arn:") {
		k.add(ps+"state-machine-arn", "must be an ARN (arn:...), got %q", s.StateMachineARN)
	}
	if o.OrchestratorType == OrchestratorAWSStepFunctions && !s.UseDefaultCredentials {
		if s.AccessKeyID == "" {
			k.add(ps+"access-key-id", "must be set when use-default-credentials is false")
		}
		if s.SecretAccessKey == "" {
			k.add(ps+"secret-access-key", "must be set when use-default-credentials is false")
		}
	}
	k.positive(ps+"connection-timeout", s.ConnectionTimeout)
	k.positive(ps+"request-timeout", s.RequestTimeout)
	k.atLeast(ps+"max-concurrent-executions", int64(s.MaxConcurrentExecutions), 1)

	k.merge(o.Resiliency.Validate()) // jobs/resilience checks its own keys

	ob := o.Observability
	const po = p + "observability."
	if ob.MetricPrefix != "" && !metricPrefixRE.MatchString(ob.MetricPrefix) {
		k.add(po+"metric-prefix", "must be dot-separated words of letters, digits and _, got %q", ob.MetricPrefix)
	}
	k.oneOf(po+"tracing-exporter", ob.TracingExporter, "none", "stdout", "otlp")
	if ob.OTLPEndpoint != "" {
		k.httpURL(po+"otlp-endpoint", ob.OTLPEndpoint)
	}

	k.positive(p+"health-check.timeout", o.HealthCheck.Timeout)
	k.positive(p+"health-check.interval", o.HealthCheck.Interval)

	ps2 := o.Persistence
	const pp = p + "persistence."
	k.atLeast(pp+"audit-retention-days", int64(ps2.AuditRetentionDays), 0)
	k.atLeast(pp+"result-retention-days", int64(ps2.ResultRetentionDays), 0)
	if ps2.EnableResultCaching {
		k.atLeast(pp+"result-cache-ttl-seconds", int64(ps2.ResultCacheTTLSeconds), 1)
	} else {
		k.atLeast(pp+"result-cache-ttl-seconds", int64(ps2.ResultCacheTTLSeconds), 0)
	}
	k.atLeast(pp+"max-data-size-bytes", ps2.MaxDataSizeBytes, 0)
	for _, key := range ps2.ExcludedParameterKeys {
		if strings.TrimSpace(key) == "" || strings.Contains(key, ",") {
			k.add(pp+"excluded-parameter-keys", "entries must be non-empty and contain no comma, got %q", key)
		}
	}
}

func (c Config) validateNATS(k *checker) {
	n := c.NATS
	if n.URL == "" { // embedded server
		if n.Listen != NATSListenOff {
			k.hostPort("nats.listen", n.Listen)
		}
		if n.DataDir == "" {
			k.add("nats.data-dir", "must not be empty when nats.url is empty (embedded server)")
		}
	} else {
		for u := range strings.SplitSeq(n.URL, ",") {
			u = strings.TrimSpace(u)
			if !validNATSURL(u) {
				k.add("nats.url", "must be a comma-separated list of nats://, tls://, ws:// or wss:// URLs, got %q", maskUserinfo(u))
			}
		}
	}
	if n.Sync != SyncAlways {
		if d, err := time.ParseDuration(n.Sync); err != nil || d <= 0 {
			k.add("nats.sync", `must be "always" or a duration > 0, got %q`, n.Sync)
		}
	}
	if !subjectPrefixRE.MatchString(n.SubjectPrefix) {
		k.add("nats.subject-prefix", "must match %s, got %q", subjectPrefixRE, n.SubjectPrefix)
	}
	// nats.go would send all of them; more than one is a mistake.
	set := 0
	for _, s := range []string{n.User, n.Token, n.Creds, n.NKey} {
		if s != "" {
			set++
		}
	}
	if set > 1 {
		k.add("nats.user", "only one of nats.user, nats.token, nats.creds, nats.nkey may be set")
	}
	if n.Password != "" && n.User == "" {
		k.add("nats.password", "needs nats.user")
	}
	if (n.TLSCert == "") != (n.TLSKey == "") {
		k.add("nats.tls-cert", "nats.tls-cert and nats.tls-key must be set together")
	}
	k.positive("nats.connect-timeout", n.ConnectTimeout)
	if n.Replicas < 1 || n.Replicas > 5 {
		k.add("nats.replicas", "must be in [1,5], got %d", n.Replicas)
	}
	k.positive("nats.duplicate-window", n.DuplicateWindow)
	k.atLeast("nats.max-deliver", int64(n.MaxDeliver), 1)
	k.positive("nats.ack-wait", n.AckWait)
	k.atLeast("nats.command-concurrency", int64(n.CommandConcurrency), 1)
	k.nonNegative("nats.dlq-max-age", n.DLQMaxAge)
	k.nonNegative("nats.publish-retry", n.PublishRetry)
	c.validateNATSSecurity(k)
	c.validateRedelivery(k)
}

func validNATSURL(s string) bool {
	if !strings.Contains(s, "://") {
		s = "nats://" + s // nats.go accepts bare host:port
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return false
	}
	switch u.Scheme {
	case "nats", "tls", "ws", "wss":
		return true
	}
	return false
}

func (c Config) validateJobs(k *checker) {
	for _, name := range slices.Sorted(maps.Keys(c.Jobs)) { // stable error order
		j := c.Jobs[name]
		p := "jobs." + name
		if !jobNameRE.MatchString(name) {
			k.add(p, "job name must match %s", jobNameRE)
		}
		k.basePath(p+".base-path", j.BasePath)
		k.nonNegative(p+".default-timeout", j.DefaultTimeout)
		k.nonNegative(p+".check-interval", j.CheckInterval)
		k.nonNegative(p+".stage-timeout", j.StageTimeout)
		k.atLeast(p+".concurrency", int64(j.Concurrency), 0)
		c.validateSchedules(k, name, j.Schedules)
		if j.Orchestrated == nil {
			continue
		}
		if j.Orchestrated.JobDefinition == "" {
			k.add(p+".orchestrated.job-definition", "must not be empty")
		}
		c.validateOrchestratedJob(k, p, j.Orchestrated)
	}
}
