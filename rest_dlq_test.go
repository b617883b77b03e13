package jetjobs_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/jetjobs/jetjobs"
	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/httpadapter/auth"
	"github.com/jetjobs/jetjobs/internal/authtest"
	"github.com/jetjobs/jetjobs/jobs"
)

// The DLQ's REST routes need admin: admin:* to list or purge all,
// admin:<job> for one job's entries; 401 without credentials, 415 for a
// state change that is not JSON; a replay runs the command.
func TestRESTDLQ(t *testing.T) {
	t.Parallel()
	keys := `keys:
  - name: ops
    sha256: "` + auth.HashKey("ops-key") + `"
    permissions: ["admin:*", "read:*"]
  - name: import-admin
    sha256: "` + auth.HashKey("import-admin-key") + `"
    permissions: ["admin:customer-import"]
  - name: reader
    sha256: "` + auth.HashKey("reader-key") + `"
    permissions: ["read:*", "run:*"]
`
	file := authtest.WriteFile(t, t.TempDir(), "api-keys.yaml", []byte(keys))
	s := newSecured(t, func(c *jetjobs.Config) { c.HTTP.Auth.APIKeysFile = file })
	validate := putDeadLetter(t, s.h.JS, "customer-validation", "execute", binaryCommand("rest-dl-1", "JOB_EXECUTE"),
		`{"parameters":{"customerId":"CUST-9"}}`)
	imp := putDeadLetter(t, s.h.JS, "customer-import", "check", binaryCommand("rest-dl-2", "JOB_CHECK"), `{"executionId":"gone-1"}`)
	v, i := "/api/v1/dlq/"+strconv.FormatUint(validate, 10), "/api/v1/dlq/"+strconv.FormatUint(imp, 10)
	jsonCT := []string{"Content-Type", "application/json"}
	with := func(key string, more ...string) []string { return append(bearer(key), more...) }
	// The DLQ depth is a gauge.
	if got := s.call(t, http.MethodGet, "/metrics", "", with("ops-key")...); !strings.Contains(got.body, "firefly_data_job_dlq_messages 2") {
		t.Errorf("metrics without the DLQ depth:\n%s", got.body)
	}
	cases := []struct {
		name, method, path string
		headers            []string
		want               int
	}{
		{"no credentials", http.MethodGet, "/api/v1/dlq", nil, 401},
		{"list needs admin", http.MethodGet, "/api/v1/dlq", with("reader-key"), 403},
		{"list all needs admin:*", http.MethodGet, "/api/v1/dlq", with("import-admin-key"), 403},
		{"list of own job", http.MethodGet, "/api/v1/dlq?jobType=customer-import", with("import-admin-key"), 200},
		{"bad limit", http.MethodGet, "/api/v1/dlq?limit=x", with("ops-key"), 400},
		{"entry of another job", http.MethodGet, v, with("import-admin-key"), 403},
		{"entry of own job", http.MethodGet, i, with("import-admin-key"), 200},
		{"unknown entry, no admin", http.MethodGet, "/api/v1/dlq/999", with("reader-key"), 403},
		{"unknown entry", http.MethodGet, "/api/v1/dlq/999", with("ops-key"), 404},
		{"not a sequence", http.MethodGet, "/api/v1/dlq/abc", with("ops-key"), 400},
		{"replay without admin", http.MethodPost, v + "/replay", with("reader-key"), 403},
		{"delete not JSON", http.MethodDelete, i, with("import-admin-key"), 415},
		{"purge all needs admin:*", http.MethodDelete, "/api/v1/dlq?all=true", with("import-admin-key", jsonCT...), 403},
		{"purge needs a scope", http.MethodDelete, "/api/v1/dlq", with("ops-key", jsonCT...), 400},
	}
	for _, c := range cases {
		if got := s.call(t, c.method, c.path, "", c.headers...); got.status != c.want {
			t.Errorf("%s: %s %s = %d %s, want %d", c.name, c.method, c.path, got.status, got.body, c.want)
		}
	}
	got := s.call(t, http.MethodGet, v, "", with("ops-key")...)
	var e bus.DLQEntry
	if err := json.Unmarshal([]byte(got.body), &e); err != nil || e.Command == nil || e.CommandID != "rest-dl-1" {
		t.Fatalf("show: %d %s", got.status, got.body)
	}
	got = s.call(t, http.MethodPost, v+"/replay", "", with("ops-key")...)
	var r bus.DLQReplay
	if err := json.Unmarshal([]byte(got.body), &r); err != nil || got.status != 200 || r.ReplayedBy != "ops" || r.ExecutionID != "rest-dl-1" {
		t.Fatalf("replay: %d %s", got.status, got.body)
	}
	waitFor(t, func() bool {
		e, _, err := s.h.Engine.State().Get(t.Context(), "customer-validation", "rest-dl-1")
		return err == nil && e.Status == jobs.StatusCompleted
	})
	if got := s.call(t, http.MethodDelete, i, "", with("import-admin-key", jsonCT...)...); got.status != 200 || strings.TrimSpace(got.body) != `{"deleted":1}` {
		t.Fatalf("delete: %d %s", got.status, got.body)
	}
	putDeadLetter(t, s.h.JS, "customer-import", "start", binaryCommand("rest-dl-3", "JOB_START"), `{}`)
	if got := s.call(t, http.MethodDelete, "/api/v1/dlq?jobType=customer-import", "", with("import-admin-key", jsonCT...)...); got.status != 200 || strings.TrimSpace(got.body) != `{"deleted":1}` {
		t.Fatalf("purge: %d %s", got.status, got.body)
	}
	if got := s.call(t, http.MethodGet, "/api/v1/dlq", "", with("ops-key")...); got.status != 200 || strings.TrimSpace(got.body) != `{"entries":[],"total":0,"next":0}` {
		t.Fatalf("list after: %d %s", got.status, got.body)
	}
}
