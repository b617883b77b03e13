// Package config is the engine's process configuration: one YAML file,
// environment overrides, then validation (docs/configuration.md).
//
// The orchestration tree keeps the original Spring library's property names
// (kebab-case) and defaults, so an existing application.yaml section can be
// pasted in. Keys added by jetjobs (nats, http, log, jobs and a few
// orchestration keys) follow the same style.
//
// A component that owns its keys owns their type: orchestration.resiliency
// is jobs/resilience's Config (its fields, defaults and Validate), held here
// as it is; Default takes its defaults and Validate reports its problems as
// FieldErrors. Everything else is declared in types.go.
//
// Loading is strict on purpose: a typo in a key or a bad value stops start-up
// with the full key named, instead of silently running with a default.
//
//	cfg, err := config.Load(path, os.Environ())
//
// Order of precedence, lowest first: [Default], the YAML file, environment
// variables. Every leaf key has an environment variable named by [EnvName]
// (JETJOBS_ORCHESTRATION_DEFAULT_TIMEOUT for orchestration.default-timeout).
// Any other variable starting with JETJOBS_ is an error, except
// [EnvConfigFile], which is reserved for the path of the file itself.
// The per-job map (jobs.<name>) is set from the file only.
//
// Print the effective configuration with cfg.Masked().YAML(): secrets are
// replaced by "****".
package config
