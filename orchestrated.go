package jetjobs

import (
	"fmt"

	"github.com/jetjobs/jetjobs/internal/config"
	"github.com/jetjobs/jetjobs/jobs"
	"github.com/jetjobs/jetjobs/jobs/orchestrated"
	"github.com/jetjobs/jetjobs/orchestrators/airflow"
)

// registerOrchestrated registers a job declared in the `jobs:` tree with
// `orchestrated.job-definition`: the generic orchestrated job on the
// configured orchestrator (Apache Airflow; one client shared by all of them).
func (e *Engine) registerOrchestrated(name string, jc config.Job) error {
	o := e.cfg.Orchestration
	switch {
	case !o.Enabled:
		return fmt.Errorf("config: jobs.%s.orchestrated: needs orchestration.enabled true", name)
	case o.OrchestratorType == config.OrchestratorAWSStepFunctions:
		return fmt.Errorf("config: jobs.%s.orchestrated: orchestrator-type AWS_STEP_FUNCTIONS is not available in this build (no AWS SDK); use APACHE_AIRFLOW", name)
	case o.OrchestratorType != config.OrchestratorAirflow:
		return fmt.Errorf("config: jobs.%s.orchestrated: orchestration.orchestrator-type is %q; an orchestrated job needs APACHE_AIRFLOW", name, o.OrchestratorType)
	case o.Airflow.BaseURL == "":
		return fmt.Errorf("config: jobs.%s.orchestrated: needs orchestration.airflow.base-url", name)
	}
	if e.airflow == nil {
		orch, err := airflow.New(o.Airflow)
		if err != nil {
			return fmt.Errorf("config: %w", err)
		}
		e.airflow = orch
	}
	dag := e.airflow.DagID(jc.Orchestrated.JobDefinition)
	if err := airflow.ValidateDagID(dag); err != nil {
		return fmt.Errorf("config: jobs.%s.orchestrated.job-definition: %w", name, err)
	}
	if err := e.reg.Register(name, orchestrated.New(e.airflow, jc.Orchestrated.JobDefinition),
		jobs.WithDescription("Apache Airflow DAG "+dag)); err != nil {
		return fmt.Errorf("config: jobs.%s: %w", name, err)
	}
	return nil
}
