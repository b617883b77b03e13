package jetjobs_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jetjobs/jetjobs"
	"github.com/jetjobs/jetjobs/httpadapter"
	"github.com/jetjobs/jetjobs/jetjobstest"
	"github.com/jetjobs/jetjobs/jobs"
	"github.com/jetjobs/jetjobs/orchestrators/airflow/airflowtest"
	"github.com/jetjobs/jetjobs/orchestrators/stepfunctions/stepfunctionstest"
)

const sfnMachine = "arn:aws:states:eu-west-1:123456789012:stateMachine:import"

// sfnYAML declares sfn-import with no Go code: a Step Functions job whose
// definition is a state machine name next to state-machine-arn, its
// orchestrator named in lower case (normalized). The default orchestrator
// stays Airflow, on airflowURL: two orchestrators at once.
const sfnYAML = `
orchestration:
  orchestrator-type: APACHE_AIRFLOW
  retry-delay: 10ms
  airflow:
    base-url: %AIRFLOW%
    authentication-type: NONE
  aws-step-functions:
    region: eu-west-1
    state-machine-arn: arn:aws:states:eu-west-1:123456789012:stateMachine:other
    endpoint: %SFN%
    use-default-credentials: false
    access-key-id: AKIDE2E
    secret-access-key: e2e-secret
  health-check:
    interval: 1ns
    timeout: 2s
jobs:
  sfn-import:
    orchestrated:
      job-definition: import
      orchestrator-type: aws_step_functions
  dag-import:
    orchestrated:
      job-definition: import
`

// sfnHarness loads sfnYAML (the fakes' URLs filled in) and runs an engine
// with its orchestration and jobs trees.
func sfnHarness(t *testing.T, sfn *stepfunctionstest.Server, af *airflowtest.Server) *jetjobstest.Harness {
	t.Helper()
	path := filepath.Join(t.TempDir(), "engine.yaml")
	doc := strings.NewReplacer("%SFN%", sfn.URL, "%AIRFLOW%", af.URL).Replace(sfnYAML)
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	loaded, err := jetjobs.LoadConfig(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return jetjobstest.New(t, nil, jetjobstest.WithConfig(func(c *jetjobs.Config) {
		c.Orchestration.OrchestratorType = loaded.Orchestration.OrchestratorType
		c.Orchestration.RetryDelay = loaded.Orchestration.RetryDelay
		c.Orchestration.Airflow = loaded.Orchestration.Airflow
		c.Orchestration.AWSStepFunctions = loaded.Orchestration.AWSStepFunctions
		c.Orchestration.HealthCheck = loaded.Orchestration.HealthCheck
		c.Jobs = loaded.Jobs
	}))
}

// START → engine CHECKs → COMPLETED with the execution's output as the
// result; a START delivered again starts nothing new.
func TestOrchestratedStepFunctionsJobEndToEnd(t *testing.T) {
	t.Parallel()
	sfn := stepfunctionstest.NewServer(t, stepfunctionstest.WithAccessKey("AKIDE2E"))
	h := sfnHarness(t, sfn, airflowtest.NewServer(t))
	arn := stepfunctionstest.ExecutionARN(sfnMachine, "sfn-1")
	req := &jobs.Request{ExecutionID: "sfn-1", Parameters: map[string]any{"datasetId": "sales-2026"}}
	start := h.Call(t, "sfn-import", jobs.StageStart, req)
	if !start.Success || start.Status != jobs.StatusStarted || start.Data["orchestratorExecutionId"] != arn {
		t.Fatalf("start: %+v", start)
	}
	ex, ok := sfn.Execution(arn)
	if !ok || ex.Input != `{"datasetId":"sales-2026"}` || ex.StateMachineARN != sfnMachine {
		t.Fatalf("execution %+v (found %v)", ex, ok)
	}
	if again := h.Call(t, "sfn-import", jobs.StageStart, req); !again.Success || sfn.Executions() != 1 {
		t.Fatalf("second start: %+v, %d executions", again, sfn.Executions())
	}
	// CHECK while it runs reports the state it is in (GetExecutionHistory).
	sfn.EnterState(t, arn, "LoadRows")
	if check := h.Call(t, "sfn-import", jobs.StageCheck, &jobs.Request{ExecutionID: "sfn-1"}); check.Status != jobs.StatusRunning ||
		!strings.HasSuffix(check.Message, "is RUNNING: in state LoadRows") {
		t.Fatalf("check: %+v", check)
	}
	// The engine keeps checking while it runs, and through a throttled call.
	sfn.FailNext(http.StatusBadRequest, "ThrottlingException")
	sfn.Succeed(t, arn, `{"rows":42,"file":"s3://bucket/out.csv"}`)
	done := h.WaitEvent(t, "sfn-import", "sfn-1", jobs.EventCompleted)
	if done.Data.Status != jobs.StatusCompleted || done.Data.Data["rows"] != 42.0 || done.Data.Data["file"] != "s3://bucket/out.csv" {
		t.Fatalf("JOB_COMPLETED data: %+v", done.Data)
	}
	result := h.Call(t, "sfn-import", jobs.StageResult, &jobs.Request{ExecutionID: "sfn-1"})
	if !result.Success || result.Data["rows"] != 42.0 {
		t.Fatalf("result: %+v", result)
	}
	def, _ := h.Engine.Registry().Lookup("sfn-import")
	if def.Options.Description != "AWS Step Functions state machine "+sfnMachine {
		t.Fatalf("description %q", def.Options.Description)
	}
}

// FAILED and TIMED_OUT executions end FAILED with the error and cause;
// STOP stops the execution with the reason as its cause and ends STOPPED.
func TestOrchestratedStepFunctionsFailureAndStop(t *testing.T) {
	t.Parallel()
	sfn := stepfunctionstest.NewServer(t)
	h := sfnHarness(t, sfn, airflowtest.NewServer(t))
	for _, tc := range []struct {
		id      string
		end     func(arn string)
		wantErr string
	}{
		{"sfn-fail", func(arn string) { sfn.Fail(t, arn, "States.TaskFailed", "lambda exploded") }, "ended FAILED: States.TaskFailed: lambda exploded"},
		{"sfn-timeout", func(arn string) { sfn.TimeOut(t, arn) }, "ended TIMED_OUT: States.Timeout"},
		{"sfn-abort", func(arn string) { sfn.Abort(t, arn, "stopped in the console") }, "ended ABORTED: stopped in the console"},
	} {
		h.Call(t, "sfn-import", jobs.StageStart, &jobs.Request{ExecutionID: tc.id})
		tc.end(stepfunctionstest.ExecutionARN(sfnMachine, tc.id))
		ev := h.WaitEvent(t, "sfn-import", tc.id, jobs.EventFailed)
		if ev.Data.Error == nil || !strings.Contains(*ev.Data.Error, tc.wantErr) {
			t.Fatalf("%s: JOB_FAILED %+v", tc.id, ev.Data)
		}
	}

	h.Call(t, "sfn-import", jobs.StageStart, &jobs.Request{ExecutionID: "sfn-stop"})
	stop := h.Call(t, "sfn-import", jobs.StageStop, &jobs.Request{ExecutionID: "sfn-stop", Reason: "wrong dataset"})
	if !stop.Success || stop.Status != jobs.StatusStopped {
		t.Fatalf("stop: %+v", stop)
	}
	h.WaitEvent(t, "sfn-import", "sfn-stop", jobs.EventStopped)
	ex, _ := sfn.Execution(stepfunctionstest.ExecutionARN(sfnMachine, "sfn-stop"))
	if ex.Status != stepfunctionstest.Aborted || ex.Cause != "wrong dataset" {
		t.Fatalf("execution after STOP: %+v", ex)
	}
}

// While the service is unreachable CHECKs fail transiently and the
// execution stays RUNNING; it completes once the service answers again.
// (Here: a run of injected 503s longer than max-retries.)
func TestOrchestratedStepFunctionsOutage(t *testing.T) {
	t.Parallel()
	sfn := stepfunctionstest.NewServer(t)
	h := sfnHarness(t, sfn, airflowtest.NewServer(t))
	h.Call(t, "sfn-import", jobs.StageStart, &jobs.Request{ExecutionID: "sfn-out"})
	for range 12 { // three CHECKs' worth at max-retries 3
		sfn.FailNext(http.StatusServiceUnavailable, "ServiceUnavailable")
	}
	arn := stepfunctionstest.ExecutionARN(sfnMachine, "sfn-out")
	sfn.Succeed(t, arn, `{"ok":true}`)
	done := h.WaitEvent(t, "sfn-import", "sfn-out", jobs.EventCompleted)
	if done.Data.Data["ok"] != true {
		t.Fatalf("JOB_COMPLETED %+v", done.Data)
	}
}

// /health/jobOrchestrator contacts both orchestrators and reports DOWN,
// naming the one that does not answer.
func TestOrchestratorHealth(t *testing.T) {
	t.Parallel()
	sfn := stepfunctionstest.NewServer(t)
	af := airflowtest.NewServer(t)
	h := sfnHarness(t, sfn, af)
	health := func() (int, httpadapter.Health) {
		rec := httptest.NewRecorder()
		h.Engine.Router().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/health/jobOrchestrator", nil))
		var body httpadapter.Health
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
		return rec.Code, body
	}
	code, body := health()
	if code != http.StatusOK || body.Status != httpadapter.StatusUp ||
		body.Components["orchestrator:APACHE_AIRFLOW"].Status != httpadapter.StatusUp ||
		body.Components["orchestrator:AWS_STEP_FUNCTIONS"].Status != httpadapter.StatusUp {
		t.Fatalf("both up: %d %+v", code, body)
	}
	if !strings.Contains(strings.Join(sfn.Calls(), ","), "DescribeStateMachine") {
		t.Fatalf("step functions not contacted: %v", sfn.Calls())
	}
	for _, tc := range []struct {
		name, component string
		stop            func()
	}{
		{"airflow down", "orchestrator:APACHE_AIRFLOW", af.Stop},
		{"step functions down", "orchestrator:AWS_STEP_FUNCTIONS", sfn.Stop},
	} {
		tc.stop()
		code, body = health()
		c := body.Components[tc.component]
		reason, _ := c.Details["error"].(string)
		if code != http.StatusServiceUnavailable || body.Status != httpadapter.StatusDown || c.Status != httpadapter.StatusDown || reason == "" {
			t.Fatalf("%s: %d %+v", tc.name, code, body)
		}
	}
}

// health-check.enabled or check-connectivity false: the orchestrators are
// not contacted, the endpoint lists the job types as before.
func TestOrchestratorHealthSwitchedOff(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		edit func(*jetjobs.Config)
	}{
		{"check-connectivity false", func(c *jetjobs.Config) { c.Orchestration.HealthCheck.CheckConnectivity = false }},
		{"enabled false", func(c *jetjobs.Config) { c.Orchestration.HealthCheck.Enabled = false }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			af := airflowtest.NewServer(t)
			h := airflowHarness(t, af, tc.edit)
			af.Stop()
			rec := httptest.NewRecorder()
			h.Engine.Router().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/health/jobOrchestrator", nil))
			if rec.Code != http.StatusOK || strings.Contains(rec.Body.String(), "orchestrator:") || !strings.Contains(rec.Body.String(), "dag-import") {
				t.Fatalf("%d %s", rec.Code, rec.Body)
			}
		})
	}
}
