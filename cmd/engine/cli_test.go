package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jetjobs/jetjobs"
	"github.com/jetjobs/jetjobs/cmd/engine/internal/demo"
	"github.com/jetjobs/jetjobs/internal/samplejobs"
	"github.com/jetjobs/jetjobs/internal/testutil"
	"github.com/jetjobs/jetjobs/jetjobstest"
	"github.com/jetjobs/jetjobs/jobs"
	"github.com/jetjobs/jetjobs/saga"
)

// The operator's commands against a real engine, in-process, in their
// non-terminal form (a bytes.Buffer is not a terminal): call start --wait
// prints a line per progress change then the result, jobs ls counts,
// executions ls filters and pages, executions show has the timeline and
// the result, and --output json parses everywhere.
func TestCLIOperatorCommands(t *testing.T) {
	t.Parallel()
	h := jetjobstest.New(t, func(r *jobs.Registry) {
		if err := demo.Register(r); err != nil {
			t.Fatal(err)
		}
	})
	url := "--nats-url=" + h.Server.ClientURL()
	run1 := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		if args[0] != "version" {
			args = append(args, url) // after the arguments: read as a flag all the same
		}
		err := run(context.Background(), args, &out, &errOut)
		return out.String(), err
	}
	// 4 batches of 20 records, one every 400ms (CHECKs run every 20ms, so
	// one sees it part done even on a loaded machine); failAfter > 0 fails
	// then.
	importReq := func(id string, failAfter int) string {
		return fmt.Sprintf(`{"executionId":%q,"parameters":{"datasetId":"d1","records":80,"batchSize":20,"batchDelay":"400ms","failAfterBatches":%d}}`,
			id, failAfter)
	}

	// call … start --wait, flags after the arguments as people type them.
	out, err := run1("call", "customer-import", "start", importReq("wait-ok", 0), "--wait")
	if err != nil {
		t.Fatalf("call --wait: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	line := regexp.MustCompile(`^\d\d:\d\d:\d\d (STARTED|RUNNING|COMPLETED) (\d+)% `)
	if lines[0] != "customer-import execution wait-ok" || !line.MatchString(lines[1]) {
		t.Fatalf("call --wait begins:\n%s", out)
	}
	var running, completed bool
	for _, l := range lines[1:] {
		m := line.FindStringSubmatch(l)
		switch {
		case m == nil:
		case m[1] == "RUNNING" && m[2] != "0" && strings.Contains(l, "Imported"):
			running = true
		case m[1] == "COMPLETED" && m[2] == "100":
			completed = true
		}
	}
	if !running || !completed || !strings.Contains(out, "COMPLETED after ") || !strings.Contains(out, "result:") ||
		!strings.Contains(out, `"successCount": 80`) {
		t.Fatalf("call --wait: progress %v, completed %v:\n%s", running, completed, out)
	}

	// A failed execution: its error, and an error (exit code 2) to match.
	out, err = run1("call", "--wait", "customer-import", "start", importReq("wait-fail", 2))
	if !errors.Is(err, ErrExecutionEnded) || !strings.Contains(err.Error(), "ended FAILED") ||
		!regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d FAILED \d+% .*rejected by the CRM`).MatchString(out) {
		t.Fatalf("failing call --wait: %v\n%s", err, out)
	}

	// --output json: one document with the result.
	out, err = run1("call", "-o", "json", "--wait", "customer-import", "start", importReq("wait-json", 0))
	var doc callWait
	if err != nil || json.Unmarshal([]byte(out), &doc) != nil || doc.Status != jobs.StatusCompleted || doc.Result == nil ||
		doc.Result.Data["successCount"] != float64(80) {
		t.Fatalf("call --wait -o json: %v\n%s", err, out)
	}
	if _, err := run1("call", "--wait", "customer-validation", "execute", `{"parameters":{"customerId":"CUST-1"}}`); err == nil {
		t.Fatal("--wait with EXECUTE accepted")
	}
	// Without --wait, piped output stays the JSON it always was; -o text
	// is for people.
	if out, err = run1("call", "customer-validation", "execute", `{"executionId":"v-1","parameters":{"customerId":"CUST-5"}}`); err != nil ||
		!json.Valid([]byte(out)) {
		t.Fatalf("call: %v %s", err, out)
	}
	if out, err = run1("call", "-o", "text", "customer-validation", "execute", `{"parameters":{"customerId":"CUST-6"}}`); err != nil ||
		!strings.Contains(out, "message:") || !strings.Contains(out, "Valid customer") {
		t.Fatalf("call -o text: %v %s", err, out)
	}

	// jobs ls: the demo jobs, their mode (async, sync, worker) and counts.
	out, err = run1("jobs", "ls", "-o", "json")
	var list []jobType
	if err != nil || json.Unmarshal([]byte(out), &list) != nil {
		t.Fatalf("jobs ls -o json: %v\n%s", err, out)
	}
	byName := map[string]jobType{}
	for _, j := range list {
		byName[j.JobType] = j
	}
	imp, val, rep := byName["customer-import"], byName["customer-validation"], byName["report-build"]
	if imp.Mode != "async" || !imp.Served || imp.Counts[jobs.StatusCompleted] != 2 || imp.Counts[jobs.StatusFailed] != 1 || imp.Total != 3 ||
		val.Mode != "sync" || val.Counts[jobs.StatusCompleted] != 2 || rep.Mode != "worker" || !rep.Served {
		t.Fatalf("jobs ls: %+v", list)
	}
	out, err = run1("jobs")
	if err != nil || !regexp.MustCompile(`(?m)^customer-import\s+async\s+yes\s+0\s+0\s+0\s+2\s+1\s+0\s+0\s+3$`).MatchString(out) {
		t.Fatalf("jobs ls:\n%s", out)
	}

	// executions ls filters by job and status, and pages.
	cases := []struct {
		name    string
		args    []string
		want    []string
		wantErr string
	}{
		{"completed imports", []string{"--job", "customer-import", "--status", "completed"}, []string{"wait-json", "wait-ok"}, ""},
		{"failed", []string{"--status", "FAILED"}, []string{"wait-fail"}, ""},
		{"recent", []string{"--job", "customer-validation", "--since", "1h"}, nil, ""},
		{"bad status", []string{"--status", "DONE"}, nil, "want one of"},
		{"bad job", []string{"--job", "no such"}, nil, "job"},
	}
	for _, c := range cases {
		out, err := run1(append([]string{"executions", "ls", "-o", "json"}, c.args...)...)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%s: err %v, want %q", c.name, err, c.wantErr)
			}
			continue
		}
		var page jobs.ExecutionPage
		if err != nil || json.Unmarshal([]byte(out), &page) != nil {
			t.Fatalf("%s: %v\n%s", c.name, err, out)
		}
		if c.want == nil {
			if len(page.Items) != 2 {
				t.Errorf("%s: %d items", c.name, len(page.Items))
			}
			continue
		}
		var got []string
		for _, it := range page.Items {
			got = append(got, it.ExecutionID)
		}
		if strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
	out, err = run1("executions", "ls", "--limit", "2")
	m := regexp.MustCompile(`(?m)^2 executions; next page: --cursor (\S+)$`).FindStringSubmatch(out)
	if err != nil || m == nil || !strings.HasPrefix(out, "JOB ") {
		t.Fatalf("executions ls --limit 2: %v\n%s", err, out)
	}
	if out, err = run1("executions", "ls", "--limit", "2", "--cursor", m[1]); err != nil || !strings.Contains(out, "\n2 executions; next page") {
		t.Fatalf("second page: %v\n%s", err, out)
	}

	// executions show: record, timeline, result.
	out, err = run1("executions", "show", "customer-import", "wait-ok")
	if err != nil || !regexp.MustCompile(`(?m)^status:\s+COMPLETED  100%$`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^  \S+\s+START\s+1\s+success\s+STARTED`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^  \S+\s+CHECK\s+`).MatchString(out) || !strings.Contains(out, "result:\n  COMPLETED at") {
		t.Fatalf("executions show:\n%s", out)
	}
	out, err = run1("executions", "show", "-o", "json", "customer-import", "wait-fail")
	var shown execution
	if err != nil || json.Unmarshal([]byte(out), &shown) != nil || shown.Execution.Status != jobs.StatusFailed ||
		len(shown.Timeline) < 2 || shown.Timeline[0].Stage != jobs.StageStart {
		t.Fatalf("executions show -o json: %v\n%s", err, out)
	}
	if _, err := run1("executions", "show", "customer-import", "nope"); err == nil || !strings.Contains(err.Error(), `no execution "nope"`) {
		t.Fatalf("show of an unknown execution: %v", err)
	}

	// events in text: a line per event, replayed with --all.
	ctx, cancel := context.WithCancel(context.Background())
	var evOut testutil.SyncBuffer
	evDone := make(chan error, 1)
	go func() {
		evDone <- run(ctx, []string{"events", "--all", "-o", "text", "customer-import", url}, &evOut, io.Discard)
	}()
	// Which percentages an execution passes through depends on when its
	// CHECKs ran; the line's shape and its end do not.
	evLine := regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d customer-import wait-ok JOB_PROGRESS RUNNING (\d+)% Imported \d+ of 80 customers\n` +
		`(?s:.*)^\d\d:\d\d:\d\d customer-import wait-ok JOB_COMPLETED COMPLETED Import completed$`)
	for deadline := time.Now().Add(10 * time.Second); !evLine.MatchString(evOut.String()); {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("events -o text: %v\n%s", <-evDone, evOut.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-evDone; err != nil {
		t.Fatalf("events: %v", err)
	}

	// audit and version in both forms.
	if out, err = run1("audit", "-o", "text", "customer-import", "wait-ok"); err != nil || !strings.HasPrefix(out, "TIME ") ||
		!strings.Contains(out, "START") {
		t.Fatalf("audit -o text: %v\n%s", err, out)
	}
	var v buildInfo
	if out, err = run1("version", "-o", "json"); err != nil || json.Unmarshal([]byte(out), &v) != nil || v.Go == "" {
		t.Fatalf("version -o json: %v\n%s", err, out)
	}
	if _, err = run1("version", "-o", "yaml"); err == nil {
		t.Fatal("-o yaml accepted")
	}
}

// engine saga start --wait in text: a line per step change, then the
// instance with its steps; in JSON: the instance alone.
func TestCLISagaWait(t *testing.T) {
	t.Parallel()
	h := jetjobstest.New(t, func(r *jobs.Registry) {
		if err := demo.Register(r); err != nil {
			t.Fatal(err)
		}
		if _, err := demo.RegisterSagas(r); err != nil {
			t.Fatal(err)
		}
	}, jetjobstest.WithEngineOptions(jetjobs.WithComponents(saga.InEngine(samplejobs.Onboarding()))))
	run1 := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := run(context.Background(), append([]string{"saga", "--nats-url", h.Server.ClientURL()}, args...), &out, &errOut)
		return out.String(), err
	}
	input := func(fail bool) string {
		return fmt.Sprintf(`{"datasetId":"d","records":40,"batchSize":20,"batchDelay":"50ms","orderDuration":"100ms","channel":"ops","failOrders":%v}`, fail)
	}
	out, err := run1("start", "-o", "text", "--wait", "--id", "s-ok", samplejobs.OnboardingSaga, input(false))
	if err != nil {
		t.Fatalf("saga start --wait: %v\n%s", err, out)
	}
	for _, want := range []string{
		`(?m)^saga customer-onboarding s-ok: 3 steps$`,
		`(?m)^\d\d:\d\d:\d\d step customers \(customer-import\) RUNNING s-ok-customers\S*$`,
		`(?m)^\d\d:\d\d:\d\d step notify \(notification\) COMPLETED \S+$`,
		`(?m)^\d\d:\d\d:\d\d saga COMPLETED$`,
		`(?m)^status:\s+COMPLETED$`,
		`(?m)^  orders\s+order-import\s+COMPLETED\s+1\s+\S+\s+-$`,
	} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Fatalf("saga start --wait: no %s in\n%s", want, out)
		}
	}
	out, err = run1("start", "-o", "json", "--wait", "--id", "s-fail", samplejobs.OnboardingSaga, input(true))
	var in saga.Instance
	if err == nil || json.Unmarshal([]byte(out), &in) != nil || in.Status != saga.StatusCompensated {
		t.Fatalf("failing saga -o json: %v\n%s", err, out)
	}
}
