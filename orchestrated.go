package jetjobs

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/jetjobs/jetjobs/httpadapter"
	"github.com/jetjobs/jetjobs/internal/config"
	"github.com/jetjobs/jetjobs/jobs"
	"github.com/jetjobs/jetjobs/jobs/orchestrated"
	"github.com/jetjobs/jetjobs/orchestrators/airflow"
	"github.com/jetjobs/jetjobs/orchestrators/stepfunctions"
)

// WithOrchestrator registers o as the orchestrator of type typ:
// "CUSTOM" (what orchestrator-type: CUSTOM runs on), or APACHE_AIRFLOW /
// AWS_STEP_FUNCTIONS to use o instead of the built-in adapter (a test
// double, a client configured in code). The engine wraps it in the
// orchestration.max-retries policy like the built-in ones.
func WithOrchestrator(typ string, o orchestrated.Orchestrator) Option {
	return func(e *Engine) {
		if e.orchGiven == nil {
			e.orchGiven = map[string]orchestrated.Orchestrator{}
		}
		e.orchGiven[strings.ToUpper(strings.TrimSpace(typ))] = o
	}
}

// Orchestrator is the engine's orchestrator of type typ ("" for
// orchestration.orchestrator-type), built from the configuration on first
// use and shared: job code calls it from its own stages. Its calls are
// retried as orchestration.max-retries and retry-delay say.
func (e *Engine) Orchestrator(typ string) (orchestrated.Orchestrator, error) {
	return e.orchestrator(typ, "orchestration.orchestrator-type")
}

// orchestrator builds (once) the orchestrator of typ; key names the
// setting that asked for it, for the error.
func (e *Engine) orchestrator(typ, key string) (orchestrated.Orchestrator, error) {
	typ = strings.ToUpper(strings.TrimSpace(typ))
	if typ == "" {
		typ = e.cfg.Orchestration.OrchestratorType
	}
	e.orchMu.Lock()
	defer e.orchMu.Unlock()
	if o, ok := e.orchs[typ]; ok {
		return o, nil
	}
	o, err := e.buildOrchestrator(typ, key)
	if err != nil {
		return nil, err
	}
	rp := orchestrated.RetryPolicy{MaxRetries: e.cfg.Orchestration.MaxRetries, Delay: e.cfg.Orchestration.RetryDelay,
		OnRetry: func(op string, attempt int, err error) {
			e.log.Info().Str("orchestrator", typ).Str("call", op).Int("attempt", attempt).Str("error", err.Error()).
				Msg("retrying orchestrator call")
		}}
	w := orchestrated.WithRetry(o, rp)
	if e.orchs == nil {
		e.orchs = map[string]*orchestrated.Retrying{}
	}
	e.orchs[typ] = w
	return w, nil
}

func (e *Engine) buildOrchestrator(typ, key string) (orchestrated.Orchestrator, error) {
	if o, ok := e.orchGiven[typ]; ok {
		if o == nil {
			return nil, fmt.Errorf("config: %s: %s: jetjobs.WithOrchestrator was given a nil orchestrator", key, typ)
		}
		return o, nil
	}
	o := e.cfg.Orchestration
	switch typ {
	case config.OrchestratorAirflow:
		if o.Airflow.BaseURL == "" {
			return nil, fmt.Errorf("config: %s is APACHE_AIRFLOW: needs orchestration.airflow.base-url", key)
		}
		a, err := airflow.New(o.Airflow)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		e.closers = append(e.closers, a.Close)
		return a, nil
	case config.OrchestratorAWSStepFunctions:
		s, err := stepfunctions.New(o.AWSStepFunctions)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		e.closers = append(e.closers, s.Close)
		return s, nil
	case config.OrchestratorCustom:
		return nil, fmt.Errorf("config: %s is CUSTOM: no orchestrator is registered; pass jetjobs.WithOrchestrator(%q, o) to jetjobs.New", key, config.OrchestratorCustom)
	}
	return nil, fmt.Errorf("config: %s is %q: no orchestrator of that type", key, typ)
}

// setUpOrchestrators builds the orchestrators the configuration names: the
// default one (an Airflow without base-url is simply not configured; a
// CUSTOM one that is not registered is an error) and every registered one.
// Orchestrated jobs build theirs as they are registered.
func (e *Engine) setUpOrchestrators() error {
	o := e.cfg.Orchestration
	if o.Enabled && o.OrchestratorType != config.OrchestratorNone &&
		(o.OrchestratorType != config.OrchestratorAirflow || o.Airflow.BaseURL != "" || e.orchGiven[config.OrchestratorAirflow] != nil) {
		if _, err := e.Orchestrator(""); err != nil {
			return err
		}
	}
	for _, typ := range slices.Sorted(maps.Keys(e.orchGiven)) {
		if _, err := e.orchestrator(typ, "jetjobs.WithOrchestrator"); err != nil {
			return err
		}
	}
	return nil
}

// registerOrchestrated registers a job declared in the `jobs:` tree with
// `orchestrated.job-definition`: the generic orchestrated job on its
// orchestrator (jobs.<name>.orchestrated.orchestrator-type, else
// orchestration.orchestrator-type).
func (e *Engine) registerOrchestrated(name string, jc config.Job) error {
	if !e.cfg.Orchestration.Enabled {
		return fmt.Errorf("config: jobs.%s.orchestrated: needs orchestration.enabled true", name)
	}
	key := "orchestration.orchestrator-type"
	if jc.Orchestrated.OrchestratorType != "" {
		key = "jobs." + name + ".orchestrated.orchestrator-type"
	}
	orch, err := e.orchestrator(e.cfg.OrchestratorTypeOf(jc.Orchestrated), key)
	if err != nil {
		return fmt.Errorf("%w (for jobs.%s.orchestrated)", err, name)
	}
	definition := jc.Orchestrated.JobDefinition
	desc := orch.Type() + " job definition " + definition
	switch inner := orch.(*orchestrated.Retrying).Unwrap().(type) {
	case *airflow.Orchestrator:
		dag := inner.DagID(definition)
		if err := airflow.ValidateDagID(dag); err != nil {
			return fmt.Errorf("config: jobs.%s.orchestrated.job-definition: %w", name, err)
		}
		desc = "Apache Airflow DAG " + dag
	case *stepfunctions.Orchestrator:
		arn, err := inner.StateMachineARN(definition)
		if err != nil {
			return fmt.Errorf("config: jobs.%s.orchestrated.job-definition: %w", name, err)
		}
		definition, desc = arn, "AWS Step Functions state machine "+arn
	}
	if err := e.reg.Register(name, orchestrated.New(orch, definition), jobs.WithDescription(desc)); err != nil {
		return fmt.Errorf("config: jobs.%s: %w", name, err)
	}
	return nil
}

// orchestratorChecks is what /health/jobOrchestrator contacts: every
// orchestrator built so far, unless orchestration.health-check.enabled or
// check-connectivity is false.
func (e *Engine) orchestratorChecks() *httpadapter.OrchestratorChecks {
	hc := e.cfg.Orchestration.HealthCheck
	if !hc.Enabled || !hc.CheckConnectivity {
		return nil
	}
	var now func() time.Time
	if e.clock != nil {
		now = e.clock.Now
	}
	return httpadapter.NewOrchestratorChecks(e.healthCheckers, hc.Timeout, hc.Interval, now)
}

// healthCheckers lists the orchestrators built so far that can be
// health-checked, by type.
func (e *Engine) healthCheckers() map[string]orchestrated.HealthChecker {
	e.orchMu.Lock()
	defer e.orchMu.Unlock()
	checkers := map[string]orchestrated.HealthChecker{}
	for typ, o := range e.orchs {
		if _, ok := o.Unwrap().(orchestrated.HealthChecker); ok {
			checkers[typ] = o
		}
	}
	return checkers
}

// closeOrchestrators closes the idle connections of the built-in adapters.
func (e *Engine) closeOrchestrators() {
	e.orchMu.Lock()
	defer e.orchMu.Unlock()
	for _, c := range e.closers {
		c()
	}
	e.closers = nil
}
