package jetjobs

import (
	"context"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/jetjobs/jetjobs/console"
	"github.com/jetjobs/jetjobs/httpadapter"
	"github.com/jetjobs/jetjobs/internal/config"
)

// startHTTP serves the REST adapter on http.addr ("" disables it).
func (e *Engine) startHTTP(ctx context.Context) error {
	c := e.cfg
	d := httpadapter.Deps{Client: e.client, Registry: e.reg, Conn: e.nc, JS: e.js, State: e.store.Bucket(),
		Audit: e.audit, Breakers: e, Orchestrators: e.orchestratorChecks(), Streams: EngineStreams(),
		DLQ: e.DLQ()}
	if e.index != nil {
		d.Executions = e.index
	}
	if !c.Orchestration.Persistence.AuditEnabled {
		d.Audit = nil
	}
	if s := e.Schedules(); s != nil {
		d.Schedules = s
	}
	if e.results != nil {
		d.Results = e.results
	}
	// The JWKS refresh lives as long as the engine, not as Start's ctx.
	authCtx, authStop := context.WithCancel(context.Background())
	e.authStop = authStop
	authn, err := e.restAuth(authCtx, c.HTTP)
	if err != nil {
		return err
	}
	tlsCfg, err := restTLS(c.HTTP)
	if err != nil {
		return err
	}
	mounted := e.mountedComponents()
	cons := e.newConsole(authn) // nil when console.enabled is false (console.go)
	if cons != nil {
		mounted = append(mounted, httpadapter.Mounted{Prefix: console.Prefix, Handler: cons.Handler()})
	}
	e.router = httpadapter.NewRouter(d, httpadapter.Options{
		BasePath: c.HTTP.BasePath, RequestTimeout: c.HTTP.RequestTimeout, MaxBodyBytes: c.HTTP.MaxBodyBytes,
		HealthTimeout: c.Orchestration.HealthCheck.Timeout, ShowDetails: c.Orchestration.HealthCheck.ShowDetails,
		Logger: e.log, Metrics: e.Metrics(), TracerProvider: e.tracerProvider(),
		Auth: authn, ProtectHealth: !c.HTTP.Auth.OpenHealth, ProtectMetrics: !c.HTTP.Auth.OpenMetrics,
		ProtectOpenAPI: !c.HTTP.Auth.OpenOpenAPI, CORSOrigins: c.HTTP.CORS.AllowedOrigins,
		Mounted: mounted,
	})
	var handler http.Handler = e.router
	if cons != nil {
		cons.SetAPI(e.router)
		handler = cons.Front(e.router)
	}
	if c.HTTP.Addr == "" {
		return nil
	}
	if authn == nil && !config.IsLoopback(c.HTTP.Addr) {
		e.log.Warn().Str("addr", c.HTTP.Addr).Msg("REST authentication is off (http.auth.mode: none) on a non-loopback address")
	}
	e.http = httpadapter.NewServer(c.HTTP.Addr, handler, e.log)
	if tlsCfg != nil {
		e.http.UseTLS(tlsCfg)
	}
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

// mountedComponents are the started RouteComponents' handlers, mounted at
// {http.base-path}/{path} by the router; a DescribedRouteComponent's
// routes are listed in /openapi.json too.
func (e *Engine) mountedComponents() []httpadapter.Mounted {
	var out []httpadapter.Mounted
	for _, comp := range e.started {
		rc, ok := comp.(RouteComponent)
		if !ok {
			continue
		}
		path, h := rc.Routes()
		m := httpadapter.Mounted{Prefix: strings.TrimRight(e.cfg.HTTP.BasePath, "/") + "/" + strings.Trim(path, "/"), Handler: h}
		if dc, ok := comp.(DescribedRouteComponent); ok {
			m.Operations = dc.Operations()
			m.Tag, m.TagDesc = dc.Tag()
		}
		out = append(out, m)
	}
	return out
}

// The engine answers GET /health/circuitBreakers for the REST adapter.
var _ httpadapter.BreakerReader = (*Engine)(nil)
