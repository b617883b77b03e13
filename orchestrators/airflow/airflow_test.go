package airflow_test

import (
	"context"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jetjobs/jetjobs/internal/config"
	"github.com/jetjobs/jetjobs/jobs"
	"github.com/jetjobs/jetjobs/jobs/orchestrated"
	"github.com/jetjobs/jetjobs/orchestrators/airflow"
	"github.com/jetjobs/jetjobs/orchestrators/airflow/airflowtest"
)

// newOrch builds an orchestrator on srv with the defaults, authentication
// NONE, and edit applied.
func newOrch(t *testing.T, srv *airflowtest.Server, edit func(*config.Airflow)) *airflow.Orchestrator {
	t.Helper()
	cfg := config.Default().Orchestration.Airflow
	cfg.BaseURL, cfg.AuthenticationType = srv.URL, config.AuthNone
	if edit != nil {
		edit(&cfg)
	}
	o, err := airflow.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(o.Close)
	return o
}

func def(name string) orchestrated.JobDefinition {
	return orchestrated.JobDefinition{JobName: "dag-import", DefinitionID: "import", ExecutionName: name,
		Input: map[string]any{"datasetId": "ds-1", "batch": 10.0}}
}

func TestDagID(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ prefix, def, want string }{
		{"data_job", "import", "data_job_import"},
		{"data_job", "data_job_import", "data_job_import"},
		{"data_job", "data_job", "data_job"},
		{"data_job", "data_jobs", "data_job_data_jobs"},
		{"data_job_", "import", "data_job_import"},
		{"data_job_", "data_job_import", "data_job_import"},
		{"", "import", "import"},
	} {
		if got := airflow.DagID(tc.prefix, tc.def); got != tc.want {
			t.Errorf("DagID(%q, %q) = %q, want %q", tc.prefix, tc.def, got, tc.want)
		}
	}
	if airflow.ValidateDagID("data_job_import.v2-x") != nil || airflow.ValidateDagID("a/b") == nil || airflow.ValidateDagID("") == nil {
		t.Fatal("ValidateDagID")
	}
}

func TestNewChecksTheConfig(t *testing.T) {
	t.Parallel()
	base := config.Default().Orchestration.Airflow
	base.BaseURL, base.Username, base.Password = "http://airflow:8080", "admin", "pa55word"
	for _, tc := range []struct {
		name string
		edit func(*config.Airflow)
		want string
	}{
		{"bad url", func(c *config.Airflow) { c.BaseURL = "ftp://x" }, "orchestration.airflow.base-url"},
		{"url with password", func(c *config.Airflow) { c.BaseURL = "ftp://u:pa55word@x" }, "orchestration.airflow.base-url"},
		{"no username", func(c *config.Airflow) { c.Username = "" }, "orchestration.airflow.username"},
		{"no token", func(c *config.Airflow) { c.AuthenticationType = config.AuthBearerToken }, "orchestration.airflow.bearer-token"},
		{"bad auth", func(c *config.Airflow) { c.AuthenticationType = "KERBEROS" }, "orchestration.airflow.authentication-type"},
		{"bad version", func(c *config.Airflow) { c.APIVersion = "v1/x" }, "orchestration.airflow.api-version"},
		{"no runs", func(c *config.Airflow) { c.MaxConcurrentDagRuns = 0 }, "orchestration.airflow.max-concurrent-dag-runs"},
		{"no timeout", func(c *config.Airflow) { c.RequestTimeout = 0 }, "request-timeout"},
	} {
		cfg := base
		tc.edit(&cfg)
		_, err := airflow.New(cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "pa55word") {
			t.Errorf("%s: err = %v", tc.name, err)
		}
	}
	if _, err := airflow.New(base); err != nil {
		t.Fatal(err)
	}
}

func TestStatusMapping(t *testing.T) {
	t.Parallel()
	srv := airflowtest.NewServer(t)
	o := newOrch(t, srv, nil)
	ctx := context.Background()
	ex, err := o.StartJob(ctx, def("map"))
	if err != nil || ex.Status != orchestrated.StatusQueued || ex.ExecutionID != "data_job_import/map" {
		t.Fatalf("start: %+v %v", ex, err)
	}
	for _, tc := range []struct {
		state string
		want  orchestrated.Status
	}{
		{"queued", orchestrated.StatusQueued},
		{"running", orchestrated.StatusRunning},
		{"success", orchestrated.StatusSucceeded},
		{"failed", orchestrated.StatusFailed},
		{"restarting", "AIRFLOW_RESTARTING"},
	} {
		srv.SetState(t, "data_job_import", "map", tc.state)
		got, err := o.CheckJobStatus(ctx, ex.ExecutionID)
		if err != nil || got != tc.want {
			t.Errorf("state %s: got %q, %v; want %q", tc.state, got, err, tc.want)
		}
		if airflow.Status(tc.state) != tc.want && tc.want.Valid() {
			t.Errorf("Status(%q) = %q", tc.state, airflow.Status(tc.state))
		}
	}
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	const user, pass, token = "admin", "s3cr3t-pass", "tok-XYZ-123"
	basic := base64.StdEncoding.EncodeToString([]byte(user + ":wrong-pass"))
	for _, tc := range []struct {
		name    string
		server  airflowtest.Option
		edit    func(*config.Airflow)
		ok      bool
		secrets []string
	}{
		{"basic", airflowtest.WithBasicAuth(user, pass), func(c *config.Airflow) {
			c.AuthenticationType, c.Username, c.Password = config.AuthBasic, user, pass
		}, true, nil},
		{"basic wrong password", airflowtest.WithBasicAuth(user, pass), func(c *config.Airflow) {
			c.AuthenticationType, c.Username, c.Password = config.AuthBasic, user, "wrong-pass"
		}, false, []string{"wrong-pass", basic}},
		{"bearer", airflowtest.WithBearerToken(token), func(c *config.Airflow) {
			c.AuthenticationType, c.BearerToken = config.AuthBearerToken, token
		}, true, nil},
		{"bearer wrong token", airflowtest.WithBearerToken(token), func(c *config.Airflow) {
			c.AuthenticationType, c.BearerToken = config.AuthBearerToken, "tok-wrong-456"
		}, false, []string{"tok-wrong-456"}},
		{"none against basic", airflowtest.WithBasicAuth(user, pass), nil, false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := airflowtest.NewServer(t, tc.server)
			o := newOrch(t, srv, tc.edit)
			_, err := o.StartJob(context.Background(), def("auth"))
			if tc.ok {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !jobs.IsPermanent(err) || !strings.Contains(err.Error(), "HTTP 401") ||
				!strings.Contains(err.Error(), `"auth"`) {
				t.Fatalf("err = %v (permanent %v)", err, jobs.IsPermanent(err))
			}
			for _, s := range tc.secrets {
				if strings.Contains(err.Error(), s) {
					t.Fatalf("error repeats a secret: %v", err)
				}
			}
		})
	}
}

func TestStartIsIdempotent(t *testing.T) {
	t.Parallel()
	srv := airflowtest.NewServer(t)
	o := newOrch(t, srv, func(c *config.Airflow) { c.DagIDPrefix = "etl" })
	ctx := context.Background()
	first, err := o.StartJob(ctx, def("exec-1"))
	if err != nil {
		t.Fatal(err)
	}
	srv.SetState(t, "etl_import", "exec-1", "running")
	again, err := o.StartJob(ctx, def("exec-1"))
	if err != nil {
		t.Fatal(err)
	}
	if srv.Runs() != 1 || again.ExecutionID != first.ExecutionID || again.Status != orchestrated.StatusRunning {
		t.Fatalf("runs %d, first %+v, again %+v", srv.Runs(), first, again)
	}
	want := []string{"POST /api/v1/dags/etl_import/dagRuns", "POST /api/v1/dags/etl_import/dagRuns", "GET /api/v1/dags/etl_import/dagRuns/exec-1"}
	if got := srv.Calls(); !slices.Equal(got, want) {
		t.Fatalf("calls %v", got)
	}
	run, _ := srv.Run("etl_import", "exec-1")
	if run.Conf["datasetId"] != "ds-1" || again.Input["batch"] != 10.0 {
		t.Fatalf("conf %v, input %v", run.Conf, again.Input)
	}
	if o.ExecutionIDFor(def("exec-1")) != first.ExecutionID {
		t.Fatalf("ExecutionIDFor = %q, want %q", o.ExecutionIDFor(def("exec-1")), first.ExecutionID)
	}
}

func TestGetJobExecution(t *testing.T) {
	t.Parallel()
	srv := airflowtest.NewServer(t)
	o := newOrch(t, srv, nil)
	ctx := context.Background()
	ex, err := o.StartJob(ctx, def("get"))
	if err != nil {
		t.Fatal(err)
	}
	if ex.StartTime != nil || ex.Output["conf"].(map[string]any)["datasetId"] != "ds-1" {
		t.Fatalf("queued: %+v", ex)
	}
	srv.SetState(t, "data_job_import", "get", "failed")
	srv.SetNote("data_job_import", "get", "task load failed")
	got, err := o.GetJobExecution(ctx, ex.ExecutionID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != orchestrated.StatusFailed || got.StartTime == nil || got.StopTime == nil ||
		time.Since(*got.StopTime) > time.Minute || !strings.Contains(got.Error, "task load failed") ||
		got.Output["state"] != "failed" || got.Output["endDate"] == nil || got.DefinitionID != "data_job_import" {
		t.Fatalf("failed run: %+v", got)
	}
}

func TestStop(t *testing.T) {
	t.Parallel()
	srv := airflowtest.NewServer(t)
	o := newOrch(t, srv, nil)
	ctx := context.Background()
	ex, err := o.StartJob(ctx, def("stop"))
	if err != nil {
		t.Fatal(err)
	}
	srv.SetState(t, "data_job_import", "stop", "running")
	st, err := o.StopJob(ctx, ex.ExecutionID, "operator asked")
	if err != nil || st != orchestrated.StatusFailed {
		t.Fatalf("stop: %q %v", st, err)
	}
	if run, _ := srv.Run("data_job_import", "stop"); run.State != "failed" {
		t.Fatalf("state %s", run.State)
	}
	// A finished run is left alone: no PATCH turns a success into failed.
	ex2, _ := o.StartJob(ctx, def("done"))
	srv.SetState(t, "data_job_import", "done", "success")
	if st, err := o.StopJob(ctx, ex2.ExecutionID, ""); err != nil || st != orchestrated.StatusSucceeded {
		t.Fatalf("stop finished: %q %v", st, err)
	}
	if run, _ := srv.Run("data_job_import", "done"); run.State != "success" {
		t.Fatalf("state %s", run.State)
	}
	patches := 0
	for _, c := range srv.Calls() {
		if strings.HasPrefix(c, "PATCH") {
			patches++
		}
	}
	if patches != 1 {
		t.Fatalf("%d PATCH calls, want 1: %v", patches, srv.Calls())
	}
}

func TestNotFound(t *testing.T) {
	t.Parallel()
	srv := airflowtest.NewServer(t, airflowtest.WithDAGs("data_job_import"))
	o := newOrch(t, srv, nil)
	ctx := context.Background()
	for name, call := range map[string]func() error{
		"check": func() error { _, err := o.CheckJobStatus(ctx, "data_job_import/nope"); return err },
		"get":   func() error { _, err := o.GetJobExecution(ctx, "data_job_import/nope"); return err },
		"stop":  func() error { _, err := o.StopJob(ctx, "data_job_import/nope", ""); return err },
	} {
		err := call()
		if !errors.Is(err, jobs.ErrNotFound) || !strings.Contains(err.Error(), "HTTP 404") || !strings.Contains(err.Error(), `"nope"`) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// A missing DAG on trigger is a configuration problem, not a missing run.
	d := def("x")
	d.DefinitionID = "export"
	_, err := o.StartJob(ctx, d)
	if err == nil || errors.Is(err, jobs.ErrNotFound) || !jobs.IsPermanent(err) || !strings.Contains(err.Error(), "data_job_export") {
		t.Fatalf("missing DAG: %v", err)
	}
	if _, err := o.GetJobExecution(ctx, "no-slash"); !errors.Is(err, jobs.ErrInvalidArgument) {
		t.Fatalf("bad id: %v", err)
	}
	d.DefinitionID = "bad/dag"
	if _, err := o.StartJob(ctx, d); !jobs.IsPermanent(err) {
		t.Fatalf("bad DAG id: %v", err)
	}
}

// The generic orchestrated job over the Airflow adapter, stage by stage.
func TestOrchestratedJobOnAirflow(t *testing.T) {
	t.Parallel()
	srv := airflowtest.NewServer(t)
	j := orchestrated.New(newOrch(t, srv, nil), "import")
	ctx := context.Background()
	req := &jobs.Request{ExecutionID: "exec-7", JobType: "dag-import", Parameters: map[string]any{"datasetId": "ds-7"}}
	resp, err := j.Start(ctx, req)
	if err != nil || resp.Status != jobs.StatusStarted || resp.Data["orchestratorExecutionId"] != "data_job_import/exec-7" {
		t.Fatalf("start: %+v %v", resp, err)
	}
	if resp, err = j.Check(ctx, req); err != nil || resp.Status != jobs.StatusRunning {
		t.Fatalf("check: %+v %v", resp, err)
	}
	srv.SetState(t, "data_job_import", "exec-7", "success")
	if resp, err = j.Check(ctx, req); err != nil || resp.Status != jobs.StatusCompleted {
		t.Fatalf("check: %+v %v", resp, err)
	}
	resp, err = j.Result(ctx, req)
	if err != nil || resp.Data["conf"].(map[string]any)["datasetId"] != "ds-7" || resp.Data["dagRunId"] != "exec-7" {
		t.Fatalf("result: %+v %v", resp, err)
	}
	srv.SetState(t, "data_job_import", "exec-7", "restarting")
	if _, err := j.Check(ctx, req); !jobs.IsPermanent(err) || !strings.Contains(err.Error(), "AIRFLOW_RESTARTING") {
		t.Fatalf("unknown state: %v", err)
	}
}

func TestHealth(t *testing.T) {
	t.Parallel()
	for _, version := range []string{"v1", "v2"} {
		srv := airflowtest.NewServer(t, airflowtest.WithBearerToken("tok-1"), airflowtest.WithAPIVersion(version))
		o := newOrch(t, srv, func(c *config.Airflow) {
			c.AuthenticationType, c.BearerToken, c.APIVersion = config.AuthBearerToken, "tok-1", version
		})
		ctx := context.Background()
		if err := o.Health(ctx); err != nil {
			t.Fatalf("%s: %v", version, err)
		}
		srv.SetSchedulerStatus("unhealthy")
		if err := o.Health(ctx); err == nil || !strings.Contains(err.Error(), "scheduler unhealthy") {
			t.Fatalf("%s unhealthy scheduler: %v", version, err)
		}
		srv.Stop()
		if err := o.Health(ctx); err == nil || jobs.IsPermanent(err) || !strings.Contains(err.Error(), "airflow: health") {
			t.Fatalf("%s stopped: %v", version, err)
		}
	}
	srv := airflowtest.NewServer(t, airflowtest.WithBearerToken("tok-1"))
	o := newOrch(t, srv, func(c *config.Airflow) { c.AuthenticationType, c.BearerToken = config.AuthBearerToken, "tok-wrong" })
	if err := o.Health(context.Background()); err == nil || !strings.Contains(err.Error(), "HTTP 401") || strings.Contains(err.Error(), "tok-wrong") {
		t.Fatalf("wrong token: %v", err)
	}
}
