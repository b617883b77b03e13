package jetjobs_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/jetjobs/jetjobs"
	"github.com/jetjobs/jetjobs/internal/samplejobs"
	"github.com/jetjobs/jetjobs/jetjobstest"
	"github.com/jetjobs/jetjobs/jobs"
	"github.com/jetjobs/jetjobs/saga"
)

// The demo saga through the engine's REST adapter, as `make run` serves it:
// the happy path completes, a failing order import compensates the customer
// import.
func TestDemoSagaOverREST(t *testing.T) {
	t.Parallel()
	h := demoSagaEngine(t)
	srv := serve(t, h)
	for _, tc := range []struct {
		id, failOrders, want string
	}{{"onb-ok", "false", "COMPLETED"}, {"onb-fail", "true", "COMPENSATED"}} {
		body := `{"sagaId":"` + tc.id + `","input":{"datasetId":"d1","records":20,"batchSize":10,"batchDelay":"10ms",` +
			`"failOrders":` + tc.failOrders + `,"orderDuration":"50ms","channel":"email"}}`
		resp, err := srv.Client().Post(srv.URL+"/api/v1/sagas/customer-onboarding/start", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("%s: start %d %s", tc.id, resp.StatusCode, b)
		}
		var status string
		waitFor(t, func() bool {
			r, err := srv.Client().Get(srv.URL + "/api/v1/sagas/customer-onboarding/" + tc.id)
			if err != nil {
				return false
			}
			defer r.Body.Close()
			var in struct {
				Status string `json:"status"`
			}
			_ = json.NewDecoder(r.Body).Decode(&in)
			status = in.Status
			return status == "COMPLETED" || status == "COMPENSATED" || status == "FAILED"
		})
		if status != tc.want {
			t.Fatalf("%s ended %s, want %s", tc.id, status, tc.want)
		}
	}
}

// demoSagaEngine is an engine with the fixture jobs and the demo saga of
// `make run` (its YAML form, deploy/sagas.example.yaml).
func demoSagaEngine(t *testing.T) *jetjobstest.Harness {
	t.Helper()
	return jetjobstest.New(t, func(r *jobs.Registry) {
		registerSagaFixtures(t, r)
	}, jetjobstest.WithEngineOptions(jetjobs.WithComponents(saga.InEngine(samplejobs.Onboarding()))))
}

// registerSagaFixtures registers the jobs the onboarding saga runs.
func registerSagaFixtures(t *testing.T, r *jobs.Registry) {
	t.Helper()
	if err := samplejobs.Register(r); err != nil {
		t.Fatal(err)
	}
	if err := samplejobs.RegisterSagaSteps(r); err != nil {
		t.Fatal(err)
	}
}
