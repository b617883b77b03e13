package jetjobs_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetjobs/jetjobs"
	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/jetjobstest"
	"github.com/jetjobs/jetjobs/jobs"
	"github.com/jetjobs/jetjobs/kv"
)

// gatedJob completes an EXECUTE once its gate is open.
type gatedJob struct{ gate chan struct{} }

func (j gatedJob) Execute(ctx context.Context, req *jobs.Request) (*jobs.Response, error) {
	select {
	case <-j.gate:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return jobs.Completed("done", map[string]any{"id": req.ExecutionID}), nil
}

// healthStorage reads /health: its status code and the storage
// component's status.
func healthStorage(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url + "/health")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var h struct {
		Components map[string]struct{ Status string } `json:"components"`
	}
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatalf("/health: %s", b)
	}
	return resp.StatusCode, h.Components["storage"].Status
}

// waitHealth waits for /health's storage component to report want.
func waitHealth(t *testing.T, url, want string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, st := healthStorage(t, url)
		if st == want && (code == http.StatusOK) == (want == "UP") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/health storage %s (%d), want %s", st, code, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A full stream is an answer, not a crash: REST 507 with a clear message,
// bus.Client (engine call) told so, /health DOWN naming it; nothing
// already accepted is lost; the engine recovers by itself once space is
// freed.
func TestStorageFull(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		limits  func(*jetjobs.Config)
		stream  string
		wantErr error // what a client's publish or call meets while full
	}{
		{"command stream full", func(c *jetjobs.Config) { c.NATS.Limits.Commands.MaxBytes = 4 << 10 }, bus.StreamCommands, jobs.ErrStorageFull},
		{"state bucket full", func(c *jetjobs.Config) { c.NATS.Limits.State.MaxBytes = 8 << 10 }, "KV_" + kv.StateBucket, jobs.ErrStorageFull},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			gate := make(chan struct{})
			h := jetjobstest.New(t, func(r *jobs.Registry) { r.MustRegister("gated", gatedJob{gate: gate}) },
				jetjobstest.WithConfig(func(c *jetjobs.Config) {
					tt.limits(c)
				}))
			srv := serve(t, h)
			ctx := t.Context()
			pad := strings.Repeat("p", 300)
			if tt.stream != bus.StreamCommands {
				close(gate) // executions complete at once and fill the state bucket
			}
			// Send until the engine refuses: everything sent before is accepted.
			var accepted []string
			var full error
			for i := 0; i < 200 && full == nil; i++ {
				id := fmt.Sprintf("e%03d", i)
				req := &jobs.Request{ExecutionID: id, Parameters: map[string]any{"pad": pad}}
				if tt.stream == bus.StreamCommands {
					_, full = h.Client.Send(ctx, "gated", jobs.StageExecute, req, bus.SendOptions{})
				} else {
					cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
					resp, err := h.Client.Call(cctx, "gated", jobs.StageExecute, req, bus.SendOptions{})
					cancel()
					switch {
					case err != nil:
						full = err
					case resp.Code != "":
						full = &jobs.Error{Code: resp.Code, Msg: resp.ErrorText()}
					}
				}
				if full == nil {
					accepted = append(accepted, id)
				}
			}
			if !errors.Is(full, tt.wantErr) || !strings.Contains(full.Error(), "storage") {
				t.Fatalf("after %d accepted: %v, want %v saying storage", len(accepted), full, tt.wantErr)
			}
			if len(accepted) == 0 {
				t.Fatal("nothing accepted before the stream was full")
			}
			// REST answers 507 with the reason.
			code, resp := post(t, srv, "/api/v1/gated/execute", `{"executionId":"rest-1","parameters":{"pad":"`+pad+`"}}`)
			if code != http.StatusInsufficientStorage || !strings.Contains(resp.ErrorText(), "storage") {
				t.Fatalf("REST while full: %d %q, want 507 saying storage", code, resp.ErrorText())
			}
			waitHealth(t, srv.URL, "DOWN")

			// Free space: the commands' stream empties as the held stages
			// complete; a full state bucket is purged of finished records, as
			// their retention would.
			if tt.stream == bus.StreamCommands {
				close(gate)
			} else {
				for _, id := range accepted {
					if ex := h.Execution(t, "gated", id); ex.Status != jobs.StatusCompleted {
						t.Fatalf("%s: %s before the purge, want COMPLETED", id, ex.Status)
					}
				}
				st, err := h.JS.Stream(ctx, tt.stream)
				if err != nil {
					t.Fatal(err)
				}
				for _, id := range accepted {
					if err := st.Purge(ctx, jetstream.WithPurgeSubject("$KV."+kv.StateBucket+"."+kv.Key("gated", id))); err != nil {
						t.Fatal(err)
					}
				}
			}
			// Nothing accepted was lost: every accepted execution (and the
			// command refused by a full bucket, which was kept) completes.
			if tt.stream == bus.StreamCommands {
				for _, id := range accepted {
					h.WaitEvent(t, "gated", id, jobs.EventCompleted)
				}
			} else {
				refused := fmt.Sprintf("e%03d", len(accepted))
				h.WaitEvent(t, "gated", refused, jobs.EventCompleted)
				h.WaitEvent(t, "gated", "rest-1", jobs.EventCompleted)
			}
			waitHealth(t, srv.URL, "UP")
			code, resp = post(t, srv, "/api/v1/gated/execute", `{"executionId":"rest-2"}`)
			if code != http.StatusOK || !resp.Success {
				t.Fatalf("REST after recovery: %d %+v", code, resp)
			}
			dlq, err := h.JS.Stream(ctx, bus.StreamDLQ)
			if err != nil {
				t.Fatal(err)
			}
			if info, err := dlq.Info(ctx); err != nil || info.State.Msgs != 0 {
				t.Fatalf("JOBS_DLQ: %v, %+v; want empty", err, info.State)
			}
		})
	}
}
