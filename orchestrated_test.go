package jetjobs_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jetjobs/jetjobs"
	"github.com/jetjobs/jetjobs/internal/config"
	"github.com/jetjobs/jetjobs/jetjobstest"
	"github.com/jetjobs/jetjobs/jobs"
	"github.com/jetjobs/jetjobs/orchestrators/airflow/airflowtest"
)

// airflowHarness runs an engine whose only job, dag-import, is declared in
// configuration and delegates to a fake Airflow (DAG data_job_import).
func airflowHarness(t *testing.T, srv *airflowtest.Server, edits ...func(*jetjobs.Config)) *jetjobstest.Harness {
	t.Helper()
	return jetjobstest.New(t, nil, jetjobstest.WithConfig(func(c *jetjobs.Config) {
		c.Orchestration.OrchestratorType = config.OrchestratorAirflow
		c.Orchestration.Airflow.BaseURL = srv.URL
		c.Orchestration.Airflow.AuthenticationType = config.AuthNone
		c.Jobs = map[string]config.Job{"dag-import": {Orchestrated: &config.Orchestrated{JobDefinition: "import"}}}
		for _, edit := range edits {
			edit(c)
		}
	}))
}

// A job with no Go code: START triggers a dag run over NATS, the engine's
// own CHECKs see it succeed, JOB_COMPLETED and RESULT carry the run's conf.
func TestOrchestratedAirflowJobEndToEnd(t *testing.T) {
	t.Parallel()
	srv := airflowtest.NewServer(t)
	h := airflowHarness(t, srv)
	req := &jobs.Request{ExecutionID: "imp-1", Parameters: map[string]any{"datasetId": "sales-2026", "apiToken": "s3cr3t"}}
	start := h.Call(t, "dag-import", jobs.StageStart, req)
	if !start.Success || start.Status != jobs.StatusStarted || start.Data["orchestratorExecutionId"] != "data_job_import/imp-1" {
		t.Fatalf("start: %+v", start)
	}
	run, ok := srv.Run("data_job_import", "imp-1")
	if !ok || run.Conf["datasetId"] != "sales-2026" {
		t.Fatalf("dag run %+v (found %v)", run, ok)
	}
	// START again with the same executionId: the same execution, one dag run.
	if again := h.Call(t, "dag-import", jobs.StageStart, req); !again.Success || again.ExecutionID != "imp-1" || srv.Runs() != 1 {
		t.Fatalf("second start: %+v, %d runs", again, srv.Runs())
	}

	srv.SetState(t, "data_job_import", "imp-1", "running")
	srv.SetState(t, "data_job_import", "imp-1", "success")
	done := h.WaitEvent(t, "dag-import", "imp-1", jobs.EventCompleted)
	conf, _ := done.Data.Data["conf"].(map[string]any)
	if done.Data.Status != jobs.StatusCompleted || conf["datasetId"] != "sales-2026" || done.Data.Data["dagRunId"] != "imp-1" {
		t.Fatalf("JOB_COMPLETED data: %+v", done.Data)
	}
	if conf["apiToken"] != jobs.Mask {
		t.Fatalf("stored result shows apiToken = %v", conf["apiToken"])
	}

	result := h.Call(t, "dag-import", jobs.StageResult, &jobs.Request{ExecutionID: "imp-1"})
	conf, _ = result.Data["conf"].(map[string]any)
	if !result.Success || conf["datasetId"] != "sales-2026" || result.Data["state"] != "success" {
		t.Fatalf("result: %+v", result)
	}
	if exec := h.Execution(t, "dag-import", "imp-1"); exec.Status != jobs.StatusCompleted {
		t.Fatalf("record: %+v", exec)
	}
}

// STOP marks the dag run failed and ends the execution STOPPED; a dag run
// that fails ends its execution FAILED with the run named.
func TestOrchestratedAirflowStopAndFailure(t *testing.T) {
	t.Parallel()
	srv := airflowtest.NewServer(t)
	h := airflowHarness(t, srv)

	h.Call(t, "dag-import", jobs.StageStart, &jobs.Request{ExecutionID: "imp-stop"})
	stop := h.Call(t, "dag-import", jobs.StageStop, &jobs.Request{ExecutionID: "imp-stop", Reason: "wrong dataset"})
	if !stop.Success || stop.Status != jobs.StatusStopped {
		t.Fatalf("stop: %+v", stop)
	}
	h.WaitEvent(t, "dag-import", "imp-stop", jobs.EventStopped)
	if run, _ := srv.Run("data_job_import", "imp-stop"); run.State != "failed" {
		t.Fatalf("dag run after STOP: %s", run.State)
	}

	h.Call(t, "dag-import", jobs.StageStart, &jobs.Request{ExecutionID: "imp-fail"})
	srv.SetNote("data_job_import", "imp-fail", "task load failed")
	srv.SetState(t, "data_job_import", "imp-fail", "failed")
	ev := h.WaitEvent(t, "dag-import", "imp-fail", jobs.EventFailed)
	if ev.Data.Error == nil || !strings.Contains(*ev.Data.Error, `dag run "imp-fail"`) || !strings.Contains(*ev.Data.Error, "task load failed") {
		t.Fatalf("JOB_FAILED: %+v", ev.Data)
	}
}

func TestOrchestratedConfigErrors(t *testing.T) {
	t.Parallel()
	orchestratedCfg := func(edit func(*jetjobs.Config)) jetjobs.Config {
		c := jetjobs.DefaultConfig()
		c.Orchestration.Airflow.BaseURL = "http://127.0.0.1:1"
		c.Orchestration.Airflow.AuthenticationType = config.AuthNone
		c.Jobs = map[string]config.Job{"dag-import": {Orchestrated: &config.Orchestrated{JobDefinition: "import"}}}
		if edit != nil {
			edit(&c)
		}
		return c
	}
	for _, tc := range []struct {
		name     string
		cfg      jetjobs.Config
		register bool
		want     string
	}{
		{"step functions", orchestratedCfg(func(c *jetjobs.Config) {
			c.Orchestration.OrchestratorType = config.OrchestratorAWSStepFunctions
		}), false, "jobs.dag-import.orchestrated.job-definition: must be a state machine ARN"},
		{"custom not registered", orchestratedCfg(func(c *jetjobs.Config) {
			c.Orchestration.OrchestratorType = config.OrchestratorCustom
		}), false, "config: orchestration.orchestrator-type is CUSTOM: no orchestrator is registered"},
		{"job on custom not registered", orchestratedCfg(func(c *jetjobs.Config) {
			c.Jobs["dag-import"] = config.Job{Orchestrated: &config.Orchestrated{JobDefinition: "x", OrchestratorType: config.OrchestratorCustom}}
		}), false, "config: jobs.dag-import.orchestrated.orchestrator-type is CUSTOM: no orchestrator is registered"},
		{"none", orchestratedCfg(func(c *jetjobs.Config) { c.Orchestration.OrchestratorType = config.OrchestratorNone }),
			false, "orchestration.orchestrator-type"},
		{"no base url", orchestratedCfg(func(c *jetjobs.Config) { c.Orchestration.Airflow.BaseURL = "" }),
			false, "orchestration.airflow.base-url"},
		{"registered in code", orchestratedCfg(nil), true, "jobs.dag-import"},
		{"bad dag id", orchestratedCfg(func(c *jetjobs.Config) {
			c.Jobs["dag-import"] = config.Job{Orchestrated: &config.Orchestrated{JobDefinition: "imp/ort"}}
		}), false, "jobs.dag-import.orchestrated.job-definition"},
		{"basic without password", orchestratedCfg(func(c *jetjobs.Config) {
			c.Orchestration.Airflow.AuthenticationType = config.AuthBasic
		}), false, "orchestration.airflow.username"},
	} {
		reg := jobs.NewRegistry()
		if tc.register {
			reg.MustRegister("dag-import", jobs.SyncJob(syncNoop{}))
		}
		_, err := jetjobs.New(tc.cfg, reg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to contain %q", tc.name, err, tc.want)
		}
	}

	// Orchestrated entries register their job, with the per-job settings.
	reg := jobs.NewRegistry()
	cfg := orchestratedCfg(func(c *jetjobs.Config) {
		c.Jobs["dag-import"] = config.Job{BasePath: "/imports", Orchestrated: &config.Orchestrated{JobDefinition: "data_job_import"}}
	})
	if _, err := jetjobs.New(cfg, reg); err != nil {
		t.Fatal(err)
	}
	def, ok := reg.Lookup("dag-import")
	if !ok || def.Async == nil || def.Options.BasePath != "/imports" || def.Options.Description != "Apache Airflow DAG data_job_import" {
		t.Fatalf("registered: %+v", def)
	}
}

type syncNoop struct{}

func (syncNoop) Execute(_ context.Context, _ *jobs.Request) (*jobs.Response, error) {
	return jobs.Completed("ok", nil), nil
}
