package airflow

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/jetjobs/jetjobs/jobs/orchestrated"
)

var _ orchestrated.HealthChecker = (*Orchestrator)(nil)

// healthPath is Airflow's health endpoint under {base-url}/api/{version}:
// /health in API v1 (Airflow 2), /monitor/health in v2 (Airflow 3).
func (o *Orchestrator) healthPath() string {
	if o.version == "v1" {
		return o.api + "/health"
	}
	return o.api + "/monitor/health"
}

// Health calls Airflow's health endpoint with the configured credentials:
// nil when it answers 2xx and neither the metadatabase nor the scheduler
// reports "unhealthy".
func (o *Orchestrator) Health(ctx context.Context) error {
	c := call{op: "health", method: http.MethodGet}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.healthPath(), nil)
	if err != nil {
		return fmt.Errorf("airflow: health: %s", o.redact(err.Error()))
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "jetjobs")
	o.authorize(req)
	resp, err := o.hc.Do(req)
	if err != nil {
		return o.transportError(c, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return o.statusError(c, resp.StatusCode, data)
	}
	var h map[string]struct {
		Status string `json:"status"`
	}
	if err := json.Unmarshal(data, &h); err != nil {
		return fmt.Errorf("airflow: health: HTTP %d: answer is not Airflow's health: %s", resp.StatusCode, o.redact(err.Error()))
	}
	var bad []string
	for _, part := range []string{"metadatabase", "scheduler"} {
		if st := h[part].Status; strings.EqualFold(st, "unhealthy") {
			bad = append(bad, part+" "+st)
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("airflow: health: %s", strings.Join(bad, ", "))
	}
	return nil
}
