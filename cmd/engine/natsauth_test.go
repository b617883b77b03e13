package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/internal/testutil"
)

// `engine run` and `engine call` as two terminals do it (make run, then
// engine call): the engine generates its key in the data dir, the CLI
// finds it there through the same configuration.
func TestCLIFindsTheEngineKey(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	dir := t.TempDir()
	t.Setenv("JETJOBS_NATS_LISTEN", addr)
	t.Setenv("JETJOBS_LOG_LEVEL", "info") // to see "engine started"
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var engineLog testutil.SyncBuffer
	go func() {
		done <- run(ctx, []string{"run", "--demo", "--data-dir", dir, "--http-addr", "off"}, io.Discard, &engineLog)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("engine run: %v", err)
		}
	})
	call := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(context.Background(), append([]string{"call", "--timeout", "5s"}, args...), &out, io.Discard)
		return out.String(), err
	}
	validate := []string{"customer-validation", "execute", `{"parameters":{"customerId":"CUST-7"}}`}
	// The engine is up once it says so (a call may be answered earlier,
	// while components still start).
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(engineLog.String(), `"message":"engine started"`) {
		select {
		case err := <-done:
			t.Fatalf("engine run ended: %v\n%s", err, engineLog.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("engine run never started:\n%s", engineLog.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if out, err := call(append([]string{"--data-dir", dir}, validate...)...); err != nil || !strings.Contains(out, `"success": true`) {
		t.Fatalf("call with the engine's key: %v %s", err, out)
	}
	// Every command dials the same way (common.dial): the new ones too.
	for _, args := range [][]string{{"jobs", "ls"}, {"executions", "ls", "--job", "customer-validation"}} {
		var out bytes.Buffer
		if err := run(context.Background(), append(args, "--data-dir", dir), &out, io.Discard); err != nil ||
			!strings.Contains(out.String(), "customer-validation") {
			t.Fatalf("%v with the engine's key: %v\n%s", args, err, out.String())
		}
	}
	if st, err := os.Stat(filepath.Join(dir, bus.EngineSeedFile)); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("seed file: %v %v", st, err)
	}

	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		wantErr string
		secret  string
	}{
		{"data dir from the environment", map[string]string{"JETJOBS_NATS_DATA_DIR": dir}, nil, "", ""},
		{"another data dir", nil, []string{"--data-dir", t.TempDir()}, "no engine key at", ""},
		{"listen off", map[string]string{"JETJOBS_NATS_LISTEN": "off"}, []string{"--data-dir", dir}, "nats.listen: off", ""},
		{"explicit wrong token", map[string]string{"JETJOBS_NATS_TOKEN": "guess-8d7c"}, []string{"--data-dir", dir},
			"Authorization Violation", "guess-8d7c"},
		{"auth none", map[string]string{"JETJOBS_NATS_SERVER_AUTH": "none"}, []string{"--data-dir", dir}, "Authorization Violation", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			out, err := call(append(tt.args, validate...)...)
			if tt.wantErr == "" {
				if err != nil || !strings.Contains(out, `"success": true`) {
					t.Fatalf("call: %v %s", err, out)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("call = %v, want %q", err, tt.wantErr)
			}
			if tt.secret != "" && strings.Contains(err.Error(), tt.secret) {
				t.Errorf("error %q shows the token", err)
			}
		})
	}
}
