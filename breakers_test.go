package jetjobs_test

import (
	"encoding/json"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jetjobs/jetjobs"
	"github.com/jetjobs/jetjobs/httpadapter"
	"github.com/jetjobs/jetjobs/jetjobstest"
	"github.com/jetjobs/jetjobs/jobs"
)

// Every job type's breaker exists from start-up: its state gauge reads
// closed (0) on /metrics and GET /health/circuitBreakers lists it, before
// any call; once it opens, both say so and count the refused calls.
func TestBreakersFromStartUp(t *testing.T) {
	t.Parallel()
	h := jetjobstest.New(t, func(r *jobs.Registry) {
		r.MustRegister("flaky", flaky{})
		r.MustRegister("steady", flaky{})
	}, jetjobstest.WithConfig(func(c *jetjobs.Config) {
		r := &c.Orchestration.Resiliency
		r.RetryEnabled = false
		r.MinimumNumberOfCalls, r.SlidingWindowSize = 2, 4
	}))
	srv := serve(t, h)
	metrics := func() string {
		rr := httptest.NewRecorder()
		h.Engine.Metrics().ServeHTTP(rr, httptest.NewRequest("GET", "/metrics", nil))
		return rr.Body.String()
	}
	breakers := func() httpadapter.CircuitBreakers {
		resp, err := srv.Client().Get(srv.URL + "/health/circuitBreakers")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var out httpadapter.CircuitBreakers
		if resp.StatusCode != 200 || json.Unmarshal(b, &out) != nil {
			t.Fatalf("/health/circuitBreakers: %d %s", resp.StatusCode, b)
		}
		return out
	}

	m := metrics()
	for _, job := range []string{"flaky", "steady"} {
		if want := `firefly_data_job_circuit_breaker_state{job_type="` + job + `"} 0`; !strings.Contains(m, want) {
			t.Errorf("before any call, metrics lack %s", want)
		}
	}
	cb := breakers()
	for _, job := range []string{"flaky", "steady"} {
		c, ok := cb.Components[job]
		if !ok || c.Status != httpadapter.BreakerUp || c.Details == nil || c.Details.State != "closed" ||
			c.Details.BufferedCalls != 0 || c.Details.FailureRate != -1 || c.Details.FailureRateThreshold != 50 {
			t.Errorf("breaker of %s before any call: %+v", job, c)
		}
	}

	for range 2 {
		post(t, srv, "/api/v1/flaky/execute", `{}`)
	}
	if code, _ := post(t, srv, "/api/v1/flaky/execute", `{}`); code != 503 {
		t.Fatalf("open breaker answered %d", code)
	}
	if want := `firefly_data_job_circuit_breaker_state{job_type="flaky"} 2`; !strings.Contains(metrics(), want) {
		t.Errorf("metrics lack %s", want)
	}
	cb = breakers()
	if c := cb.Components["flaky"]; c.Status != httpadapter.BreakerOpen || c.Details.State != "open" || c.Details.NotPermittedCalls != 1 {
		t.Errorf("open breaker: %+v %+v", c, c.Details)
	}
	if c := cb.Components["steady"]; c.Status != httpadapter.BreakerUp {
		t.Errorf("the other job's breaker: %+v", c)
	}
}
