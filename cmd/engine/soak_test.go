package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jetjobs/jetjobs/cmd/engine/internal/bench"
)

// engine soak for a couple of seconds: a report each second with
// throughput, the engine process's RSS and every stream's and bucket's
// size, the engine configured from a file.
func TestSoak(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "engine.yaml")
	if err := os.WriteFile(cfgFile, []byte("nats:\n  dlq-max-age: 1h\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	jsonFile := filepath.Join(dir, "soak.json")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	err := run(ctx, []string{"soak", "--duration", "3s", "--every", "1s", "--rate", "50", "--sync", "always",
		"--config", cfgFile, "--json", jsonFile}, &out, io.Discard)
	if err != nil {
		t.Fatalf("soak: %v\n%s", err, out.String())
	}
	var samples []bench.SoakSample
	b, err := os.ReadFile(jsonFile)
	if err != nil || json.Unmarshal(b, &samples) != nil || len(samples) < 3 {
		t.Fatalf("samples %v: %s\n%s", err, b, out.String())
	}
	last := samples[len(samples)-1]
	if last.Sent < 100 || last.Completed == 0 || last.RSSMiB <= 0 {
		t.Fatalf("last sample %+v\n%s", last, out.String())
	}
	names := map[string]bool{}
	for _, s := range last.Streams {
		names[s.Name] = true
	}
	for _, want := range []string{"JOBS_COMMANDS", "JOBS_EVENTS", "JOBS_DLQ", "KV_JOBS_STATE"} {
		if !names[want] {
			t.Errorf("no size of %s in %+v", want, last.Streams)
		}
	}
	if !strings.Contains(out.String(), "throughput=") || !strings.Contains(out.String(), "STREAM/BUCKET") {
		t.Fatalf("report:\n%s", out.String())
	}
}
