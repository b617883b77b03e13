package config

import (
	"maps"
	"net/url"
	"slices"
	"strings"
)

// This file holds the checks of the orchestrators an engine runs at once:
// orchestration.orchestrator-type and each orchestrated job's own
// orchestrator-type (see docs/orchestrators.md).

func sortedJobNames(m map[string]Job) []string { return slices.Sorted(maps.Keys(m)) }

// normalizeOrchestrated upper-cases each jobs.<name>.orchestrated.orchestrator-type.
func (c *Config) normalizeOrchestrated() {
	for name, j := range c.Jobs {
		if j.Orchestrated != nil && j.Orchestrated.OrchestratorType != "" {
			o := *j.Orchestrated
			o.OrchestratorType = strings.ToUpper(strings.TrimSpace(o.OrchestratorType))
			j.Orchestrated = &o
			c.Jobs[name] = j
		}
	}
}

// uses reports whether typ is the default orchestrator or that of an
// orchestrated job.
func (c Config) uses(typ string) bool { return slices.Contains(c.OrchestratorTypesInUse(), typ) }

// validateOrchestrators checks what depends on which orchestrators are in
// use, and the keys added for Step Functions.
func (c Config) validateOrchestrators(k *checker) {
	const ps = "orchestration.aws-step-functions."
	s := c.Orchestration.AWSStepFunctions
	if s.Endpoint != "" {
		if u, err := url.Parse(s.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			k.add(ps+"endpoint", "must be an http(s) URL, got %q", s.Endpoint)
		}
	}
	// A job that overrides its orchestrator needs that one's credentials
	// as much as the default one does.
	if c.Orchestration.OrchestratorType != OrchestratorAWSStepFunctions && c.uses(OrchestratorAWSStepFunctions) && !s.UseDefaultCredentials {
		if s.AccessKeyID == "" {
			k.add(ps+"access-key-id", "must be set when use-default-credentials is false")
		}
		if s.SecretAccessKey == "" {
			k.add(ps+"secret-access-key", "must be set when use-default-credentials is false")
		}
	}
	a := c.Orchestration.Airflow
	if c.Orchestration.OrchestratorType != OrchestratorAirflow && c.uses(OrchestratorAirflow) && a.BaseURL != "" {
		if a.AuthenticationType == AuthBasic && a.Username == "" {
			k.add("orchestration.airflow.username", "must be set when authentication-type is BASIC")
		}
		if a.AuthenticationType == AuthBearerToken && a.BearerToken == "" {
			k.add("orchestration.airflow.bearer-token", "must be set when authentication-type is BEARER_TOKEN")
		}
	}
}

// validateOrchestratedJob checks jobs.<name>.orchestrated against the
// orchestrator it runs on.
func (c Config) validateOrchestratedJob(k *checker, p string, j *Orchestrated) {
	o := c.Orchestration
	typ := c.OrchestratorTypeOf(j)
	if j.OrchestratorType != "" {
		k.oneOf(p+".orchestrated.orchestrator-type", j.OrchestratorType, OrchestratorAirflow, OrchestratorAWSStepFunctions, OrchestratorCustom)
	}
	switch {
	case !o.Enabled || typ == OrchestratorNone:
		k.add(p+".orchestrated", "needs orchestration.enabled true and an orchestration.orchestrator-type (or jobs.<name>.orchestrated.orchestrator-type) other than NONE")
	case typ == OrchestratorAirflow && o.Airflow.BaseURL == "":
		k.add(p+".orchestrated", "needs orchestration.airflow.base-url")
	case typ == OrchestratorAWSStepFunctions && j.JobDefinition != "" && !strings.HasPrefix(j.JobDefinition, "arn:") &&
		o.AWSStepFunctions.StateMachineARN == "":
		k.add(p+".orchestrated.job-definition", "must be a state machine ARN, or a state machine name with orchestration.aws-step-functions.state-machine-arn set, got %q", j.JobDefinition)
	}
}
