package httpadapter

import (
	"context"
	"net/http"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/jetjobs/jetjobs/bus"
)

// Health statuses, as Spring Boot Actuator words them.
const (
	StatusUp   = "UP"
	StatusDown = "DOWN"
)

// Health is the body of GET /health and GET /health/jobOrchestrator.
type Health struct {
	Status     string               `json:"status"`
	Components map[string]Component `json:"components,omitempty"`
	Details    map[string]any       `json:"details,omitempty"`
}

// Component is the health of one dependency.
type Component struct {
	Status  string         `json:"status"`
	Details map[string]any `json:"details,omitempty"`
}

func up(details map[string]any) Component { return Component{Status: StatusUp, Details: details} }

func down(err string) Component {
	return Component{Status: StatusDown, Details: map[string]any{"error": err}}
}

// health answers GET /health: NATS connected and answering, JetStream
// answering for the account, the state bucket readable, each within
// HealthTimeout. Any DOWN makes the whole DOWN and the answer 503.
func (a *adapter) health(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), a.o.HealthTimeout)
	defer cancel()
	h := Health{Status: StatusUp, Components: map[string]Component{
		"nats":      a.natsHealth(ctx),
		"jetstream": a.jetStreamHealth(ctx),
		"kv":        a.kvHealth(ctx),
		"storage":   a.storageHealth(ctx),
	}}
	details := a.o.ShowDetails && authenticated(r)
	for name, c := range h.Components {
		if c.Status != StatusUp {
			h.Status = StatusDown
		}
		if !details {
			h.Components[name] = Component{Status: c.Status}
		}
	}
	a.writeHealth(w, h)
}

func (a *adapter) writeHealth(w http.ResponseWriter, h Health) {
	status := http.StatusOK
	if h.Status != StatusUp {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, h)
}

func (a *adapter) natsHealth(ctx context.Context) Component {
	nc := a.d.Conn
	if nc == nil {
		return down("no NATS connection is configured")
	}
	if st := nc.Status(); st != nats.CONNECTED {
		c := down("NATS connection is " + st.String())
		c.Details["state"] = st.String()
		return c
	}
	start := time.Now()
	if err := nc.FlushWithContext(ctx); err != nil {
		return down("NATS does not answer: " + err.Error())
	}
	return up(map[string]any{
		"state": nc.Status().String(), "url": bus.RedactURL(nc.ConnectedUrl()), // user, password and token masked
		"serverVersion": nc.ConnectedServerVersion(), "rttMillis": float64(time.Since(start).Microseconds()) / 1000,
	})
}

func (a *adapter) jetStreamHealth(ctx context.Context) Component {
	if a.d.JS == nil {
		return down("no JetStream context is configured")
	}
	info, err := a.d.JS.AccountInfo(ctx)
	if err != nil {
		return down("JetStream does not answer: " + err.Error())
	}
	return up(map[string]any{
		"streams": info.Streams, "consumers": info.Consumers,
		"memoryBytes": info.Memory, "storageBytes": info.Store,
	})
}

func (a *adapter) kvHealth(ctx context.Context) Component {
	if a.d.State == nil {
		return down("no state bucket is configured")
	}
	st, err := a.d.State.Status(ctx)
	if err != nil {
		return down("state bucket does not answer: " + err.Error())
	}
	return up(map[string]any{"bucket": st.Bucket(), "values": st.Values(), "bytes": st.Bytes()})
}

// JobType is one registered job type as GET /health/jobOrchestrator lists it.
type JobType struct {
	Name        string `json:"name"`
	Mode        string `json:"mode"`
	BasePath    string `json:"basePath"`
	Description string `json:"description,omitempty"`
}

// orchestratorHealth answers GET /health/jobOrchestrator: the registered job
// types and their modes, and each configured orchestrator as a component
// (Deps.Orchestrators); DOWN while the NATS connection is not up, since no
// command can reach a job then, or while an orchestrator does not answer.
func (a *adapter) orchestratorHealth(w http.ResponseWriter, r *http.Request) {
	types := []JobType{}
	modes := map[string]string{}
	for _, def := range a.d.Registry.Definitions() {
		types = append(types, JobType{Name: def.Name, Mode: def.Mode(), BasePath: BasePath(def, a.o.BasePath),
			Description: def.Options.Description})
		modes[def.Name] = def.Mode()
	}
	h := Health{Status: StatusUp, Details: map[string]any{"jobTypes": types, "modes": modes, "count": len(types)}}
	switch {
	case a.d.Conn == nil || a.d.Client == nil:
		h.Status, h.Details["error"] = StatusDown, "no NATS client is configured"
	case !a.d.Conn.IsConnected():
		h.Status, h.Details["error"] = StatusDown, "NATS connection is "+a.d.Conn.Status().String()
	}
	a.addOrchestrators(r.Context(), &h)
	if !a.o.ShowDetails {
		delete(h.Details, "error") // the job types are the point of this endpoint; errors are details
	}
	a.writeHealth(w, h)
}

// emptyMetrics is the default /metrics: valid Prometheus text exposition
// with no samples, until the engine's OpenTelemetry exporter is wired in.
func emptyMetrics(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	_, _ = w.Write([]byte("# jetjobs: no metrics are registered yet\n"))
}
