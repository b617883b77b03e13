package jetjobs

import (
	"context"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/jetjobs/jetjobs/httpadapter"
)

// startHTTP serves the REST adapter on http.addr ("" disables it).
func (e *Engine) startHTTP(ctx context.Context) error {
	c := e.cfg
	d := httpadapter.Deps{Client: e.client, Registry: e.reg, Conn: e.nc, JS: e.js, State: e.store.Bucket(),
		Audit: e.audit, Orchestrators: e.orchestratorChecks()}
	if !c.Orchestration.Persistence.AuditEnabled {
		d.Audit = nil
	}
	if e.results != nil {
		d.Results = e.results
	}
	e.router = httpadapter.NewRouter(d, httpadapter.Options{
		BasePath: c.HTTP.BasePath, RequestTimeout: c.HTTP.RequestTimeout, MaxBodyBytes: c.HTTP.MaxBodyBytes,
		HealthTimeout: c.Orchestration.HealthCheck.Timeout, ShowDetails: c.Orchestration.HealthCheck.ShowDetails,
		Logger: e.log, Metrics: e.Metrics(), TracerProvider: e.tracerProvider(),
	})
	for _, comp := range e.started {
		if rc, ok := comp.(RouteComponent); ok {
			path, h := rc.Routes()
			e.router.Mount(strings.TrimRight(c.HTTP.BasePath, "/")+"/"+strings.Trim(path, "/"), h)
		}
	}
	if c.HTTP.Addr == "" {
		return nil
	}
	e.http = httpadapter.NewServer(c.HTTP.Addr, e.router, e.log)
	return e.http.Start(ctx)
}

// Router is the REST adapter's router (after Start), also when http.addr is
// empty: mount it on a server of your own, or add routes to it.
func (e *Engine) Router() chi.Router { return e.router }

// HTTPAddr is the address the REST adapter listens on, "" when it is off.
func (e *Engine) HTTPAddr() string {
	if e.http == nil {
		return ""
	}
	return e.http.Addr()
}
