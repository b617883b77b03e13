package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/jetjobs/jetjobs/cmd/engine/internal/demo"
	"github.com/jetjobs/jetjobs/httpadapter"
	"github.com/jetjobs/jetjobs/jetjobstest"
	"github.com/jetjobs/jetjobs/jobs"
)

// engine schedule add|ls|pause|resume|rm against a real engine, in
// process, in table and JSON form; a bad cron is refused naming it.
func TestCLISchedule(t *testing.T) {
	h := jetjobstest.New(t, func(r *jobs.Registry) {
		if err := demo.Register(r); err != nil {
			t.Fatal(err)
		}
	})
	t.Setenv("JETJOBS_NATS_URL", h.Server.ClientURL())
	run1 := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := run(context.Background(), append([]string{"schedule"}, args...), &out, &errOut)
		return out.String(), err
	}
	if _, err := run1("add", "customer-import", "nightly", "--cron", "0 0 2 * *"); err == nil ||
		!strings.Contains(err.Error(), `cron: invalid cron expression "0 0 2 * *": want 6 fields`) {
		t.Fatalf("bad cron: %v", err)
	}
	out, err := run1("add", "customer-import", "nightly", "--cron", "0 0 2 * * *", "--time-zone", "Europe/Paris",
		"--params", `{"datasetId":"d-1"}`, "--metadata", "tenant=acme")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "JOB") || !strings.Contains(lines[1], "0 0 2 * * *") ||
		!strings.Contains(lines[1], "Europe/Paris") || !strings.Contains(lines[1], "active") {
		t.Fatalf("add:\n%s", out)
	}
	if _, err := run1("add", "customer-import", "poll", "--every", "1h", "--paused"); err != nil {
		t.Fatal(err)
	}
	out, err = run1("ls", "--output", "json")
	if err != nil {
		t.Fatal(err)
	}
	var list httpadapter.ScheduleList
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list.Items) != 2 {
		t.Fatalf("ls json: %v\n%s", err, out)
	}
	if n := list.Items[0]; n.Name != "nightly" || len(n.NextRuns) != 3 || n.Parameters["datasetId"] != "d-1" || n.Metadata["tenant"] != "acme" {
		t.Fatalf("nightly: %+v", n)
	}
	if p := list.Items[1]; p.Name != "poll" || !p.Paused || len(p.NextRuns) != 0 {
		t.Fatalf("poll: %+v", p)
	}
	if out, err = run1("resume", "customer-import", "poll"); err != nil || !strings.Contains(out, "active") {
		t.Fatalf("resume: %v\n%s", err, out)
	}
	if out, err = run1("pause", "customer-import", "poll"); err != nil || !strings.Contains(out, "paused") {
		t.Fatalf("pause: %v\n%s", err, out)
	}
	if out, err = run1("rm", "customer-import", "poll"); err != nil || out != "schedule customer-import/poll deleted\n" {
		t.Fatalf("rm: %v\n%s", err, out)
	}
	if _, err = run1("rm", "customer-import", "poll"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("rm twice: %v", err)
	}
	// The shared table (output.go): columns aligned, a count under it;
	// flags after the job as before it.
	out, _ = run1("ls", "customer-import", "-o", "text")
	lines = strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || lines[2] != "1 schedule" || strings.Index(lines[0], "STATE") != strings.Index(lines[1], "active") {
		t.Fatalf("ls after rm:\n%s", out)
	}
}
