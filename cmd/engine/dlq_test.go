package main

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/cmd/engine/internal/demo"
	"github.com/jetjobs/jetjobs/jetjobstest"
	"github.com/jetjobs/jetjobs/jobs"
)

// deadLetter stores a dead letter of a binary-mode command as the worker
// does, and returns its sequence number.
func deadLetter(t *testing.T, h *jetjobstest.Harness, id, job, stage, ceType, body string) uint64 {
	t.Helper()
	hd := nats.Header{}
	for k, v := range map[string]string{"ce-specversion": "1.0", "ce-id": id, "ce-source": "/test", "ce-type": ceType,
		"Content-Type": "application/json", bus.HeaderDLQSubject: "jobs.cmd." + job + "." + stage,
		bus.HeaderDLQReason: "exhausted 5 deliveries: state store unavailable", bus.HeaderDLQDeliveries: "5",
		bus.HeaderDLQTime: time.Now().UTC().Format(time.RFC3339Nano)} {
		hd.Set(k, v)
	}
	ack, err := h.JS.PublishMsg(context.Background(), &nats.Msg{Subject: "jobs.dlq." + job + "." + stage, Header: hd, Data: []byte(body)})
	if err != nil {
		t.Fatal(err)
	}
	return ack.Sequence
}

// engine dlq list|show|replay|purge against a real engine, in-process.
func TestCLIDLQ(t *testing.T) {
	h := jetjobstest.New(t, func(r *jobs.Registry) {
		if err := demo.Register(r); err != nil {
			t.Fatal(err)
		}
	})
	t.Setenv("JETJOBS_NATS_URL", h.Server.ClientURL())
	run1 := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := run(context.Background(), append([]string{"dlq"}, args...), &out, &errOut)
		return out.String(), err
	}
	validate := deadLetter(t, h, "cli-dl-1", "customer-validation", "execute", "JOB_EXECUTE",
		`{"parameters":{"customerId":"CUST-5","apiKey":"hunter2"}}`)
	imp1 := deadLetter(t, h, "cli-dl-2", "customer-import", "start", "JOB_START", `{"parameters":{"datasetId":"d"}}`)
	imp2 := deadLetter(t, h, "cli-dl-3", "customer-import", "check", "JOB_CHECK", `{"executionId":"nope-1"}`)

	out, err := run1("list")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[0], "SEQ") || lines[4] != "3 of 3 dead letters" {
		t.Fatalf("list:\n%s", out)
	}
	// Aligned: every column starts where its header does.
	col := strings.Index(lines[0], "STAGE")
	for _, l := range lines[1:4] {
		if len(l) <= col || l[col-1] != ' ' || l[col] == ' ' {
			t.Fatalf("column STAGE not aligned at %d:\n%s", col, out)
		}
	}
	cases := []struct {
		name    string
		args    []string
		want    []uint64
		next    uint64
		wantErr string
	}{
		{"all", nil, []uint64{validate, imp1, imp2}, 0, ""},
		{"one job", []string{"--job", "customer-import"}, []uint64{imp1, imp2}, 0, ""},
		{"job and stage", []string{"--job", "customer-import", "--stage", "check"}, []uint64{imp2}, 0, ""},
		{"first page", []string{"--limit", "2"}, []uint64{validate, imp1}, imp1, ""},
		{"next page", []string{"--limit", "2", "--after", strconv.FormatUint(imp1, 10)}, []uint64{imp2}, 0, ""},
		{"bad stage", []string{"--stage", "launch"}, nil, 0, `invalid stage "launch"`},
		{"bad output", []string{"--output", "yaml"}, nil, 0, "want table or json"},
	}
	for _, c := range cases {
		out, err := run1(append([]string{"list", "--output", "json"}, c.args...)...)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%s: err %v, want %q", c.name, err, c.wantErr)
			}
			continue
		}
		var page bus.DLQPage
		if err != nil || json.Unmarshal([]byte(out), &page) != nil {
			t.Errorf("%s: %v %s", c.name, err, out)
			continue
		}
		var got []uint64
		for _, e := range page.Entries {
			got = append(got, e.Seq)
		}
		if !slicesEqual(got, c.want) || page.Next != c.next {
			t.Errorf("%s: seqs %v next %d, want %v next %d", c.name, got, page.Next, c.want, c.next)
		}
	}
	out, err = run1("show", strconv.FormatUint(validate, 10))
	if err != nil || !strings.Contains(out, "exhausted 5 deliveries") || !strings.Contains(out, "CUST-5") ||
		strings.Contains(out, "hunter2") || !regexp.MustCompile(`(?m)^execution:\s+-$`).MatchString(out) {
		t.Fatalf("show (the password masked): %v\n%s", err, out)
	}
	if _, err := run1("show", "999"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("show of an unknown entry: %v", err)
	}
	out, err = run1("replay", "--by", "cli-test", strconv.FormatUint(validate, 10))
	if err != nil || !strings.Contains(out, "cli-test") || !strings.Contains(out, "cli-dl-1") {
		t.Fatalf("replay: %v\n%s", err, out)
	}
	// The replayed EXECUTE ran: its execution is the original command's id.
	deadline := time.Now().Add(jetjobstest.DefaultTimeout)
	for {
		if e, _, err := h.Engine.State().Get(context.Background(), "customer-validation", "cli-dl-1"); err == nil && e.Status == jobs.StatusCompleted {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the replayed EXECUTE never completed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if out, err := run1("purge", "--job", "customer-import", "--all"); err == nil {
		t.Fatalf("purge with --job and --all: %s", out)
	}
	out, err = run1("purge", strconv.FormatUint(imp2, 10))
	if err != nil || strings.TrimSpace(out) != "1 dead letters removed" {
		t.Fatalf("purge one: %v %s", err, out)
	}
	out, err = run1("purge", "--all", "--output", "json")
	if err != nil || !strings.Contains(out, `"deleted": 1`) {
		t.Fatalf("purge all: %v %s", err, out)
	}
	out, err = run1("list")
	if err != nil || !strings.Contains(out, "0 of 0 dead letters") {
		t.Fatalf("list after purge: %v %s", err, out)
	}
}

func slicesEqual(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
