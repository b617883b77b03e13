package jetjobs_test

import (
	"context"
	"fmt"

	"github.com/jetjobs/jetjobs"
	"github.com/jetjobs/jetjobs/jobs"
	"github.com/jetjobs/jetjobs/jobs/orchestrated"
	"github.com/jetjobs/jetjobs/orchestrators/airflow"
	"github.com/jetjobs/jetjobs/orchestrators/airflow/airflowtest"
)

// dagImportJob is the original library's pattern in Go: a job that holds
// an injected orchestrator and calls it from its own stages, adding what
// the generic YAML-declared job cannot (here: a parameter check and its
// own progress message).
type dagImportJob struct {
	jobs.AsyncDefaults
	orch orchestrated.Orchestrator // airflow.New, stepfunctions.New, or Engine.Orchestrator
}

func (j *dagImportJob) definition(req *jobs.Request) orchestrated.JobDefinition {
	return orchestrated.JobDefinition{JobName: req.JobType, DefinitionID: "import", ExecutionName: req.ExecutionID,
		Input: req.Parameters}
}

// executionID is the orchestrator's id of req's execution, derived again
// in every stage (later stages do not see START's answer).
func (j *dagImportJob) executionID(req *jobs.Request) string {
	if r, ok := j.orch.(orchestrated.ExecutionIDResolver); ok {
		return r.ExecutionIDFor(j.definition(req))
	}
	return req.ExecutionID
}

func (j *dagImportJob) Start(ctx context.Context, req *jobs.Request) (*jobs.Response, error) {
	if _, err := req.String("datasetId"); err != nil {
		return nil, err
	}
	ex, err := j.orch.StartJob(ctx, j.definition(req))
	if err != nil {
		return nil, err // transient errors are retried, jobs.Permanent ones are not
	}
	return jobs.Started("triggered " + ex.ExecutionID), nil
}

func (j *dagImportJob) Check(ctx context.Context, req *jobs.Request) (*jobs.Response, error) {
	st, err := j.orch.CheckJobStatus(ctx, j.executionID(req))
	if err != nil {
		return nil, err // transient: the execution stays running and is checked again
	}
	switch st {
	case orchestrated.StatusSucceeded:
		return jobs.Completed("import done", nil), nil
	case orchestrated.StatusFailed, orchestrated.StatusTimedOut, orchestrated.StatusAborted:
		return jobs.Failed("import ended " + string(st)), nil
	}
	return jobs.Running(50, "import is "+string(st)), nil
}

func (j *dagImportJob) Stop(ctx context.Context, req *jobs.Request) (*jobs.Response, error) {
	st, err := j.orch.StopJob(ctx, j.executionID(req), req.Reason)
	if err != nil {
		return nil, err
	}
	return &jobs.Response{Success: true, Message: "import " + string(st)}, nil
}

// A job struct with an injected orchestrator, tested against the fake
// Airflow. In an engine, register it like any job; to share the engine's
// configured (and retried) orchestrator instead of building one, register
// it after jetjobs.New with the orchestrator from eng.Orchestrator("").
func Example_injectedOrchestrator() {
	srv := airflowtest.Start()
	defer srv.Close()

	cfg := jetjobs.DefaultConfig().Orchestration.Airflow
	cfg.BaseURL, cfg.AuthenticationType = srv.URL, "NONE"
	orch, err := airflow.New(cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer orch.Close()
	job := &dagImportJob{orch: orch}
	reg := jobs.NewRegistry()
	reg.MustRegister("dag-import", job)

	// The engine calls the stages; here the example does.
	ctx := context.Background()
	req := &jobs.Request{JobType: "dag-import", ExecutionID: "imp-1", Parameters: map[string]any{"datasetId": "sales"}}
	resp, _ := job.Start(ctx, req)
	fmt.Println(resp.Status, resp.Message)
	resp, _ = job.Check(ctx, req)
	fmt.Println(resp.Status, resp.Message)
	_ = srv.Move("data_job_import", "imp-1", "success")
	resp, _ = job.Check(ctx, req)
	fmt.Println(resp.Status, resp.Message)
	// Output:
	// STARTED triggered data_job_import/imp-1
	// RUNNING import is QUEUED
	// COMPLETED import done
}
