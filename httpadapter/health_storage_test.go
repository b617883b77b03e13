package httpadapter_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/jetjobs/jetjobs"
	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/httpadapter"
	"github.com/jetjobs/jetjobs/internal/samplejobs"
	"github.com/jetjobs/jetjobs/jetjobstest"
	"github.com/jetjobs/jetjobs/jobs"
)

// /health's storage component lists every stream the engine creates
// (jetjobs.EngineStreams), the schedules and the worker jobs' work among
// them; JOBS_SCHEDULES, whose server-side discard is old-first but where
// the engine refuses a schedule that does not fit, counts as full near its
// bound.
func TestHealthStorageStreams(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		maxBytes   int64 // nats.limits.schedules.max-bytes; 0: the default
		fill       bool  // put schedules until the engine refuses one
		wantStatus string
		wantErr    error // what the last Put meets
	}{
		{"every stream listed", 0, false, "UP", nil},
		{"schedules full", 4 << 10, true, "DOWN", jobs.ErrStorageFull},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := jetjobstest.New(t, func(r *jobs.Registry) {
				if err := samplejobs.Register(r); err != nil {
					t.Fatal(err)
				}
			}, jetjobstest.WithConfig(func(c *jetjobs.Config) {
				if tt.maxBytes > 0 {
					c.NATS.Limits.Schedules.MaxBytes = tt.maxBytes
				}
			}))
			deps := depsOf(h)
			deps.Streams = jetjobs.EngineStreams()
			url := serve(t, httpadapter.NewRouter(deps, httpadapter.Options{ShowDetails: true}))
			var err error
			for i := 0; tt.fill && err == nil && i < 100; i++ {
				err = h.Engine.Schedules().Put(t.Context(), jobs.Schedule{Job: importJob, Name: fmt.Sprintf("s%03d", i),
					Every: "1h", Paused: true, Parameters: map[string]any{"pad": strings.Repeat("p", 200)}})
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("put schedules: %v, want %v", err, tt.wantErr)
			}
			want := http.StatusOK
			if tt.wantStatus != "UP" {
				want = http.StatusServiceUnavailable
			}
			var hl httpadapter.Health
			decode(t, do(t, url, http.MethodGet, "/health", ""), want, &hl)
			c := hl.Components["storage"]
			if c.Status != tt.wantStatus {
				t.Fatalf("storage %s, want %s: %+v", c.Status, tt.wantStatus, c)
			}
			streams, _ := c.Details["streams"].(map[string]any)
			for _, name := range []string{bus.StreamCommands, bus.StreamSchedules, bus.StreamWork, "KV_JOBS_STATE"} {
				if _, ok := streams[name]; !ok {
					t.Errorf("storage lists %v, not %s", streamNames(streams), name)
				}
			}
			if msg, _ := c.Details["error"].(string); tt.fill && !strings.Contains(msg, bus.StreamSchedules) {
				t.Errorf("storage DOWN does not name %s: %+v", bus.StreamSchedules, c)
			}
		})
	}
}

func streamNames(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
