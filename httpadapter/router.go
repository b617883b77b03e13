package httpadapter

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/httpadapter/auth"
	"github.com/jetjobs/jetjobs/jobs"
	"go.opentelemetry.io/otel/trace"
)

// Options tune the adapter; zero values take the defaults in comments.
type Options struct {
	BasePath       string         // "/api/v1": default prefix of every job's base path ("/" for none)
	RequestTimeout time.Duration  // 30s: how long a stage call waits for its answer (then 504)
	MaxBodyBytes   int64          // 1 MiB: larger request bodies get 413
	Logger         zerolog.Logger // zero value: no log lines
	HealthTimeout  time.Duration  // 5s: bound of GET /health
	ShowDetails    bool           // false: /health shows only UP/DOWN per component
	// Metrics answers GET /metrics; default: Prometheus text with no
	// metrics in it yet.
	Metrics http.Handler
	// SSEHeartbeat is the interval of the keep-alive comment on an events
	// stream; default 15s.
	SSEHeartbeat time.Duration
	// TracerProvider makes a server span per request, the parent of the
	// command's spans; default: no span (the caller's traceparent is still
	// passed on).
	TracerProvider trace.TracerProvider

	// Auth authenticates callers (auth.Chain of the configured methods);
	// nil: no authentication, every caller is "anonymous" with every
	// permission.
	Auth auth.Authenticator
	// ProtectHealth, ProtectMetrics and ProtectOpenAPI make /health (and
	// /health/readiness), /metrics and /openapi.json need credentials;
	// default false: open (/health then shows details only to known callers).
	ProtectHealth, ProtectMetrics, ProtectOpenAPI bool
	// CORSOrigins are the origins whose browsers may call the API; default
	// none: no CORS header is sent.
	CORSOrigins []string
	// ServerURL is the server URL the OpenAPI document names; default "/".
	ServerURL string
	// Mounted are other components' handlers served under their prefix
	// and listed in the OpenAPI document; default none.
	Mounted []Mounted
}

// Defaults of Options.
const (
	DefaultBasePath       = "/api/v1"
	DefaultRequestTimeout = 30 * time.Second
	DefaultMaxBodyBytes   = 1 << 20
	DefaultHealthTimeout  = 5 * time.Second
	DefaultSSEHeartbeat   = 15 * time.Second
)

func (o Options) withDefaults() Options {
	if o.BasePath == "" {
		o.BasePath = DefaultBasePath
	}
	o.BasePath = cleanBase(o.BasePath, "Options.BasePath")
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = DefaultRequestTimeout
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.HealthTimeout <= 0 {
		o.HealthTimeout = DefaultHealthTimeout
	}
	if o.SSEHeartbeat <= 0 {
		o.SSEHeartbeat = DefaultSSEHeartbeat
	}
	if o.Metrics == nil {
		o.Metrics = http.HandlerFunc(emptyMetrics)
	}
	return o
}

// Deps are what the adapter talks to. Client and Registry are needed for
// the stage routes; Conn, JS and State for /health; State for the events
// stream. A missing one makes the routes that need it answer 503.
type Deps struct {
	Client   *bus.Client
	Registry *jobs.Registry
	Conn     *nats.Conn
	JS       jetstream.JetStream
	State    jetstream.KeyValue // the JOBS_STATE bucket (kv.StateStore.Bucket())
	Audit    AuditReader        // the audit trail (bus.AuditLog); nil answers 503
	Results  ResultReader       // stored results (kv.ResultStore), for answers too large for NATS; optional
	Breakers BreakerReader      // circuit breakers, for /health/circuitBreakers; nil answers 503
	// Orchestrators are contacted by /health/jobOrchestrator; nil: none is.
	Orchestrators *OrchestratorChecks
	// Streams are the streams (KV_<bucket> for a bucket) whose space /health
	// reports as its "storage" component; nil: none.
	Streams []string
	// DLQ manages the dead letters (bus.DLQ), for the admin routes
	// {base}/dlq…; nil answers 503.
	DLQ DLQStore
	// Schedules manages schedules and delayed starts (bus.Schedules), for
	// {base}/schedules… and START ?at= / ?delay=; nil answers 503.
	Schedules ScheduleStore
	// Executions lists and counts executions (kv.ExecutionIndex), for
	// {base}/jobs and the …/executions routes; nil: no counts, and the
	// executions routes answer 503.
	Executions jobs.ExecutionLister
}

// NewRouter returns a router with every route, the adapter's middleware,
// and JSON answers for unknown paths (404) and wrong methods (405). The
// routes are those of the job types registered when it is called. It
// panics on a configuration error (two jobs with one base path, a base path
// with a chi pattern in it), as chi does for bad patterns.
func NewRouter(d Deps, o Options) chi.Router {
	a := newAdapter(d, o)
	r := chi.NewRouter()
	r.Use(a.middleware()...)
	r.NotFound(a.notFound)
	r.MethodNotAllowed(a.methodNotAllowed(r))
	a.register(r)
	return r
}

// Mount adds the routes, wrapped in the adapter's middleware, to an existing
// router. The router's own NotFound and MethodNotAllowed handlers stay as
// they are.
func Mount(r chi.Router, d Deps, o Options) {
	a := newAdapter(d, o)
	r.Group(func(g chi.Router) {
		g.Use(a.middleware()...)
		a.register(g)
	})
}

// adapter holds the routes and what their handlers need.
type adapter struct {
	d       Deps
	o       Options
	log     zerolog.Logger
	routes  []route
	openapi []byte
	// anonymous is every request's caller when authentication is off: one
	// for all of them (callers are only read), not one per request.
	anonymous *auth.Caller
}

// routeKind says what a route does, for its handler and its OpenAPI entry.
type routeKind int

const (
	kindStage routeKind = iota
	kindEvents
	kindAudit
	kindHealth
	kindReadiness
	kindLiveness
	kindOrchestratorHealth
	kindMetrics
	kindOpenAPI
	kindCircuitBreakers
	// The dead-letter queue (dlq.go), kept together: isDLQ.
	kindDLQList
	kindDLQShow
	kindDLQReplay
	kindDLQDelete
	kindDLQPurge
	// Schedules (schedules.go), kept together: isSchedule.
	kindScheduleList
	kindSchedulePut
	kindScheduleGet
	kindScheduleDelete
	kindSchedulePause
	kindScheduleResume
	// The execution listing (listing.go), kept together: isListing.
	kindJobList
	kindExecutions
	kindJobExecutions
)

// route is one entry of the route table: the router and the OpenAPI
// document are both built from it.
type route struct {
	Method  string
	Pattern string
	Kind    routeKind
	Job     *jobs.Definition // stage and events routes
	Stage   jobs.Stage       // stage routes
	handler http.HandlerFunc
}

// hasID reports whether the route has an {executionId} path parameter.
func (r route) hasID() bool {
	return r.Kind == kindEvents || r.Kind == kindAudit || (r.Kind == kindStage && r.Stage != jobs.StageStart && r.Stage != jobs.StageExecute)
}

func newAdapter(d Deps, o Options) *adapter {
	if d.Registry == nil {
		d.Registry = jobs.NewRegistry()
	}
	a := &adapter{d: d, o: o.withDefaults(), anonymous: auth.Anonymous()}
	a.log = a.o.Logger
	a.routes = a.buildRoutes()
	a.openapi = a.buildOpenAPI()
	return a
}

func (a *adapter) register(r chi.Router) {
	for _, rt := range a.routes {
		r.Method(rt.Method, rt.Pattern, rt.handler)
	}
	for _, m := range a.o.Mounted {
		r.Mount(strings.TrimRight(m.Prefix, "/"), m.Handler)
	}
}

// BasePath is the REST base path of a job: its BasePath option, or
// {prefix}/<job>.
func BasePath(def *jobs.Definition, prefix string) string {
	if def.Options.BasePath != "" {
		return cleanBase(def.Options.BasePath, "base path of job "+def.Name)
	}
	return cleanBase(prefix, "Options.BasePath") + "/" + def.Name
}

// cleanBase gives a base path one leading slash and no trailing one ("/"
// becomes ""), and refuses what chi would read as a pattern.
func cleanBase(p, what string) string {
	p = "/" + strings.Trim(strings.TrimSpace(p), "/")
	if strings.ContainsAny(p, "{}*?# \t") {
		panic(fmt.Sprintf("httpadapter: %s %q must be a plain path", what, p))
	}
	if p == "/" {
		return ""
	}
	return p
}

func (a *adapter) buildRoutes() []route {
	var out []route
	add := func(rt route) { out = append(out, rt) }
	for _, def := range a.d.Registry.Definitions() {
		base := BasePath(def, a.o.BasePath)
		id := base + "/{executionId}"
		add(route{Method: http.MethodGet, Pattern: id + "/audit", Kind: kindAudit, Job: def})
		if def.Sync != nil {
			add(route{Method: http.MethodPost, Pattern: base + "/execute", Kind: kindStage, Job: def, Stage: jobs.StageExecute})
			// The stored result of an earlier EXECUTE.
			add(route{Method: http.MethodGet, Pattern: id + "/result", Kind: kindStage, Job: def, Stage: jobs.StageResult})
			continue
		}
		add(route{Method: http.MethodPost, Pattern: base + "/start", Kind: kindStage, Job: def, Stage: jobs.StageStart})
		add(route{Method: http.MethodGet, Pattern: id + "/check", Kind: kindStage, Job: def, Stage: jobs.StageCheck})
		add(route{Method: http.MethodGet, Pattern: id + "/collect", Kind: kindStage, Job: def, Stage: jobs.StageCollect})
		add(route{Method: http.MethodGet, Pattern: id + "/result", Kind: kindStage, Job: def, Stage: jobs.StageResult})
		add(route{Method: http.MethodPost, Pattern: id + "/stop", Kind: kindStage, Job: def, Stage: jobs.StageStop})
		// A pushed report of the external work's progress or end.
		add(route{Method: http.MethodPost, Pattern: id + "/report", Kind: kindStage, Job: def, Stage: jobs.StageReport})
		add(route{Method: http.MethodGet, Pattern: id + "/events", Kind: kindEvents, Job: def})
	}
	add(route{Method: http.MethodGet, Pattern: pathHealth, Kind: kindHealth})
	add(route{Method: http.MethodGet, Pattern: pathReadiness, Kind: kindReadiness})
	add(route{Method: http.MethodGet, Pattern: pathLiveness, Kind: kindLiveness})
	add(route{Method: http.MethodGet, Pattern: "/health/jobOrchestrator", Kind: kindOrchestratorHealth})
	add(route{Method: http.MethodGet, Pattern: "/health/circuitBreakers", Kind: kindCircuitBreakers})
	add(route{Method: http.MethodGet, Pattern: pathMetrics, Kind: kindMetrics})
	add(route{Method: http.MethodGet, Pattern: pathOpenAPI, Kind: kindOpenAPI})
	out = append(out, a.dlqRoutes()...)
	out = append(out, a.scheduleRoutes()...)
	out = append(out, a.listingRoutes()...)

	seen := map[string]string{}
	for i := range out {
		rt := &out[i]
		owner := "the adapter"
		if rt.Job != nil {
			owner = "job " + rt.Job.Name
		}
		key := rt.Method + " " + rt.Pattern
		if prev, dup := seen[key]; dup {
			panic(fmt.Sprintf("httpadapter: route %s is claimed by %s and %s: give one of them another base path", key, prev, owner))
		}
		seen[key] = owner
		rt.handler = authorize(*rt, a.handlerFor(*rt))
	}
	return out
}

func (a *adapter) handlerFor(rt route) http.HandlerFunc {
	switch rt.Kind {
	case kindStage:
		return a.stage(rt.Job, rt.Stage)
	case kindEvents:
		return a.events(rt.Job)
	case kindAudit:
		return a.audit(rt.Job)
	case kindHealth, kindReadiness:
		return a.health
	case kindLiveness:
		return a.liveness
	case kindOrchestratorHealth:
		return a.orchestratorHealth
	case kindMetrics:
		return a.o.Metrics.ServeHTTP
	case kindCircuitBreakers:
		return a.circuitBreakers
	case kindDLQList, kindDLQShow, kindDLQReplay, kindDLQDelete, kindDLQPurge:
		return a.dlqHandler(rt.Kind)
	case kindScheduleList, kindSchedulePut, kindScheduleGet, kindScheduleDelete, kindSchedulePause, kindScheduleResume:
		return a.scheduleHandler(rt)
	case kindJobList, kindExecutions, kindJobExecutions:
		return a.listingHandler(rt)
	default:
		return a.serveOpenAPI
	}
}

// notFound answers a path no route matches.
func (a *adapter) notFound(w http.ResponseWriter, r *http.Request) {
	writeFailure(w, r, http.StatusNotFound, "", "", fmt.Sprintf("no route for %s %s: unknown job or path", r.Method, r.URL.Path))
}

// methodNotAllowed answers a known path with the wrong method, naming the
// allowed ones in Allow.
func (a *adapter) methodNotAllowed(routes chi.Routes) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		path := r.URL.RawPath
		if path == "" {
			path = r.URL.Path
		}
		var allowed []string
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
			if routes.Match(chi.NewRouteContext(), m, path) {
				allowed = append(allowed, m)
			}
		}
		if len(allowed) > 0 {
			w.Header().Set("Allow", strings.Join(allowed, ", "))
		}
		writeFailure(w, r, http.StatusMethodNotAllowed, "", "",
			fmt.Sprintf("method %s is not allowed on %s (allowed: %s)", r.Method, r.URL.Path, strings.Join(allowed, ", ")))
	}
}
