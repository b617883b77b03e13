package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/jetjobs/jetjobs/cmd/engine/internal/demo"
	"github.com/jetjobs/jetjobs/jetjobstest"
	"github.com/jetjobs/jetjobs/jobs"
)

// TestMain also lets the test binary play `engine bench --serve-engine`,
// the engine process `engine soak` starts (TestSoak).
func TestMain(m *testing.M) {
	if len(os.Args) > 2 && os.Args[1] == "bench" && os.Args[2] == "--serve-engine" {
		if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(2)
		}
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

// The CLI against a real engine: call, audit, and config, as a user types
// them.
func TestCLI(t *testing.T) {
	release := make(chan struct{})
	releaseSlow := sync.OnceFunc(func() { close(release) })
	h := jetjobstest.New(t, func(r *jobs.Registry) {
		if err := demo.Register(r); err != nil {
			t.Fatal(err)
		}
		r.MustRegister("cli-slow", slowJob{release: release})
	})
	t.Cleanup(releaseSlow) // before the engine stops
	t.Setenv("JETJOBS_NATS_URL", h.Server.ClientURL())
	run1 := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := run(context.Background(), args, &out, &errOut)
		return out.String(), err
	}
	out, err := run1("call", "customer-validation", "execute", `{"executionId":"cli-1","parameters":{"customerId":"CUST-5"}}`)
	if err != nil {
		t.Fatal(err)
	}
	var resp jobs.Response
	if err := json.Unmarshal([]byte(out), &resp); err != nil || !resp.Success || resp.Message != "Valid customer" {
		t.Fatalf("call: %v %s", err, out)
	}
	if _, err := run1("call", "customer-validation", "execute", `{"parameters":{}}`); err == nil ||
		!strings.Contains(err.Error(), `parameter "customerId" is required`) {
		t.Fatalf("missing parameter: %v", err)
	}
	if _, err := run1("call", "customer-validation", "execute", `{"params":{}}`); err == nil ||
		!strings.Contains(err.Error(), `unknown field "params"`) {
		t.Fatalf("bad JSON: %v", err)
	}
	if _, err := run1("call", "customer-validation", "execute", `{"parameters":{}} {}`); err == nil ||
		!strings.Contains(err.Error(), "unexpected data after the JSON value") {
		t.Fatalf("JSON with more after it: %v", err)
	}
	// A call that times out names the execution it started, which still runs.
	_, err = run1("call", "--timeout", "500ms", "cli-slow", "execute")
	m := regexp.MustCompile(`execution (\S+) may still run`).FindStringSubmatch(fmt.Sprint(err))
	if m == nil {
		t.Fatalf("timed-out call: %v", err)
	}
	releaseSlow()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if out, err := run1("audit", "cli-slow", m[1]); err == nil && strings.Contains(out, `"stage": "EXECUTE"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no audit trail for the execution the timeout named, %s", m[1])
		}
		time.Sleep(20 * time.Millisecond)
	}
	out, err = run1("audit", "customer-validation", "cli-1")
	if err != nil || !strings.Contains(out, `"stage": "EXECUTE"`) {
		t.Fatalf("audit: %v %s", err, out)
	}
	if _, err := run1("audit", "customer-validation", "nope"); err == nil {
		t.Fatal("audit of an unknown execution should fail")
	}
	t.Setenv("JETJOBS_NATS_PASSWORD", "s3cret")
	t.Setenv("JETJOBS_NATS_USER", "bob")
	out, err = run1("config")
	if err != nil || strings.Contains(out, "s3cret") || !strings.Contains(out, "default-timeout: 24h") {
		t.Fatalf("config: %v\n%s", err, out)
	}
	if _, err := run1("bogus"); err == nil {
		t.Fatal("unknown command accepted")
	}
}

// Bad configuration stops start-up with the key named.
func TestRunRejectsBadConfig(t *testing.T) {
	t.Setenv("JETJOBS_ORCHESTRATION_DEFAULT_TIMEOUT", "soon")
	var errOut bytes.Buffer
	err := run(context.Background(), []string{"run", "--demo"}, &bytes.Buffer{}, &errOut)
	if err == nil || !strings.Contains(err.Error(), "orchestration.default-timeout") {
		t.Fatalf("err %v", err)
	}
}

// slowJob answers once released (or when its context ends).
type slowJob struct{ release chan struct{} }

func (j slowJob) Execute(ctx context.Context, _ *jobs.Request) (*jobs.Response, error) {
	select {
	case <-j.release:
		return jobs.OK("released", nil), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
