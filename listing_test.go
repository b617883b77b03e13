package jetjobs_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/jetjobs/jetjobs"
)

// The listing routes read the execution index with the adapter's
// permissions: read:<job> for one job type, read:* for all.
func TestRESTListing(t *testing.T) {
	t.Parallel()
	file := apiKeysFile(t)
	s := newSecured(t, func(c *jetjobs.Config) { c.HTTP.Auth.APIKeysFile = file })
	got := s.call(t, http.MethodPost, importStart, `{"parameters":{"datasetId":"d","records":10,"batchSize":10,"batchDelay":"1ms"}}`, bearer("ops-key")...)
	if got.status != http.StatusOK {
		t.Fatalf("start: %d %s", got.status, got.body)
	}
	var started struct {
		ExecutionID string `json:"executionId"`
	}
	_ = json.Unmarshal([]byte(got.body), &started)
	// The index follows the bucket: wait until it lists the execution.
	waitFor(t, func() bool {
		a := s.call(t, http.MethodGet, "/api/v1/customer-import/executions", "", bearer("ops-key")...)
		return a.status == http.StatusOK && strings.Contains(a.body, started.ExecutionID)
	})
	cases := []struct {
		name, path, key string
		want            int
		body            string // a substring of the answer
	}{
		{"all jobs", "/api/v1/executions", "reader-key", 200, started.ExecutionID},
		{"all jobs needs read:*", "/api/v1/executions", "crm-key", 403, "read:*"},
		{"one job by query", "/api/v1/executions?job=customer-import", "crm-key", 200, started.ExecutionID},
		{"per-job route", "/api/v1/customer-import/executions?limit=1", "crm-key", 200, started.ExecutionID},
		{"per-job route of another job", "/api/v1/customer-validation/executions", "crm-key", 403, "read:customer-validation"},
		{"bad status", "/api/v1/executions?status=DONE", "reader-key", 400, "status"},
		{"bad limit", "/api/v1/executions?limit=0", "reader-key", 400, "limit"},
		{"bad time", "/api/v1/executions?since=yesterday", "reader-key", 400, "since"},
		{"bad cursor", "/api/v1/executions?cursor=%21%21", "reader-key", 400, "cursor"},
		{"no credentials", "/api/v1/executions", "", 401, "authentication required"},
		{"job types with counts", "/api/v1/jobs", "crm-key", 200, `"counts":{`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var h []string
			if tc.key != "" {
				h = bearer(tc.key)
			}
			a := s.call(t, http.MethodGet, tc.path, "", h...)
			if a.status != tc.want || !strings.Contains(a.body, tc.body) {
				t.Fatalf("%s: %d %s; want %d with %q", tc.path, a.status, a.body, tc.want, tc.body)
			}
		})
	}
	// crm-sync reads only customer-import: /jobs lists only it.
	a := s.call(t, http.MethodGet, "/api/v1/jobs", "", bearer("crm-key")...)
	if strings.Contains(a.body, "customer-validation") {
		t.Errorf("/jobs shows crm-sync a job it may not read: %s", a.body)
	}
}

// With console.enabled false there is no /ui and no index: the listing
// answers 503 and /jobs has no counts.
func TestConsoleDisabled(t *testing.T) {
	t.Parallel()
	s := newSecured(t, func(c *jetjobs.Config) { c.Console.Enabled = false })
	if a := s.call(t, http.MethodGet, "/ui/", ""); a.status != http.StatusNotFound {
		t.Errorf("/ui/: %d", a.status)
	}
	if a := s.call(t, http.MethodGet, "/api/v1/executions", ""); a.status != http.StatusServiceUnavailable {
		t.Errorf("/executions: %d %s", a.status, a.body)
	}
	if a := s.call(t, http.MethodGet, "/api/v1/jobs", ""); a.status != http.StatusOK || !strings.Contains(a.body, `"indexed":false`) {
		t.Errorf("/jobs: %d %s", a.status, a.body)
	}
	if s.h.Engine.ExecutionIndex() != nil {
		t.Error("an index runs with console.enabled false")
	}
}
