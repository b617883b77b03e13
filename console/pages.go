package console

import (
	"bytes"
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/jetjobs/jetjobs/httpadapter"
	"github.com/jetjobs/jetjobs/httpadapter/auth"
	"github.com/jetjobs/jetjobs/jobs"
)

// page is what the layout renders around a page's own data.
type page struct {
	Title   string
	Nav     string
	Prefix  string
	Base    string
	Caller  string
	Login   bool // authentication is on: show the log-out button
	Data    map[string]any
	Problem string
}

func (c *Console) render(w http.ResponseWriter, r *http.Request, name string, problem error, data map[string]any) {
	t := c.pages[name]
	p := page{Title: titles[name], Nav: name, Prefix: Prefix, Base: c.o.BasePath, Login: c.o.Auth != nil, Data: data}
	if cl := auth.CallerFrom(r.Context()); cl != nil {
		p.Caller = cl.Name
	}
	status := http.StatusOK
	if problem != nil {
		p.Problem = problem.Error()
		status = statusOf(problem)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, p); err != nil {
		c.o.Logger.Error().Err(err).Str("page", name).Msg("console: render")
		http.Error(w, "the page could not be rendered; see the server log", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

var titles = map[string]string{"overview": "Overview", "executions": "Executions", "execution": "Execution",
	"start": "Start a job", "sagas": "Sagas", "saga": "Saga", "dlq": "Dead letters", "dlqentry": "Dead letter",
	"login": "Log in", "schedules": "Schedules"}

// jobRow is one job type of the overview.
type jobRow struct {
	httpadapter.JobInfo
	InFlight  int
	Breaker   string
	Thru      template.HTML // SVG chart
	FailRate  template.HTML
	LastThru  float64
	LastFail  float64
	CanRun    bool
	Scheduled bool // an async job: it has schedules (schedules.go)
	StatusRow []statusCount
}

type statusCount struct {
	Status jobs.Status
	N      int
}

var allStatuses = []jobs.Status{jobs.StatusStarted, jobs.StatusRunning, jobs.StatusCompleted, jobs.StatusFailed,
	jobs.StatusStopped, jobs.StatusTimedOut}

func (c *Console) overview(w http.ResponseWriter, r *http.Request) {
	var list httpadapter.JobList
	err := c.get(r, c.o.BasePath+"/jobs", &list)
	var breakers httpadapter.CircuitBreakers
	_ = c.get(r, "/health/circuitBreakers", &breakers)
	var health httpadapter.Health
	_ = c.get(r, "/health", &health) // 503 when DOWN still has a body; an error leaves it empty
	rows := []jobRow{}
	for _, j := range list.Jobs {
		row := jobRow{JobInfo: j, Breaker: "UP", CanRun: can(r, auth.Run, j.Name)}
		if def, ok := c.o.Registry.Lookup(j.Name); ok && def.Async != nil {
			row.Scheduled = true
		}
		if b, ok := breakers.Components[j.Name]; ok {
			row.Breaker = b.Status
		}
		for _, s := range allStatuses {
			row.StatusRow = append(row.StatusRow, statusCount{s, j.Counts[s]})
		}
		row.InFlight = j.Counts[jobs.StatusStarted] + j.Counts[jobs.StatusRunning]
		thru, fail := c.stats.series(j.Name)
		row.Thru = sparkline(thru, "Completed per minute, "+j.Name, "thru")
		row.FailRate = sparkline(fail, "Failure rate percent, "+j.Name, "fail")
		if len(thru) > 0 {
			row.LastThru, row.LastFail = thru[len(thru)-1], fail[len(fail)-1]
		}
		rows = append(rows, row)
	}
	var streams []StreamSize
	if c.o.Streams != nil {
		streams = c.o.Streams(r.Context())
	}
	comps := []string{}
	for name := range health.Components {
		comps = append(comps, name)
	}
	sort.Strings(comps)
	type comp struct{ Name, Status string }
	hc := []comp{}
	for _, n := range comps {
		hc = append(hc, comp{n, health.Components[n].Status})
	}
	c.render(w, r, "overview", err, map[string]any{"Jobs": rows, "Indexed": list.Indexed, "Health": health.Status,
		"Components": hc, "Streams": streams, "SampleEvery": c.o.SampleEvery.String()})
}

// executionList is the executions page: filters, a page from the index
// through the REST listing route, live progress over /ui/live.
func (c *Console) executionList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	v := url.Values{}
	for _, k := range []string{"job", "status", "cursor"} {
		if s := q.Get(k); s != "" {
			v.Set(k, s)
		}
	}
	for _, k := range []string{"since", "until"} {
		if t, ok := formTime(q.Get(k)); ok {
			v.Set(k, t.Format(time.RFC3339))
		}
	}
	v.Set("limit", "50")
	if id := q.Get("new"); id != "" && c.o.Index != nil {
		c.awaitIndexed(r, q.Get("job"), id)
	}
	var pg jobs.ExecutionPage
	err := c.get(r, c.o.BasePath+"/executions?"+v.Encode(), &pg)
	next := ""
	if pg.Next != "" {
		nv := url.Values{}
		for k := range q {
			if k != "cursor" && k != "new" {
				nv.Set(k, q.Get(k))
			}
		}
		nv.Set("cursor", pg.Next)
		next = Prefix + "/executions?" + nv.Encode()
	}
	names := []string{}
	for _, d := range c.o.Registry.Definitions() {
		if can(r, auth.Read, d.Name) {
			names = append(names, d.Name)
		}
	}
	c.render(w, r, "executions", err, map[string]any{"Items": pg.Items, "Next": next, "Jobs": names,
		"Statuses": allStatuses, "Job": q.Get("job"), "Status": q.Get("status"), "Since": q.Get("since"),
		"Until": q.Get("until"), "First": q.Get("cursor") == ""})
}

// awaitIndexed waits (up to 2s) for an execution just started to reach the
// index, so the list shown after the start form has it.
func (c *Console) awaitIndexed(r *http.Request, job, id string) {
	deadline := time.NewTimer(2 * time.Second)
	defer deadline.Stop()
	for {
		ch := c.o.Index.Changed()
		if _, ok := c.o.Index.Lookup(job, id); ok {
			return
		}
		select {
		case <-ch:
		case <-deadline.C:
			return
		case <-r.Context().Done():
			return
		}
	}
}

// formTime reads a datetime-local input (UTC) or an RFC 3339 time.
func formTime(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04", "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// jobPath is the REST base path of a job type, "" for an unknown one.
func (c *Console) jobPath(job string) (string, *jobs.Definition) {
	def, ok := c.o.Registry.Lookup(job)
	if !ok {
		return "", nil
	}
	return httpadapter.BasePath(def, c.o.BasePath), def
}

func (c *Console) executionDetail(w http.ResponseWriter, r *http.Request) {
	job, id := chi.URLParam(r, "job"), chi.URLParam(r, "id")
	base, def := c.jobPath(job)
	if def == nil {
		c.render(w, r, "execution", &apiError{http.StatusNotFound, "no job type " + job}, nil)
		return
	}
	if err := auth.Check(r.Context(), auth.Read, job); err != nil {
		c.render(w, r, "execution", &apiError{http.StatusForbidden, err.Error()}, nil)
		return
	}
	data := map[string]any{"Job": job, "ID": id, "Base": base, "Async": def.Async != nil,
		"CanRun": can(r, auth.Run, job)}
	if c.o.Records != nil {
		exec, _, err := c.o.Records.Get(r.Context(), job, id)
		if err != nil {
			c.render(w, r, "execution", &apiError{http.StatusNotFound, "execution " + job + "/" + id + " not found"}, data)
			return
		}
		data["Exec"] = exec
		data["Params"] = c.o.Sanitizer.Map(exec.Parameters)
		data["Meta"] = c.o.Sanitizer.Strings(exec.Metadata)
		if exec.Status == jobs.StatusCompleted {
			if raw, err := c.getRaw(r, base+"/"+pathEscape(id)+"/result"); err == nil {
				data["ResultSize"] = len(raw)
				if len(raw) <= 64<<10 {
					data["Result"] = prettyJSON(raw)
				}
			} else {
				data["ResultError"] = err.Error()
			}
		}
	}
	var trail httpadapter.AuditTrail
	if err := c.get(r, base+"/"+pathEscape(id)+"/audit", &trail); err == nil {
		data["Audit"] = trail.Entries
	} else {
		data["AuditError"] = err.Error()
	}
	c.render(w, r, "execution", nil, data)
}

// resultDownload serves an execution's result as a JSON file.
func (c *Console) resultDownload(w http.ResponseWriter, r *http.Request) {
	job, id := chi.URLParam(r, "job"), chi.URLParam(r, "id")
	base, def := c.jobPath(job)
	if def == nil {
		writeErr(w, http.StatusNotFound, "no job type "+job)
		return
	}
	raw, err := c.getRaw(r, base+"/"+pathEscape(id)+"/result")
	if err != nil {
		writeErr(w, statusOf(err), err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", `attachment; filename="`+safeName(job+"-"+id)+`-result.json"`)
	_, _ = w.Write(raw)
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || r == '.' || (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') {
			return r
		}
		return '_'
	}, s)
}

// startForm is the start form, its fields from the job's declared
// parameters (Definition.Params) and a JSON text area for the rest; with
// ?from=<id> (re-run) it is filled with that execution's parameters.
func (c *Console) startForm(w http.ResponseWriter, r *http.Request) {
	job := chi.URLParam(r, "job")
	base, def := c.jobPath(job)
	if def == nil {
		c.render(w, r, "start", &apiError{http.StatusNotFound, "no job type " + job}, nil)
		return
	}
	stage := "start"
	if def.Async == nil {
		stage = "execute"
	}
	data := map[string]any{"Job": job, "Desc": def.Options.Description, "Params": def.Params(),
		"URL": base + "/" + stage, "Async": def.Async != nil, "CanRun": can(r, auth.Run, job), "Prefill": "{}"}
	if from := r.URL.Query().Get("from"); from != "" && c.o.Records != nil {
		if exec, _, err := c.o.Records.Get(r.Context(), job, from); err == nil && auth.Check(r.Context(), auth.Read, job) == nil {
			// Re-run with the same parameters: sensitive ones stay masked
			// and must be typed again.
			data["Prefill"] = prettyJSON(c.o.Sanitizer.Map(exec.Parameters))
			data["From"] = from
		}
	}
	c.render(w, r, "start", nil, data)
}

func prettyJSON(v any) string {
	var b []byte
	switch t := v.(type) {
	case json.RawMessage:
		var buf bytes.Buffer
		if json.Indent(&buf, t, "", "  ") == nil {
			return buf.String()
		}
		return string(t)
	case []byte:
		return prettyJSON(json.RawMessage(t))
	default:
		b, _ = json.MarshalIndent(v, "", "  ")
	}
	return string(b)
}

func pathEscape(s string) string { return url.PathEscape(s) }

func ago(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := time.Since(t).Round(time.Second)
	switch {
	case d < time.Minute:
		return d.String() + " ago"
	case d < time.Hour:
		return d.Round(time.Minute).String() + " ago"
	}
	return t.UTC().Format("2006-01-02 15:04")
}
