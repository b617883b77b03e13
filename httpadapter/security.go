package httpadapter

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"

	"github.com/jetjobs/jetjobs/httpadapter/auth"
	"github.com/jetjobs/jetjobs/jobs"
)

// Paths that can be served without credentials (docs/rest.md,
// "Authentication"). /health/liveness always is.
const (
	pathHealth    = "/health"
	pathReadiness = "/health/readiness"
	pathLiveness  = "/health/liveness"
	pathMetrics   = "/metrics"
	pathOpenAPI   = "/openapi.json"
)

// isOpen reports whether path needs no credentials.
func (a *adapter) isOpen(path string) bool {
	switch path {
	case pathLiveness:
		return true
	case pathHealth, pathReadiness:
		return !a.o.ProtectHealth
	case pathMetrics:
		return !a.o.ProtectMetrics
	case pathOpenAPI:
		return !a.o.ProtectOpenAPI
	}
	return false
}

// authenticate puts the request's caller into its context. Without an
// Authenticator every caller is auth.Anonymous. With one, a request
// without valid credentials is answered 401, except on an open path, where
// it goes on with no caller.
func (a *adapter) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.o.Auth == nil {
			infoOf(r).caller = auth.AnonymousName
			next.ServeHTTP(w, withCaller(r, a.anonymous))
			return
		}
		caller, err := a.o.Auth.Authenticate(r)
		if err != nil {
			if a.isOpen(r.URL.Path) {
				next.ServeHTTP(w, r)
				return
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="jetjobs"`)
			writeFailure(w, r, http.StatusUnauthorized, "", "", "authentication required: "+err.Error())
			return
		}
		infoOf(r).caller = caller.Name
		next.ServeHTTP(w, withCaller(r, caller))
	})
}

// withCaller is r carrying its caller: in the adapter's request scope when
// r's context is that scope (observe comes first and nothing between it
// and authenticate derives a context), else with auth.WithCaller.
func withCaller(r *http.Request, c *auth.Caller) *http.Request {
	if s, ok := r.Context().(*requestScope); ok && s.caller == nil {
		s.caller = c
		return r
	}
	return r.WithContext(auth.WithCaller(r.Context(), c))
}

// authenticated reports whether the request has a known caller (always
// true when authentication is off).
func authenticated(r *http.Request) bool { return auth.CallerFrom(r.Context()) != nil }

// permission is what a route needs: a verb on its job, or nothing beyond
// authentication (verb "").
func (rt route) permission() auth.Verb {
	switch rt.Kind {
	case kindStage:
		switch rt.Stage {
		case jobs.StageStart, jobs.StageExecute, jobs.StageStop, jobs.StageReport:
			return auth.Run
		}
		return auth.Read
	case kindEvents, kindAudit:
		return auth.Read
	}
	if rt.Kind == kindJobExecutions {
		return auth.Read
	}
	if isDLQ(rt.Kind) {
		return auth.Admin // on the entry's job, checked by the handler (dlq.go)
	}
	if isSchedule(rt.Kind) {
		if rt.Method == http.MethodGet {
			return auth.Read
		}
		return auth.Admin
	}
	return ""
}

// authorize answers 403 when the caller lacks the route's permission.
func authorize(rt route, h http.HandlerFunc) http.HandlerFunc {
	verb := rt.permission()
	if verb == "" || rt.Job == nil { // no job in the route: the handler checks
		return h
	}
	return func(w http.ResponseWriter, r *http.Request) {
		if err := auth.Check(r.Context(), verb, rt.Job.Name); err != nil {
			writeFailure(w, r, http.StatusForbidden, "", "", err.Error())
			return
		}
		h(w, r)
	}
}

// requireJSON answers 415 to a state-changing request (POST, PUT, PATCH,
// DELETE) whose Content-Type is not application/json, also when it has no
// body or no Content-Type: a browser form cannot send such a request
// without a CORS preflight.
func requireJSON(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
			if err := checkContentType(r.Header.Get("Content-Type")); err != nil {
				writeFailure(w, r, http.StatusUnsupportedMediaType, "", "", err.Error())
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// checkContentType accepts application/json with at most a UTF-8 charset.
func checkContentType(ct string) error {
	if ct == "application/json" { // what nearly every client sends: nothing to parse
		return nil
	}
	if strings.TrimSpace(ct) == "" {
		return errors.New("Content-Type is missing: send Content-Type: application/json")
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return fmt.Errorf("unreadable Content-Type %q: send application/json", trunc(ct))
	}
	if mt != "application/json" {
		return fmt.Errorf("Content-Type %q is not supported: send application/json", trunc(mt))
	}
	for k, v := range params {
		if k != "charset" || (!strings.EqualFold(v, "utf-8") && !strings.EqualFold(v, "utf8")) {
			return fmt.Errorf("Content-Type parameter %s=%q is not supported: send application/json; charset=utf-8", trunc(k), trunc(v))
		}
	}
	return nil
}

// CORS answers.
const (
	corsMethods = "GET, POST, PUT, DELETE"
	corsHeaders = "Authorization, Content-Type, Last-Event-ID, X-Request-Id, traceparent, tracestate"
	corsMaxAge  = "600"
)

// cors serves CORS for the allowed origins: a preflight (OPTIONS with
// Access-Control-Request-Method) is answered 204 here, before
// authentication, with the allowed methods and headers when the origin is
// allowed; other requests of an allowed origin get Access-Control-Allow-Origin.
// No origin is allowed unless configured, and then no CORS header is sent.
func (a *adapter) cors(next http.Handler) http.Handler {
	if len(a.o.CORSOrigins) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Add("Vary", "Origin")
		allowed := originAllowed(a.o.CORSOrigins, origin)
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			if allowed {
				h.Set("Access-Control-Allow-Origin", origin)
				h.Set("Access-Control-Allow-Methods", corsMethods)
				h.Set("Access-Control-Allow-Headers", corsHeaders)
				h.Set("Access-Control-Max-Age", corsMaxAge)
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if allowed {
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Expose-Headers", "X-Request-Id")
		}
		next.ServeHTTP(w, r)
	})
}

// originAllowed matches an origin against the list; an entry may hold one
// * (https://*.example.com), and "*" alone allows every origin.
func originAllowed(list []string, origin string) bool {
	origin = strings.ToLower(origin)
	for _, o := range list {
		o = strings.ToLower(o)
		prefix, suffix, wild := strings.Cut(o, "*")
		switch {
		case !wild && o == origin:
			return true
		case wild && len(origin) >= len(prefix)+len(suffix) && strings.HasPrefix(origin, prefix) && strings.HasSuffix(origin, suffix):
			return true
		}
	}
	return false
}

// liveness answers GET /health/liveness: UP while the process serves HTTP;
// it asks nothing of NATS, so a NATS outage does not restart the engine.
func (a *adapter) liveness(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, Health{Status: StatusUp})
}
