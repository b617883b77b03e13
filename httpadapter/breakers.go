package httpadapter

import (
	"net/http"

	"github.com/jetjobs/jetjobs/jobs/resilience"
)

// BreakerReader lists the circuit breakers of the job types (the engine's
// Breakers method).
type BreakerReader interface {
	Breakers() []resilience.BreakerStatus
}

// Statuses of one breaker in GET /health/circuitBreakers, as the
// Resilience4j health indicator words them.
const (
	BreakerUp       = "UP"                // closed
	BreakerHalfOpen = "CIRCUIT_HALF_OPEN" // probing
	BreakerOpen     = "CIRCUIT_OPEN"      // refusing calls
)

// CircuitBreakers is the body of GET /health/circuitBreakers: one component
// per job type, its status from the breaker's state and, with
// health-check.show-details, its counters.
type CircuitBreakers struct {
	Status     string                      `json:"status"`
	Components map[string]BreakerComponent `json:"components"`
}

// BreakerComponent is one job type's breaker.
type BreakerComponent struct {
	Status  string                    `json:"status"`
	Details *resilience.BreakerStatus `json:"details,omitempty"`
}

// circuitBreakers answers GET /health/circuitBreakers. An open breaker is
// the state of one job type, not a fault of the engine: the answer is 200
// with the breaker's status CIRCUIT_OPEN, and 503 only when the adapter has
// no breakers to read.
func (a *adapter) circuitBreakers(w http.ResponseWriter, r *http.Request) {
	if a.d.Breakers == nil {
		writeFailure(w, r, http.StatusServiceUnavailable, "", "", "no circuit breakers are configured for this adapter")
		return
	}
	out := CircuitBreakers{Status: StatusUp, Components: map[string]BreakerComponent{}}
	for _, b := range a.d.Breakers.Breakers() {
		c := BreakerComponent{Status: BreakerUp}
		switch b.State {
		case "open":
			c.Status = BreakerOpen
		case "half-open":
			c.Status = BreakerHalfOpen
		}
		if a.o.ShowDetails {
			c.Details = &b
		}
		out.Components[b.JobType] = c
	}
	writeJSON(w, http.StatusOK, out)
}

// circuitBreakerDocs adds the OpenAPI response and schemas of the route.
func circuitBreakerDocs(responses, schemas obj) {
	responses["CircuitBreakers"] = obj{"description": "Every job type's circuit breaker (none when the breaker is disabled).",
		"content": obj{"application/json": obj{"schema": ref("CircuitBreakers")}}}
	num := obj{"type": "number"}
	integer := obj{"type": "integer"}
	schemas["CircuitBreakers"] = obj{"type": "object", "required": []string{"status", "components"}, "properties": obj{
		"status": obj{"type": "string", "enum": []string{StatusUp}},
		"components": obj{"type": "object", "description": "By job type.",
			"additionalProperties": obj{"type": "object", "required": []string{"status"}, "properties": obj{
				"status": obj{"type": "string", "enum": []string{BreakerUp, BreakerHalfOpen, BreakerOpen}},
				"details": obj{"type": "object", "properties": obj{
					"jobType":               obj{"type": "string"},
					"state":                 obj{"type": "string", "enum": []string{"closed", "half-open", "open"}},
					"failureRate":           obj{"type": "number", "description": "Percent; -1 below the minimum number of calls."},
					"slowCallRate":          obj{"type": "number", "description": "Percent; -1 below the minimum number of calls."},
					"failureRateThreshold":  num,
					"slowCallRateThreshold": num,
					"bufferedCalls":         integer,
					"failedCalls":           integer,
					"slowCalls":             integer,
					"notPermittedCalls":     integer,
				}},
			}}},
	}}
}
