package airflow

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/jetjobs/jetjobs/jobs"
	"github.com/jetjobs/jetjobs/jobs/orchestrated"
)

// Airflow's own limits on a DAG id: letters, digits, _ . - and at most 250.
var dagIDRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,250}$`)

// DagID is the DAG a job definition runs: prefix + "_" + definition, unless
// the definition already carries the prefix (it equals the prefix or starts
// with prefix + "_"). A trailing "_" of the prefix is not doubled; an empty
// prefix leaves the definition as it is. With the default prefix data_job:
// "import" → "data_job_import", "data_job_import" → "data_job_import",
// "data_jobs" → "data_job_data_jobs".
func DagID(prefix, definition string) string {
	p := strings.TrimSuffix(prefix, "_")
	if p == "" || definition == p || strings.HasPrefix(definition, p+"_") {
		return definition
	}
	return p + "_" + definition
}

// ValidateDagID checks a DAG id against Airflow's rules.
func ValidateDagID(id string) error {
	if !dagIDRE.MatchString(id) {
		return fmt.Errorf("DAG id %q: want 1 to 250 of A-Z a-z 0-9 _ . -", id)
	}
	return nil
}

// DagID is the DAG this orchestrator runs for a job definition.
func (o *Orchestrator) DagID(definition string) string { return DagID(o.prefix, definition) }

// ExecutionIDFor is "<dag_id>/<dag_run_id>": the DAG of the definition and
// the execution name as the dag_run_id.
func (o *Orchestrator) ExecutionIDFor(def orchestrated.JobDefinition) string {
	return o.DagID(def.DefinitionID) + "/" + def.ExecutionName
}

// splitID reads "<dag_id>/<dag_run_id>".
func splitID(executionID string) (dag, run string, err error) {
	dag, run, ok := strings.Cut(executionID, "/")
	if !ok || dag == "" || run == "" {
		return "", "", jobs.Errorf(jobs.CodeInvalidArgument, "airflow: execution id %q: want <dag_id>/<dag_run_id>", executionID)
	}
	return dag, run, nil
}

// StartJob triggers a dag run named def.ExecutionName with def.Input as its
// conf; a run of that name that already exists is answered as it is. At
// most max-concurrent-dag-runs calls run at once; the others wait (until
// ctx ends).
func (o *Orchestrator) StartJob(ctx context.Context, def orchestrated.JobDefinition) (*orchestrated.Execution, error) {
	dag := o.DagID(def.DefinitionID)
	if err := ValidateDagID(dag); err != nil {
		return nil, jobs.Permanent(fmt.Errorf("airflow: trigger job definition %q: %w", def.DefinitionID, err))
	}
	select {
	case o.sem <- struct{}{}:
		defer func() { <-o.sem }()
	case <-ctx.Done():
		return nil, fmt.Errorf("airflow: trigger dag run %q of dag %q: waiting for one of max-concurrent-dag-runs (%d): %w",
			def.ExecutionName, dag, cap(o.sem), ctx.Err())
	}
	conf := def.Input
	if conf == nil {
		conf = map[string]any{}
	}
	body := map[string]any{"conf": conf}
	if def.ExecutionName != "" {
		body["dag_run_id"] = def.ExecutionName
	}
	if o.version != "v1" {
		// Airflow 3 (api/v2) requires the field; null means "now".
		body["logical_date"] = nil
	}
	c := call{op: "trigger", method: http.MethodPost, dag: dag, run: def.ExecutionName, body: body}
	run, status, err := o.do(ctx, c, o.path(dag, ""))
	if status == http.StatusConflict && def.ExecutionName != "" {
		// The run exists: this START ran before. Answer that run.
		run, _, err = o.do(ctx, call{op: "read existing", method: http.MethodGet, dag: dag, run: def.ExecutionName},
			o.path(dag, def.ExecutionName))
	}
	if err != nil {
		return nil, err
	}
	return o.execution(dag, def.ExecutionName, run), nil
}

// CheckJobStatus reads the dag run's state.
func (o *Orchestrator) CheckJobStatus(ctx context.Context, executionID string) (orchestrated.Status, error) {
	ex, err := o.GetJobExecution(ctx, executionID)
	if err != nil {
		return "", err
	}
	return ex.Status, nil
}

// GetJobExecution reads the dag run.
func (o *Orchestrator) GetJobExecution(ctx context.Context, executionID string) (*orchestrated.Execution, error) {
	dag, id, err := splitID(executionID)
	if err != nil {
		return nil, err
	}
	run, _, err := o.do(ctx, call{op: "read", method: http.MethodGet, dag: dag, run: id}, o.path(dag, id))
	if err != nil {
		return nil, err
	}
	return o.execution(dag, id, run), nil
}

// StopJob marks a queued or running dag run failed (Airflow stops its
// tasks) and answers the state Airflow reports then. A run that has
// already ended is left as it is. Airflow has nowhere to keep reason.
func (o *Orchestrator) StopJob(ctx context.Context, executionID, _ string) (orchestrated.Status, error) {
	cur, err := o.GetJobExecution(ctx, executionID)
	if err != nil {
		return "", err
	}
	if cur.Status.Terminal() {
		return cur.Status, nil
	}
	dag, id, _ := splitID(executionID)
	c := call{op: "stop", method: http.MethodPatch, dag: dag, run: id, body: map[string]string{"state": "failed"}}
	run, _, err := o.do(ctx, c, o.path(dag, id))
	if err != nil {
		return "", err
	}
	return o.execution(dag, id, run).Status, nil
}

// Status maps a dag run state. An unknown state maps to "" (the caller
// reports it).
func Status(state string) orchestrated.Status {
	switch strings.ToLower(state) {
	case "queued":
		return orchestrated.StatusQueued
	case "running":
		return orchestrated.StatusRunning
	case "success":
		return orchestrated.StatusSucceeded
	case "failed":
		return orchestrated.StatusFailed
	}
	return ""
}

// execution turns a DAGRun into the port's Execution. Output is what
// Airflow knows of a finished run: its ids, state, conf, dates and note.
func (o *Orchestrator) execution(dag, id string, run *dagRun) *orchestrated.Execution {
	if run.DagID != "" {
		dag = run.DagID
	}
	if run.DagRunID != "" {
		id = run.DagRunID
	}
	st := Status(run.State)
	if st == "" {
		// Not a dag run state this adapter knows: the orchestrated job
		// refuses it by name rather than guessing.
		st = orchestrated.Status("AIRFLOW_" + strings.ToUpper(run.State))
	}
	conf := run.Conf
	if conf == nil {
		conf = map[string]any{}
	}
	out := map[string]any{"dagId": dag, "dagRunId": id, "state": run.State, "conf": conf}
	for k, v := range map[string]*string{"logicalDate": run.LogicalDate, "startDate": run.StartDate, "endDate": run.EndDate, "note": run.Note} {
		if v != nil && *v != "" {
			out[k] = *v
		}
	}
	ex := &orchestrated.Execution{
		ExecutionID: dag + "/" + id, ExecutionName: id, DefinitionID: dag, Status: st,
		StartTime: parseTime(run.StartDate), StopTime: parseTime(run.EndDate), Input: conf, Output: out,
	}
	if st == orchestrated.StatusFailed {
		ex.Error = fmt.Sprintf("Airflow dag run %q of dag %q failed", id, dag)
		if run.Note != nil && *run.Note != "" {
			ex.Error += ": " + *run.Note
		}
	}
	return ex
}

func parseTime(s *string) *time.Time {
	if s == nil || *s == "" {
		return nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999-07:00", "2006-01-02T15:04:05.999999"} {
		if t, err := time.Parse(layout, *s); err == nil {
			t = t.UTC()
			return &t
		}
	}
	return nil
}
