package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"
)

// engine chaos, short: two instances on an embedded 3-node cluster under
// load while stream leaders step down and an instance is killed; the
// summary line says nothing was lost or doubled. (Node kills take a
// cluster too long to heal under -race on two cores for make test: make
// chaos makes them.)
func TestChaosShort(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out bytes.Buffer
	err := run(ctx, []string{"chaos", "--duration", "8s", "--every", "3s", "--downtime", "1s", "--instances", "2",
		"--rate", "10", "--drain", "60s", "--seed", "16", "--faults", "step-down,instance-kill"}, &out, io.Discard)
	t.Log("\n" + out.String())
	if err != nil {
		t.Fatalf("chaos: %v", err)
	}
	m := regexp.MustCompile(`(?m)^chaos: accepted=(\d+) completed-once=(\d+) lost=(\d+) doubled=(\d+) dead-lettered=(\d+) `).
		FindStringSubmatch(out.String())
	if m == nil {
		t.Fatal("no summary line")
	}
	var accepted, once, lost, doubled int
	fmt.Sscan(strings.Join(m[1:5], " "), &accepted, &once, &lost, &doubled)
	if accepted < 30 || once != accepted || lost != 0 || doubled != 0 {
		t.Fatalf("accepted %d, completed once %d, lost %d, doubled %d", accepted, once, lost, doubled)
	}
	if faults := strings.Count(out.String(), "recovered in") + strings.Count(out.String(), "error:"); faults < 1 {
		t.Fatal("no fault was made")
	}
}

func TestChaosFlags(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args    []string
		wantErr string
	}{
		{[]string{"--rate", "-1"}, "--rate"},
		{[]string{"--faults", "meteor"}, "--faults"},
		{[]string{"--nats-url", "nats://127.0.0.1:1", "--faults", "node-kill"}, "--faults"},
		{[]string{"--instances", "-1"}, "--instances"},
		{[]string{"extra"}, "unexpected argument"},
	} {
		err := run(context.Background(), append([]string{"chaos"}, tc.args...), io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("chaos %v: %v, want an error naming %s", tc.args, err, tc.wantErr)
		}
	}
}
