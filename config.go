package jetjobs

import (
	"github.com/jetjobs/jetjobs/internal/config"
	"github.com/jetjobs/jetjobs/jobs/resilience"
)

// The configuration's types live in internal/config, where they are
// loaded, defaulted and validated (and where jobs/resilience's type is held
// as it is). These aliases give each part of the tree a public name, so a
// program that builds a Config in code can name what it builds; they are
// the same types, not copies (docs/configuration.md, "Configuration in
// code").

// Config is the engine's configuration (docs/configuration.md).
type Config = config.Config

// OrchestrationConfig is `orchestration:`, the job engine's own settings.
type OrchestrationConfig = config.Orchestration

// AirflowConfig is `orchestration.airflow:`, the Apache Airflow REST client.
type AirflowConfig = config.Airflow

// AWSStepFunctionsConfig is `orchestration.aws-step-functions:`.
type AWSStepFunctionsConfig = config.AWSStepFunctions

// ResiliencyConfig is `orchestration.resiliency:`, jobs/resilience's own type.
type ResiliencyConfig = resilience.Config

// ObservabilityConfig is `orchestration.observability:`, tracing and metrics.
type ObservabilityConfig = config.Observability

// HealthCheckConfig is `orchestration.health-check:`.
type HealthCheckConfig = config.HealthCheck

// PersistenceConfig is `orchestration.persistence:`, audit trail, results and sanitizing.
type PersistenceConfig = config.Persistence

// NATSConfig is `nats:`, the embedded server or the connection to an existing one.
type NATSConfig = config.NATS

// NATSServerConfig is `nats.server:`, who the embedded server admits.
type NATSServerConfig = config.NATSServer

// NATSUserConfig is `nats.server.users.<name>:`, one more user of the embedded server.
type NATSUserConfig = config.NATSUser

// LimitsConfig is `nats.limits:`, the bound of every stream and bucket.
type LimitsConfig = config.Limits

// StreamLimits bounds one stream by age and size (`nats.limits.<stream>:`).
type StreamLimits = config.StreamLimits

// SizeLimit bounds one stream or bucket whose age another key sets.
type SizeLimit = config.SizeLimit

// HTTPConfig is `http:`, the REST adapter.
type HTTPConfig = config.HTTP

// HTTPAuthConfig is `http.auth:`, how REST callers are authenticated.
type HTTPAuthConfig = config.HTTPAuth

// JWTConfig is `http.auth.jwt:`, bearer JWTs signed by an identity provider.
type JWTConfig = config.HTTPAuthJWT

// CORSConfig is `http.cors:`, the origins whose browsers may call the API.
type CORSConfig = config.HTTPCORS

// LogConfig is `log:`, level and format.
type LogConfig = config.Log

// JobConfig is `jobs.<name>:`, the overrides of one job type.
type JobConfig = config.Job

// OrchestratedConfig is `jobs.<name>.orchestrated:`, a job run by an orchestrator.
type OrchestratedConfig = config.Orchestrated

// ScheduleConfig is one entry of `jobs.<name>.schedules:`.
type ScheduleConfig = config.Schedule

// ConsoleConfig is `console:`, the web console at /ui.
type ConsoleConfig = config.Console

// FieldError is one problem Config.Validate reports; Key is the full dotted key.
type FieldError = config.FieldError

// DefaultConfig returns every documented default.
func DefaultConfig() Config { return config.Default() }

// LoadConfig reads defaults, then the YAML file at path ("" for none), then
// JETJOBS_* environment overrides, and validates the result.
func LoadConfig(path string, env []string) (Config, error) { return config.Load(path, env) }
