package stepfunctions_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"go.opentelemetry.io/otel/trace"

	"github.com/jetjobs/jetjobs/internal/config"
	"github.com/jetjobs/jetjobs/jobs"
	"github.com/jetjobs/jetjobs/jobs/orchestrated"
	"github.com/jetjobs/jetjobs/orchestrators/stepfunctions"
	"github.com/jetjobs/jetjobs/orchestrators/stepfunctions/stepfunctionstest"
)

const (
	machine = "arn:aws:states:eu-west-1:123456789012:stateMachine:import"
	keyID   = "AKIDFAKE0001"
	secret  = "fake-secret-KEY-0001"
)

// newOrch builds an orchestrator on srv with static keys and edit applied.
func newOrch(t *testing.T, srv *stepfunctionstest.Server, edit func(*config.AWSStepFunctions)) *stepfunctions.Orchestrator {
	t.Helper()
	cfg := config.Default().Orchestration.AWSStepFunctions
	cfg.Region, cfg.Endpoint, cfg.StateMachineARN = "eu-west-1", srv.URL, machine
	cfg.UseDefaultCredentials, cfg.AccessKeyID, cfg.SecretAccessKey = false, keyID, secret
	cfg.RequestTimeout = 5 * time.Second
	if edit != nil {
		edit(&cfg)
	}
	o, err := stepfunctions.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(o.Close)
	return o
}

func def(name string) orchestrated.JobDefinition {
	return orchestrated.JobDefinition{JobName: "sfn-import", DefinitionID: machine, ExecutionName: name,
		Input: map[string]any{"datasetId": "ds-1", "batch": 10.0}}
}

func TestNewChecksTheConfig(t *testing.T) {
	t.Parallel()
	base := config.Default().Orchestration.AWSStepFunctions
	base.UseDefaultCredentials, base.AccessKeyID, base.SecretAccessKey = false, keyID, secret
	for _, tc := range []struct {
		name string
		edit func(*config.AWSStepFunctions)
		want string
	}{
		{"no region", func(c *config.AWSStepFunctions) { c.Region = "" }, "orchestration.aws-step-functions.region"},
		{"bad arn", func(c *config.AWSStepFunctions) { c.StateMachineARN = "arn:aws:s3:::bucket" }, "orchestration.aws-step-functions.state-machine-arn"},
		{"bad endpoint", func(c *config.AWSStepFunctions) { c.Endpoint = "localhost:4566" }, "orchestration.aws-step-functions.endpoint"},
		{"no secret", func(c *config.AWSStepFunctions) { c.SecretAccessKey = "" }, "secret-access-key"},
		{"no executions", func(c *config.AWSStepFunctions) { c.MaxConcurrentExecutions = 0 }, "max-concurrent-executions"},
		{"no timeout", func(c *config.AWSStepFunctions) { c.ConnectionTimeout = 0 }, "connection-timeout"},
		{"ok", func(*config.AWSStepFunctions) {}, ""},
	} {
		cfg := base
		tc.edit(&cfg)
		_, err := stepfunctions.New(cfg)
		if tc.want == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), secret) {
			t.Errorf("%s: err = %v", tc.name, err)
		}
	}
}

// START → RUNNING → each terminal status, through the SDK against the fake.
func TestLifecycle(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		end     func(*testing.T, *stepfunctionstest.Server, string)
		want    orchestrated.Status
		wantErr string
		output  map[string]any
	}{
		{"succeeded", func(t *testing.T, s *stepfunctionstest.Server, arn string) {
			s.Succeed(t, arn, `{"rows":42}`)
		}, orchestrated.StatusSucceeded, "", map[string]any{"rows": 42.0}},
		{"succeeded with a scalar", func(t *testing.T, s *stepfunctionstest.Server, arn string) {
			s.Succeed(t, arn, `"done"`)
		}, orchestrated.StatusSucceeded, "", map[string]any{"output": "done"}},
		{"failed", func(t *testing.T, s *stepfunctionstest.Server, arn string) {
			s.Fail(t, arn, "States.TaskFailed", "lambda exploded")
		}, orchestrated.StatusFailed, "States.TaskFailed: lambda exploded", nil},
		{"timed out", func(t *testing.T, s *stepfunctionstest.Server, arn string) { s.TimeOut(t, arn) },
			orchestrated.StatusTimedOut, "States.Timeout", nil},
		{"aborted", func(t *testing.T, s *stepfunctionstest.Server, arn string) { s.Abort(t, arn, "console") },
			orchestrated.StatusAborted, "console", nil},
		{"pending redrive", func(t *testing.T, s *stepfunctionstest.Server, arn string) {
			s.SetStatus(t, arn, stepfunctionstest.PendingRedrive)
		}, orchestrated.StatusRunning, "", nil},
		{"unknown status", func(t *testing.T, s *stepfunctionstest.Server, arn string) { s.SetStatus(t, arn, "PAUSED") },
			"SFN_PAUSED", "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := stepfunctionstest.NewServer(t, stepfunctionstest.WithAccessKey(keyID))
			o := newOrch(t, srv, nil)
			ctx := context.Background()
			ex, err := o.StartJob(ctx, def("exec-1"))
			arn := stepfunctionstest.ExecutionARN(machine, "exec-1")
			if err != nil || ex.ExecutionID != arn || ex.Status != orchestrated.StatusRunning || o.ExecutionIDFor(def("exec-1")) != arn {
				t.Fatalf("start: %+v %v", ex, err)
			}
			got, _ := srv.Execution(arn)
			if got.Input != `{"batch":10,"datasetId":"ds-1"}` {
				t.Fatalf("input %s", got.Input)
			}
			if st, err := o.CheckJobStatus(ctx, arn); err != nil || st != orchestrated.StatusRunning {
				t.Fatalf("running: %q %v", st, err)
			}
			tc.end(t, srv, arn)
			st, err := o.CheckJobStatus(ctx, arn)
			if err != nil || st != tc.want {
				t.Fatalf("status %q %v, want %q", st, err, tc.want)
			}
			full, err := o.GetJobExecution(ctx, arn)
			if err != nil || !strings.Contains(full.Error, tc.wantErr) || full.Input["datasetId"] != "ds-1" {
				t.Fatalf("execution %+v %v", full, err)
			}
			if tc.output != nil && full.Output["rows"] != tc.output["rows"] && full.Output["output"] != tc.output["output"] {
				t.Fatalf("output %v, want %v", full.Output, tc.output)
			}
		})
	}
}

// A START delivered twice starts one execution: same name and input while
// running, and again once it has ended; a different input is refused.
func TestStartIsIdempotent(t *testing.T) {
	t.Parallel()
	srv := stepfunctionstest.NewServer(t)
	o := newOrch(t, srv, nil)
	ctx := context.Background()
	first, err := o.StartJob(ctx, def("exec-1"))
	if err != nil {
		t.Fatal(err)
	}
	again, err := o.StartJob(ctx, def("exec-1"))
	if err != nil || again.ExecutionID != first.ExecutionID || srv.Executions() != 1 {
		t.Fatalf("second start while running: %+v %v (%d executions)", again, err, srv.Executions())
	}
	srv.Succeed(t, first.ExecutionID, `{"ok":true}`)
	ended, err := o.StartJob(ctx, def("exec-1"))
	if err != nil || ended.Status != orchestrated.StatusSucceeded || ended.Output["ok"] != true || srv.Executions() != 1 {
		t.Fatalf("start after it ended: %+v %v", ended, err)
	}
	other := def("exec-1")
	other.Input = map[string]any{"datasetId": "ds-2"}
	if _, err := o.StartJob(ctx, other); err == nil || !jobs.IsPermanent(err) || !strings.Contains(err.Error(), "different input") {
		t.Fatalf("start with another input: %v", err)
	}
	want := []string{"StartExecution", "StartExecution", "StartExecution", "DescribeExecution", "StartExecution", "DescribeExecution"}
	if got := srv.Calls(); !slices.Equal(got, want) {
		t.Fatalf("calls %v", got)
	}
}

func TestStopPassesTheReason(t *testing.T) {
	t.Parallel()
	srv := stepfunctionstest.NewServer(t)
	o := newOrch(t, srv, nil)
	ctx := context.Background()
	ex, err := o.StartJob(ctx, def("exec-1"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := o.StopJob(ctx, ex.ExecutionID, "operator asked")
	if err != nil || st != orchestrated.StatusAborted {
		t.Fatalf("stop: %q %v", st, err)
	}
	got, _ := srv.Execution(ex.ExecutionID)
	if got.Status != stepfunctionstest.Aborted || got.Cause != "operator asked" || got.Error != "jetjobs.Stopped" {
		t.Fatalf("execution %+v", got)
	}
	// Stopping it again leaves it as it is; an unknown one is not found.
	if st, err := o.StopJob(ctx, ex.ExecutionID, "again"); err != nil || st != orchestrated.StatusAborted {
		t.Fatalf("second stop: %q %v", st, err)
	}
	_, err = o.StopJob(ctx, stepfunctionstest.ExecutionARN(machine, "nope"), "x")
	if !errors.Is(err, jobs.ErrNotFound) {
		t.Fatalf("stop unknown: %v", err)
	}
}

func TestErrorClasses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		status    int
		errType   string
		permanent bool
		want      string
	}{
		{"throttled", http.StatusBadRequest, "ThrottlingException", false, "ThrottlingException"},
		{"unavailable", http.StatusServiceUnavailable, "ServiceUnavailable", false, "HTTP 503"},
		{"internal", http.StatusInternalServerError, "InternalFailure", false, "InternalFailure"},
		{"limit", http.StatusBadRequest, "ExecutionLimitExceeded", false, "ExecutionLimitExceeded"},
		{"access denied", http.StatusBadRequest, "AccessDeniedException", true, "AccessDeniedException"},
		{"bad arn", http.StatusBadRequest, "InvalidArn", true, "InvalidArn"},
		{"no machine", http.StatusBadRequest, "StateMachineDoesNotExist", true, "StateMachineDoesNotExist"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := stepfunctionstest.NewServer(t)
			o := newOrch(t, srv, nil)
			srv.FailNext(tc.status, tc.errType)
			_, err := o.StartJob(context.Background(), def("e"))
			if err == nil || jobs.IsPermanent(err) != tc.permanent || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v (permanent %v)", err, jobs.IsPermanent(err))
			}
		})
	}
}

func TestWrongKeyIsPermanentAndSecretStaysOut(t *testing.T) {
	t.Parallel()
	srv := stepfunctionstest.NewServer(t, stepfunctionstest.WithAccessKey("AKIDOTHER"))
	o := newOrch(t, srv, nil)
	_, err := o.StartJob(context.Background(), def("e"))
	if err == nil || !jobs.IsPermanent(err) || !strings.Contains(err.Error(), "UnrecognizedClientException") ||
		strings.Contains(err.Error(), secret) {
		t.Fatalf("err = %v", err)
	}
}

func TestUnreachableIsTransient(t *testing.T) {
	t.Parallel()
	srv := stepfunctionstest.NewServer(t)
	o := newOrch(t, srv, nil)
	ex, err := o.StartJob(context.Background(), def("e"))
	if err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	_, err = o.CheckJobStatus(context.Background(), ex.ExecutionID)
	if err == nil || jobs.IsPermanent(err) || !strings.Contains(err.Error(), "describe execution") {
		t.Fatalf("err = %v", err)
	}
	if err := o.Health(context.Background()); err == nil {
		t.Fatal("health of a stopped server is nil")
	}
}

func TestRequestTimeout(t *testing.T) {
	t.Parallel()
	srv := stepfunctionstest.NewServer(t)
	o := newOrch(t, srv, func(c *config.AWSStepFunctions) { c.RequestTimeout = 100 * time.Millisecond })
	release := srv.Hold()
	defer release()
	_, err := o.StartJob(context.Background(), def("e"))
	if err == nil || jobs.IsPermanent(err) || !strings.Contains(err.Error(), "start execution") {
		t.Fatalf("err = %v", err)
	}
}

// max-concurrent-executions bounds StartExecution calls in flight: the
// next one waits for a slot until its context ends.
func TestMaxConcurrentExecutions(t *testing.T) {
	t.Parallel()
	srv := stepfunctionstest.NewServer(t)
	o := newOrch(t, srv, func(c *config.AWSStepFunctions) { c.MaxConcurrentExecutions = 1 })
	release := srv.Hold()
	done := make(chan error, 1)
	go func() {
		_, err := o.StartJob(context.Background(), def("first"))
		done <- err
	}()
	deadline := time.Now().Add(5 * time.Second)
	for len(srv.Calls()) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := o.StartJob(ctx, def("second"))
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "max-concurrent-executions (1)") {
		t.Fatalf("second start: %v", err)
	}
	release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := srv.Calls(); len(got) != 1 {
		t.Fatalf("calls %v", got)
	}
}

func TestXRayTraceHeader(t *testing.T) {
	t.Parallel()
	srv := stepfunctionstest.NewServer(t)
	o := newOrch(t, srv, func(c *config.AWSStepFunctions) { c.EnableXRayTracing = true })
	tid, _ := trace.TraceIDFromHex("5f8a3c1e0123456789abcdef01234567")
	sid, _ := trace.SpanIDFromHex("0123456789abcdef")
	ctx := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled}))
	ex, err := o.StartJob(ctx, def("traced"))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := srv.Execution(ex.ExecutionID)
	if want := "Root=1-5f8a3c1e-0123456789abcdef01234567;Parent=0123456789abcdef;Sampled=1"; got.TraceHeader != want {
		t.Fatalf("trace header %q, want %q", got.TraceHeader, want)
	}
	plain := newOrch(t, srv, nil)
	ex, err = plain.StartJob(ctx, def("untraced"))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := srv.Execution(ex.ExecutionID); got.TraceHeader != "" {
		t.Fatalf("trace header %q without enable-x-ray-tracing", got.TraceHeader)
	}
}

func TestNamesAndARNs(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", 100)
	if n := stepfunctions.ExecutionName(long); len(n) != 80 || n != stepfunctions.ExecutionName(long) || !strings.HasPrefix(n, strings.Repeat("a", 63)+"-") {
		t.Fatalf("name of a long id: %q", n)
	}
	if stepfunctions.ExecutionName("exec-1") != "exec-1" {
		t.Fatal("short ids are kept")
	}
	srv := stepfunctionstest.NewServer(t)
	o := newOrch(t, srv, nil)
	for _, tc := range []struct{ def, want, wantErr string }{
		{"", machine, ""},
		{"export", "arn:aws:states:eu-west-1:123456789012:stateMachine:export", ""},
		{"arn:aws:states:us-east-1:1:stateMachine:x", "arn:aws:states:us-east-1:1:stateMachine:x", ""},
		{"arn:aws:lambda:us-east-1:1:function:x", "", "not a state machine ARN"},
	} {
		got, err := o.StateMachineARN(tc.def)
		if got != tc.want || (err == nil) != (tc.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("StateMachineARN(%q) = %q, %v", tc.def, got, err)
		}
	}
}

func TestHealth(t *testing.T) {
	t.Parallel()
	srv := stepfunctionstest.NewServer(t, stepfunctionstest.WithStateMachines(machine))
	if err := newOrch(t, srv, nil).Health(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Without a configured machine: ListStateMachines.
	if err := newOrch(t, srv, func(c *config.AWSStepFunctions) { c.StateMachineARN = "" }).Health(context.Background()); err != nil {
		t.Fatal(err)
	}
	other := newOrch(t, srv, func(c *config.AWSStepFunctions) {
		c.StateMachineARN = "arn:aws:states:eu-west-1:123456789012:stateMachine:gone"
	})
	if err := other.Health(context.Background()); err == nil || !strings.Contains(err.Error(), "StateMachineDoesNotExist") {
		t.Fatalf("health of a missing machine: %v", err)
	}
	want := []string{"DescribeStateMachine", "ListStateMachines", "DescribeStateMachine"}
	if got := srv.Calls(); !slices.Equal(got, want) {
		t.Fatalf("calls %v", got)
	}
}

func TestProgressFromHistory(t *testing.T) {
	t.Parallel()
	srv := stepfunctionstest.NewServer(t)
	o := newOrch(t, srv, nil)
	ctx := context.Background()
	ex, err := o.StartJob(ctx, def("p-1"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ enter, want string }{
		{"", ""},
		{"Extract", "in state Extract"},
		{"Load", "in state Load"},
	} {
		if tc.enter != "" {
			srv.EnterState(t, ex.ExecutionID, tc.enter)
		}
		p, err := o.Progress(ctx, ex.ExecutionID)
		if err != nil || p.Message != tc.want || p.Percent != 0 {
			t.Fatalf("after %q: %+v %v", tc.enter, p, err)
		}
	}
	if _, err := o.Progress(ctx, stepfunctionstest.ExecutionARN(machine, "nope")); !errors.Is(err, jobs.ErrNotFound) {
		t.Fatalf("progress of an unknown execution: %v", err)
	}
}

// NewWithAPI runs on a client configured by the caller.
func TestNewWithAPI(t *testing.T) {
	t.Parallel()
	srv := stepfunctionstest.NewServer(t, stepfunctionstest.WithAccessKey(keyID))
	client := sfn.New(sfn.Options{Region: "eu-west-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider(keyID, secret, ""), HTTPClient: srv.Client()})
	cfg := config.Default().Orchestration.AWSStepFunctions
	cfg.StateMachineARN = machine
	o := stepfunctions.NewWithAPI(client, cfg)
	ex, err := o.StartJob(context.Background(), def("own-client"))
	if err != nil || ex.Status != orchestrated.StatusRunning || o.Type() != orchestrated.TypeAWSStepFunctions {
		t.Fatalf("start: %+v %v", ex, err)
	}
	o.Close() // nothing of its own to close
}
