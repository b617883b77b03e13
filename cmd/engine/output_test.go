package main

import (
	"bytes"
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/jetjobs/jetjobs/jobs"
)

// Coloured cells line up: the table aligns on visible width.
func TestTableAlignsColouredCells(t *testing.T) {
	t.Parallel()
	p := painter{on: true}
	tb := newTable(p, "JOB", "STATUS", "N")
	tb.row("a", p.status("COMPLETED"), "1")
	tb.row("long-job", p.status("RUNNING"), "2")
	tb.row("b", "-", "3")
	var buf bytes.Buffer
	if err := tb.write(&buf); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	col := -1
	for i, l := range lines {
		plain := stripANSI(l)
		at := strings.LastIndexByte(plain, ' ') + 1
		if i == 0 {
			col = at
		} else if at != col {
			t.Fatalf("column N at %d in row %d, header at %d:\n%s", at, i, col, buf.String())
		}
	}
	if !strings.Contains(buf.String(), ansiGreen+"COMPLETED"+ansiReset) {
		t.Fatalf("COMPLETED not green: %q", buf.String())
	}
	if (painter{}).status("FAILED") != "FAILED" {
		t.Fatal("colour without a terminal")
	}
}

func stripANSI(s string) string {
	var b strings.Builder
	esc := false
	for _, r := range s {
		switch {
		case esc:
			esc = r != 'm'
		case r == '\x1b':
			esc = true
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Flags after the arguments are read as flags, values included.
func TestInterleaved(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"flags first", []string{"--wait", "job", "start"}, "--wait -- job start"},
		{"flags last", []string{"job", "start", "{}", "--wait", "-o", "json"}, "--wait -o json -- job start {}"},
		{"name=value", []string{"job", "--timeout=5s", "start"}, "--timeout=5s -- job start"},
		{"double dash", []string{"job", "--", "--wait"}, "-- job --wait"},
		{"no arguments", []string{"-o", "json"}, "-o json"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs := flag.NewFlagSet("x", flag.ContinueOnError)
			fs.Bool("wait", false, "")
			fs.String("o", "", "")
			fs.Duration("timeout", 0, "")
			if got := strings.Join(interleaved(fs, c.args), " "); got != c.want {
				t.Fatalf("got %q, want %q", got, c.want)
			}
		})
	}
}

// The terminal form of call --wait: a bar with the status, the message
// and the elapsed time, full at COMPLETED.
func TestBarView(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	v := newBarView(&buf, painter{})
	v.update(time.Now(), progressState{status: jobs.StatusRunning, percent: 40, message: "loading batch 4"})
	if s := buf.String(); !strings.Contains(s, "40%") || !strings.Contains(s, "RUNNING loading batch 4") {
		t.Fatalf("bar at 40%%: %q", s)
	}
	v.done(time.Now(), progressState{status: jobs.StatusCompleted, percent: 100, message: "done"})
	if s := buf.String(); !strings.Contains(s, "100%") || !strings.Contains(s, "COMPLETED done") {
		t.Fatalf("bar done: %q", s)
	}
}
