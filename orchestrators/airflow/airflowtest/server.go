package airflowtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Run is a dag run as the fake holds it.
type Run struct {
	DagID, DagRunID string
	State           string // queued, running, success, failed
	Conf            map[string]any
	LogicalDate     time.Time
	StartDate       *time.Time
	EndDate         *time.Time
	Note            string
}

// Server is the fake Airflow webserver. Its URL is the base-url to
// configure (the API lives under /api/v1).
type Server struct {
	*httptest.Server

	mu       sync.Mutex
	runs     map[string]*Run // dagID + "/" + dagRunID
	dags     map[string]bool // nil: every DAG exists
	auth     string          // "", BASIC or BEARER_TOKEN
	user     string
	password string
	token    string
	version  string
	tls      bool
	fail     []int // statuses to answer the next requests with
	hold     chan struct{}
	calls    []string
	sched    string // scheduler status of /health; "" is healthy
}

// Option configures a Server.
type Option func(*Server)

// WithBasicAuth requires HTTP basic authentication with these credentials.
func WithBasicAuth(user, password string) Option {
	return func(s *Server) { s.auth, s.user, s.password = "BASIC", user, password }
}

// WithBearerToken requires "Authorization: Bearer <token>".
func WithBearerToken(token string) Option {
	return func(s *Server) { s.auth, s.token = "BEARER_TOKEN", token }
}

// WithDAGs makes only these DAG ids exist (default: any DAG exists).
func WithDAGs(ids ...string) Option {
	return func(s *Server) {
		s.dags = map[string]bool{}
		for _, id := range ids {
			s.dags[id] = true
		}
	}
}

// WithAPIVersion serves the API under /api/<v> instead of /api/v1.
func WithAPIVersion(v string) Option { return func(s *Server) { s.version = v } }

// WithTLS serves HTTPS with httptest's self-signed certificate.
func WithTLS() Option { return func(s *Server) { s.tls = true } }

// NewServer starts a fake Airflow; it is closed when the test ends.
func NewServer(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	s := Start(opts...)
	tb.Cleanup(s.Close)
	return s
}

// Start starts a fake Airflow outside a test (an Example); the caller
// closes it.
func Start(opts ...Option) *Server {
	s := &Server{runs: map[string]*Run{}, version: "v1"}
	for _, o := range opts {
		o(s)
	}
	mux := http.NewServeMux()
	base := "/api/" + s.version + "/dags/{dag}/dagRuns"
	mux.HandleFunc("POST "+base, s.trigger)
	mux.HandleFunc("GET "+base+"/{run}", s.get)
	mux.HandleFunc("PATCH "+base+"/{run}", s.patch)
	mux.HandleFunc("GET /api/"+s.version+"/health", s.health)
	mux.HandleFunc("GET /api/"+s.version+"/monitor/health", s.health)
	h := s.middleware(mux)
	if s.tls {
		s.Server = httptest.NewTLSServer(h)
	} else {
		s.Server = httptest.NewServer(h)
	}
	return s
}

func (s *Server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.calls = append(s.calls, r.Method+" "+r.URL.EscapedPath())
		hold := s.hold
		var fail int
		if len(s.fail) > 0 {
			fail, s.fail = s.fail[0], s.fail[1:]
		}
		s.mu.Unlock()
		if hold != nil {
			select {
			case <-hold:
			case <-r.Context().Done():
				return
			}
		}
		if fail != 0 {
			problem(w, fail, http.StatusText(fail), "injected failure")
			return
		}
		if !s.authorized(r) {
			// Deliberately echoes what it got, as some proxies do, so tests
			// can check that the client never repeats a secret.
			problem(w, http.StatusUnauthorized, "Unauthorized", "bad credentials: "+r.Header.Get("Authorization"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) authorized(r *http.Request) bool {
	switch s.auth {
	case "BASIC":
		u, p, ok := r.BasicAuth()
		return ok && u == s.user && p == s.password
	case "BEARER_TOKEN":
		return r.Header.Get("Authorization") == "Bearer "+s.token
	}
	return true
}

type triggerBody struct {
	DagRunID    *string         `json:"dag_run_id"`
	Conf        json.RawMessage `json:"conf"`
	LogicalDate *string         `json:"logical_date"`
}

func (s *Server) trigger(w http.ResponseWriter, r *http.Request) {
	dag := r.PathValue("dag")
	var body triggerBody
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		problem(w, http.StatusBadRequest, "Bad Request", err.Error())
		return
	}
	var conf map[string]any
	if len(body.Conf) > 0 && string(body.Conf) != "null" {
		if err := json.Unmarshal(body.Conf, &conf); err != nil {
			problem(w, http.StatusBadRequest, "Bad Request", "conf must be an object")
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dags != nil && !s.dags[dag] {
		problem(w, http.StatusNotFound, "DAG not found", fmt.Sprintf("DAG with dag_id: '%s' not found", dag))
		return
	}
	now := time.Now().UTC()
	id := "manual__" + now.Format(time.RFC3339Nano)
	if body.DagRunID != nil {
		id = *body.DagRunID
	}
	if _, ok := s.runs[dag+"/"+id]; ok {
		problem(w, http.StatusConflict, "Conflict", fmt.Sprintf("DAGRun with DAG ID: '%s' and DAGRun ID: '%s' already exists", dag, id))
		return
	}
	run := &Run{DagID: dag, DagRunID: id, State: "queued", Conf: conf, LogicalDate: now}
	s.runs[dag+"/"+id] = run
	writeRun(w, run)
}

func (s *Server) get(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if run := s.find(w, r); run != nil {
		writeRun(w, run)
	}
}

func (s *Server) patch(w http.ResponseWriter, r *http.Request) {
	var body struct {
		State string `json:"state"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		problem(w, http.StatusBadRequest, "Bad Request", err.Error())
		return
	}
	switch body.State {
	case "success", "failed", "queued":
	default:
		problem(w, http.StatusBadRequest, "Bad Request", fmt.Sprintf("'%s' is not one of ['success', 'failed', 'queued'] - 'state'", body.State))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if run := s.find(w, r); run != nil {
		setState(run, body.State)
		writeRun(w, run)
	}
}

func (s *Server) find(w http.ResponseWriter, r *http.Request) *Run {
	dag, id := r.PathValue("dag"), r.PathValue("run")
	run, ok := s.runs[dag+"/"+id]
	if !ok {
		problem(w, http.StatusNotFound, "DAGRun not found",
			fmt.Sprintf("DAGRun with DAG ID: '%s' and DagRun ID: '%s' not found", dag, id))
		return nil
	}
	return run
}

func setState(run *Run, state string) {
	now := time.Now().UTC()
	run.State = state
	switch state {
	case "running":
		if run.StartDate == nil {
			run.StartDate = &now
		}
	case "success", "failed":
		if run.StartDate == nil {
			run.StartDate = &now
		}
		run.EndDate = &now
	case "queued":
		run.StartDate, run.EndDate = nil, nil
	}
}

// SetState moves a dag run to state (queued, running, success, failed, or
// anything else to test an unknown state). It fails the test if the run
// does not exist.
func (s *Server) SetState(tb testing.TB, dagID, dagRunID, state string) {
	tb.Helper()
	if err := s.Move(dagID, dagRunID, state); err != nil {
		tb.Fatal(err)
	}
}

// Move is SetState for code without a testing.TB: an error when the run
// does not exist.
func (s *Server) Move(dagID, dagRunID, state string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	run, ok := s.runs[dagID+"/"+dagRunID]
	if !ok {
		return fmt.Errorf("airflowtest: no dag run %s/%s", dagID, dagRunID)
	}
	setState(run, state)
	return nil
}

// SetNote sets a dag run's note (Airflow 2.5+).
func (s *Server) SetNote(dagID, dagRunID, note string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if run, ok := s.runs[dagID+"/"+dagRunID]; ok {
		run.Note = note
	}
}

// Run returns a copy of a dag run.
func (s *Server) Run(dagID, dagRunID string) (Run, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	run, ok := s.runs[dagID+"/"+dagRunID]
	if !ok {
		return Run{}, false
	}
	return *run, true
}

// Runs counts the dag runs.
func (s *Server) Runs() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.runs)
}

// Calls lists the requests so far as "METHOD /escaped/path".
func (s *Server) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.calls...)
}

// FailNext answers the next requests with these HTTP statuses, one each,
// before authentication.
func (s *Server) FailNext(statuses ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = append(s.fail, statuses...)
}

// Hold makes requests wait until release is called (or the client gives
// up), to test timeouts and concurrency limits.
func (s *Server) Hold() (release func()) {
	ch := make(chan struct{})
	s.mu.Lock()
	s.hold = ch
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			s.hold = nil
			s.mu.Unlock()
			close(ch)
		})
	}
}

func problem(w http.ResponseWriter, status int, title, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"detail": detail, "status": status, "title": title,
		"type": "https://airflow.apache.org/docs/apache-airflow/stable/stable-rest-api-ref.html#section/Errors/" +
			strings.ReplaceAll(http.StatusText(status), " ", ""),
	})
}

// airflowTime formats as Airflow does: microseconds and a +00:00 offset.
func airflowTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC().Format("2006-01-02T15:04:05.000000") + "+00:00"
}

func writeRun(w http.ResponseWriter, run *Run) {
	conf := run.Conf
	if conf == nil {
		conf = map[string]any{}
	}
	var note any
	if run.Note != "" {
		note = run.Note
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"conf": conf, "dag_id": run.DagID, "dag_run_id": run.DagRunID, "state": run.State,
		"logical_date": airflowTime(&run.LogicalDate), "execution_date": airflowTime(&run.LogicalDate),
		"start_date": airflowTime(run.StartDate), "end_date": airflowTime(run.EndDate),
		"data_interval_start": airflowTime(&run.LogicalDate), "data_interval_end": airflowTime(&run.LogicalDate),
		"external_trigger": true, "last_scheduling_decision": nil, "run_type": "manual", "note": note,
	})
}

// health answers Airflow's health endpoint: metadatabase healthy, the
// scheduler as SetSchedulerStatus left it (healthy by default).
func (s *Server) health(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	sched := s.sched
	s.mu.Unlock()
	if sched == "" {
		sched = "healthy"
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"metadatabase": map[string]any{"status": "healthy"},
		"scheduler":    map[string]any{"status": sched, "latest_scheduler_heartbeat": time.Now().UTC().Format(time.RFC3339)},
	})
}

// SetSchedulerStatus sets the scheduler status /health reports
// ("unhealthy" to test a DOWN).
func (s *Server) SetSchedulerStatus(status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sched = status
}

// Stop closes the server: later calls fail to connect, as when Airflow is
// unreachable.
func (s *Server) Stop() { s.Close() }
