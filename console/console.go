package console

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/rs/zerolog"

	"github.com/jetjobs/jetjobs/httpadapter/auth"
	"github.com/jetjobs/jetjobs/jobs"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Prefix is where the engine serves the console.
const Prefix = "/ui"

// CookieName is the cookie that carries the key given on the login page:
// HttpOnly, SameSite=Strict, so no script reads it and no other site's
// page sends it.
const CookieName = "jetjobs_console"

// HeaderConsole marks the console's own fetch calls: a state-changing REST
// call authenticated by the cookie must carry it (a header another site
// cannot set without a CORS preflight the adapter refuses).
const HeaderConsole = "X-Jetjobs-Console"

// Index is the execution index the console reads: the listing port, one
// execution's line, and a signal of change for the live view.
type Index interface {
	jobs.ExecutionLister
	Lookup(jobType, executionID string) (jobs.ExecutionSummary, bool)
	Changed() <-chan struct{}
}

// Records reads one execution record (the jobs.StateStore port).
type Records interface {
	Get(ctx context.Context, jobType, executionID string) (*jobs.Execution, uint64, error)
}

// StreamSize is one stream's size for the overview.
type StreamSize struct {
	Name     string
	Bytes    uint64
	Messages uint64
	MaxBytes int64
}

// Options are what the console reads; zero values take the defaults in
// comments.
type Options struct {
	BasePath  string             // "/api/v1": the REST adapter's http.base-path
	Auth      auth.Authenticator // nil: authentication is off, every caller may do everything
	Registry  *jobs.Registry
	Index     Index                              // nil: the listing pages say the index is off
	Records   Records                            // nil: the detail page shows the listing line only
	Sanitizer *jobs.Sanitizer                    // masks parameters on the detail page; nil: the default sensitive keys
	Streams   func(context.Context) []StreamSize // stream sizes for the overview; nil: none shown
	// SampleEvery is how often the overview's charts sample the counts;
	// default 10s, 30 samples kept.
	SampleEvery time.Duration
	Logger      zerolog.Logger
}

// Console serves the pages. Mount Handler at Prefix behind the REST
// adapter's middleware, put Front in front of the whole router, and call
// SetAPI with the router.
type Console struct {
	o     Options
	pages map[string]*template.Template
	api   http.Handler
	stats *sampler
}

// New builds the console; Start begins its sampling, Stop ends it.
func New(o Options) *Console {
	if o.BasePath == "" {
		o.BasePath = "/api/v1"
	}
	o.BasePath = "/" + strings.Trim(o.BasePath, "/")
	if o.BasePath == "/" {
		o.BasePath = ""
	}
	if o.Sanitizer == nil {
		o.Sanitizer = jobs.NewSanitizer()
	}
	if o.SampleEvery <= 0 {
		o.SampleEvery = 10 * time.Second
	}
	if o.Registry == nil {
		o.Registry = jobs.NewRegistry()
	}
	c := &Console{o: o, pages: parsePages()}
	c.stats = newSampler(o.Index, o.Registry, o.SampleEvery, 30)
	return c
}

// SetAPI gives the console the REST router it calls in-process.
func (c *Console) SetAPI(h http.Handler) { c.api = h }

// Start begins sampling the counts for the overview's charts.
func (c *Console) Start() { c.stats.start() }

// Stop ends the sampling.
func (c *Console) Stop() { c.stats.stop() }

func parsePages() map[string]*template.Template {
	funcs := template.FuncMap{
		"ago":      ago,
		"stamp":    func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") },
		"json":     prettyJSON,
		"lower":    strings.ToLower,
		"pathesc":  pathEscape,
		"terminal": func(s jobs.Status) bool { return s.Terminal() },
		"in":       in,
		"compact":  compactJSON,
	}
	out := map[string]*template.Template{}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" {
			continue
		}
		out[base] = template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n))
	}
	return out
}

// Handler serves the console's pages under Prefix; it expects the REST
// adapter's middleware in front (the caller in the request's context).
func (c *Console) Handler() http.Handler {
	r := chi.NewRouter()
	r.Get("/", c.overview)
	r.Get("/executions", c.executionList)
	r.Get("/executions/{job}/{id}", c.executionDetail)
	r.Get("/executions/{job}/{id}/result.json", c.resultDownload)
	r.Get("/start/{job}", c.startForm)
	r.Get("/sagas", c.sagaList)
	r.Get("/sagas/{saga}/{id}", c.sagaDetail)
	r.Get("/dlq", c.dlqList)
	r.Get("/dlq/{seq}", c.dlqDetail)
	r.Get("/live", c.live)
	r.Get("/schedules", c.scheduleList)       // schedules.go
	r.Get("/schedules/{job}", c.scheduleList) // one job's
	return r
}

// Front serves what the console needs before authentication, and lets the
// login cookie stand for an Authorization header: for GET and HEAD, and
// for other methods only with HeaderConsole set (the console's own fetch
// calls). Everything else goes to next, the REST router.
func (c *Console) Front(next http.Handler) http.Handler {
	static := http.StripPrefix(Prefix+"/static/", http.FileServerFS(mustSub(staticFS, "static")))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		switch {
		case strings.HasPrefix(p, Prefix+"/static/"):
			w.Header().Set("Cache-Control", "public, max-age=3600")
			static.ServeHTTP(w, r)
			return
		case p == Prefix+"/login":
			c.login(w, r)
			return
		case p == Prefix+"/logout":
			c.logout(w, r)
			return
		}
		if c.o.Auth != nil && r.Header.Get("Authorization") == "" {
			if ck, err := r.Cookie(CookieName); err == nil && ck.Value != "" {
				if r.Method == http.MethodGet || r.Method == http.MethodHead || r.Header.Get(HeaderConsole) == "1" {
					r = r.Clone(r.Context())
					r.Header.Set("Authorization", "Bearer "+ck.Value)
				}
			}
			if isPage(r) {
				if _, err := c.o.Auth.Authenticate(r); err != nil {
					clearCookie(w, r)
					http.Redirect(w, r, Prefix+"/login?next="+pathEscape(r.URL.RequestURI()), http.StatusSeeOther)
					return
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// isPage reports a browser's GET of a console page (not the live stream).
func isPage(r *http.Request) bool {
	return r.Method == http.MethodGet && (r.URL.Path == Prefix || strings.HasPrefix(r.URL.Path, Prefix+"/")) &&
		r.URL.Path != Prefix+"/live"
}

func mustSub(f fs.FS, dir string) fs.FS {
	s, err := fs.Sub(f, dir)
	if err != nil {
		panic(err)
	}
	return s
}

// login shows the login page (GET) or checks a key sent as JSON by its
// script and sets the cookie (POST). A form POST is refused (415), like
// every state change of the REST adapter.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		if c.o.Auth == nil {
			http.Redirect(w, r, Prefix+"/", http.StatusSeeOther)
			return
		}
		c.render(w, r, "login", nil, map[string]any{"Next": safeNext(r.URL.Query().Get("next"))})
	case http.MethodPost:
		if !jsonRequest(r) {
			writeErr(w, http.StatusUnsupportedMediaType, "send the key as application/json")
			return
		}
		var body struct {
			Key string `json:"key"`
		}
		if err := json.NewDecoder(io.LimitReader(r.Body, 16<<10)).Decode(&body); err != nil || body.Key == "" {
			writeErr(w, http.StatusBadRequest, `want {"key": "<API key or token>"}`)
			return
		}
		if c.o.Auth == nil {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		probe := r.Clone(r.Context())
		probe.Header.Set("Authorization", "Bearer "+body.Key)
		if _, err := c.o.Auth.Authenticate(probe); err != nil {
			writeErr(w, http.StatusUnauthorized, "the key is not accepted")
			return
		}
		http.SetCookie(w, &http.Cookie{Name: CookieName, Value: body.Key, Path: "/", HttpOnly: true,
			SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil, MaxAge: 12 * 3600})
		w.WriteHeader(http.StatusNoContent)
	default:
		writeErr(w, http.StatusMethodNotAllowed, "GET or POST")
	}
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || !jsonRequest(r) {
		writeErr(w, http.StatusUnsupportedMediaType, "POST application/json")
		return
	}
	clearCookie(w, r)
	w.WriteHeader(http.StatusNoContent)
}

func clearCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil, MaxAge: -1})
}

func jsonRequest(r *http.Request) bool {
	ct := strings.ToLower(strings.TrimSpace(strings.Split(r.Header.Get("Content-Type"), ";")[0]))
	return ct == "application/json"
}

// safeNext keeps a post-login target inside the console.
func safeNext(s string) string {
	if !strings.HasPrefix(s, Prefix) || strings.HasPrefix(s, "//") || strings.Contains(s, "\\") {
		return Prefix + "/"
	}
	return s
}

func writeErr(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"success": false, "error": msg})
}

// apiError is a REST answer that was not 2xx.
type apiError struct {
	Status int
	Msg    string
}

func (e *apiError) Error() string { return e.Msg }

// get calls the REST API in-process with the request's own credentials
// (its Authorization header and TLS state) and decodes the JSON answer.
func (c *Console) get(r *http.Request, path string, out any) error {
	rec, err := c.fetch(r, path)
	if err != nil {
		return err
	}
	if rec.status/100 != 2 {
		var body struct {
			Error   string `json:"error"`
			Message string `json:"message"`
		}
		_ = json.Unmarshal(rec.body.Bytes(), &body)
		msg := body.Error
		if msg == "" {
			msg = body.Message
		}
		if msg == "" {
			msg = http.StatusText(rec.status)
		}
		return &apiError{Status: rec.status, Msg: msg}
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(rec.body.Bytes(), out)
}

// fetch calls GET path on the REST router in-process with the request's
// own credentials (its Authorization header and TLS state).
func (c *Console) fetch(r *http.Request, path string) (*recorder, error) {
	if c.api == nil {
		return nil, &apiError{Status: http.StatusServiceUnavailable, Msg: "the console has no REST API to call"}
	}
	// A context without the outer request's chi routing state, so that the
	// router routes the inner request from its root.
	ctx := context.WithValue(r.Context(), chi.RouteCtxKey, (*chi.Context)(nil))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, path, nil)
	if err != nil {
		return nil, err
	}
	if h := r.Header.Get("Authorization"); h != "" {
		req.Header.Set("Authorization", h)
	}
	req.TLS, req.RemoteAddr = r.TLS, r.RemoteAddr
	rec := &recorder{header: http.Header{}}
	c.api.ServeHTTP(rec, req)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	return rec, nil
}

// getRaw is get without decoding: the body and its content type.
func (c *Console) getRaw(r *http.Request, path string) ([]byte, error) {
	var raw json.RawMessage
	if err := c.get(r, path, &raw); err != nil {
		return nil, err
	}
	return raw, nil
}

// caller is the request's caller (set by the adapter's middleware).
func caller(r *http.Request) *auth.Caller {
	if c := auth.CallerFrom(r.Context()); c != nil {
		return c
	}
	return &auth.Caller{Name: "unknown"}
}

func can(r *http.Request, verb auth.Verb, job string) bool {
	return caller(r).Permissions.Allows(verb, job)
}

// statusOf maps an error of get to a page's status.
func statusOf(err error) int {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.Status
	}
	return http.StatusInternalServerError
}

// recorder collects an in-process answer.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
	mu     sync.Mutex
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}
