package console

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/jetjobs/jetjobs/httpadapter"
	"github.com/jetjobs/jetjobs/httpadapter/auth"
)

// scheduleRow is one schedule of the schedules page: the REST answer
// (parameters already masked by the adapter), its job's REST path for the
// actions, and the ticks this engine took.
type scheduleRow struct {
	httpadapter.ScheduleView
	URL      string // {base}/schedules/{name}
	CanAdmin bool
	Fired    int64 // ticks of the schedule this engine took (the schedule.ticks metric, outcome fired)
}

// Kind is cron, every or at.
func (s scheduleRow) Kind() string {
	switch {
	case s.Cron != "":
		return "cron"
	case s.Every != "":
		return "every"
	}
	return "at"
}

// Spec is the pattern without its kind: the cron expression, the
// interval or the time.
func (s scheduleRow) Spec() string {
	return s.Cron + s.Every + s.At
}

// scheduleJob is an async job the caller may read: where its schedules
// are created, and whether the caller may.
type scheduleJob struct {
	Name     string
	URL      string // {base}/schedules
	CanAdmin bool
}

// scheduleList is the schedules page: every schedule of the async jobs the
// caller may read (GET {base}/schedules of each, in-process), or of the
// one job of /ui/schedules/{job}, with a create form for the jobs the
// caller may administer.
func (c *Console) scheduleList(w http.ResponseWriter, r *http.Request) {
	only := chi.URLParam(r, "job")
	if only != "" {
		_, def := c.jobPath(only)
		if def == nil || def.Async == nil {
			c.render(w, r, "schedules", &apiError{http.StatusNotFound, "no async job type " + only + " (only async jobs have schedules)"}, nil)
			return
		}
		if err := auth.Check(r.Context(), auth.Read, only); err != nil {
			c.render(w, r, "schedules", &apiError{http.StatusForbidden, err.Error()}, nil)
			return
		}
	}
	var jobsShown []scheduleJob
	rows := []scheduleRow{}
	var problem error
	for _, def := range c.o.Registry.Definitions() {
		if def.Async == nil || (only != "" && def.Name != only) || !can(r, auth.Read, def.Name) {
			continue
		}
		base := httpadapter.BasePath(def, c.o.BasePath) + "/schedules"
		sj := scheduleJob{Name: def.Name, URL: base, CanAdmin: can(r, auth.Admin, def.Name)}
		jobsShown = append(jobsShown, sj)
		var list httpadapter.ScheduleList
		if err := c.get(r, base, &list); err != nil {
			if problem == nil {
				problem = err
			}
			continue
		}
		for _, v := range list.Items {
			rows = append(rows, scheduleRow{ScheduleView: v, URL: base + "/" + pathEscape(v.Name), CanAdmin: sj.CanAdmin})
		}
	}
	ticks, metrics := c.scheduleTicks(r)
	for i := range rows {
		rows[i].Fired = ticks[tickKey{rows[i].Job, rows[i].Name}]
	}
	var admin []scheduleJob
	for _, j := range jobsShown {
		if j.CanAdmin {
			admin = append(admin, j)
		}
	}
	c.render(w, r, "schedules", problem, map[string]any{"Rows": rows, "Job": only, "Jobs": jobsShown,
		"AdminJobs": admin, "Metrics": metrics})
}

// tickKey is a schedule of a job.
type tickKey struct{ job, schedule string }

// scheduleTicks reads the schedule ticks this engine took (outcome fired)
// from its Prometheus text at GET /metrics, in-process with the caller's
// credentials; ok is false when metrics are off or not readable. The
// metric's name ends in _schedule_ticks_total whatever the metric prefix
// (docs/schedules.md, "Metrics").
func (c *Console) scheduleTicks(r *http.Request) (map[tickKey]int64, bool) {
	rec, err := c.fetch(r, "/metrics")
	if err != nil || rec.status != http.StatusOK {
		return nil, false
	}
	body := rec.body.Bytes()
	if bytes.HasPrefix(body, []byte("# metrics are disabled")) {
		return nil, false
	}
	return parseTicks(body), true
}

// parseTicks reads the fired counts of the schedule.ticks counter from
// Prometheus text.
func parseTicks(body []byte) map[tickKey]int64 {
	out := map[tickKey]int64{}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		name, rest, ok := strings.Cut(line, "{")
		if !ok || !strings.HasSuffix(name, "_schedule_ticks_total") {
			continue
		}
		labels, value, ok := strings.Cut(rest, "} ")
		if !ok {
			continue
		}
		l := promLabels(labels)
		if l["outcome"] != "fired" {
			continue
		}
		value, _, _ = strings.Cut(value, " ") // a timestamp may follow
		n, err := strconv.ParseFloat(value, 64)
		if err != nil {
			continue
		}
		out[tickKey{l["job_type"], l["schedule"]}] += int64(n)
	}
	return out
}

// promLabels reads a="b",c="d" (values with \", \\ and \n escapes).
func promLabels(s string) map[string]string {
	out := map[string]string{}
	for s != "" {
		k, rest, ok := strings.Cut(s, `="`)
		if !ok {
			return out
		}
		var v strings.Builder
		i := 0
		for ; i < len(rest) && rest[i] != '"'; i++ {
			if rest[i] == '\\' && i+1 < len(rest) {
				i++
				if rest[i] == 'n' {
					v.WriteByte('\n')
					continue
				}
			}
			v.WriteByte(rest[i])
		}
		out[strings.TrimSpace(k)] = v.String()
		if i >= len(rest) {
			return out
		}
		s = strings.TrimPrefix(rest[i+1:], ",")
	}
	return out
}

// in says how far ahead t is: "in 3s", "in 2h5m".
func in(t time.Time) string {
	d := time.Until(t)
	switch {
	case d < 0:
		return "due"
	case d < time.Minute:
		return "in " + d.Round(time.Second).String()
	case d < 48*time.Hour:
		return "in " + strings.TrimSuffix(d.Round(time.Minute).String(), "0s")
	}
	return "in " + strconv.Itoa(int(d/(24*time.Hour))) + " days"
}

// compactJSON is v as one line of JSON.
func compactJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}
