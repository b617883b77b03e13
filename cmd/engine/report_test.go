package main

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/jetjobs/jetjobs"
	"github.com/jetjobs/jetjobs/cmd/engine/internal/demo"
	"github.com/jetjobs/jetjobs/jetjobstest"
	"github.com/jetjobs/jetjobs/jobs"
)

// engine call <job> report ends an execution at once, before any CHECK.
func TestCallReport(t *testing.T) {
	h := jetjobstest.New(t, func(r *jobs.Registry) {
		if err := demo.Register(r); err != nil {
			t.Fatal(err)
		}
	}, jetjobstest.WithConfig(func(c *jetjobs.Config) {
		c.Orchestration.CheckInterval, c.Orchestration.MaxCheckInterval = time.Hour, time.Hour
	}))
	t.Setenv("JETJOBS_NATS_URL", h.Server.ClientURL())
	call := func(args ...string) (jobs.Response, error) {
		var out, errOut bytes.Buffer
		err := run(context.Background(), append([]string{"call"}, args...), &out, &errOut)
		var resp jobs.Response
		_ = json.Unmarshal(out.Bytes(), &resp)
		return resp, err
	}
	start, err := call("customer-import", "start", `{"executionId":"cli-rep-1","parameters":{"datasetId":"d"}}`)
	if err != nil || !start.Success {
		t.Fatalf("start: %+v, %v", start, err)
	}
	rep, err := call("customer-import", "report", `{"executionId":"cli-rep-1","status":"COMPLETED","message":"done elsewhere"}`)
	if err != nil || rep.Status != jobs.StatusCompleted {
		t.Fatalf("report: %+v, %v", rep, err)
	}
	h.WaitFor(t, "customer-import", "cli-rep-1", jobs.StatusCompleted)
	if exec := h.Execution(t, "customer-import", "cli-rep-1"); exec.Checks != 0 || exec.LastStage != jobs.StageReport {
		t.Fatalf("record: %d CHECKs, last stage %s; want 0 and REPORT", exec.Checks, exec.LastStage)
	}
	if _, err := call("customer-import", "report", `{"executionId":"cli-rep-1","progressPercentage":5}`); err == nil {
		t.Fatal("a report on an ended execution succeeded")
	}
}
