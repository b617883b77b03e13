package httpadapter

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/jetjobs/jetjobs/httpadapter/auth"
	"github.com/jetjobs/jetjobs/jobs"
)

// JobInfo is one job type of GET {base}/jobs.
type JobInfo struct {
	Name        string              `json:"name"`
	Mode        string              `json:"mode"` // async | sync
	Description string              `json:"description,omitempty"`
	BasePath    string              `json:"basePath"`
	Params      []jobs.ParamSpec    `json:"params,omitempty"`
	Counts      map[jobs.Status]int `json:"counts,omitempty"` // retained executions by status; absent without the index
}

// JobList is the body of GET {base}/jobs.
type JobList struct {
	Jobs []JobInfo `json:"jobs"`
	// Indexed is false when the execution index is off (console.enabled:
	// false): no counts then.
	Indexed bool `json:"indexed"`
}

// listingRoutes are the routes of the execution listing (docs/rest.md,
// "Listing"): the job types, and executions through the index.
func (a *adapter) listingRoutes() []route {
	base := cleanBase(a.o.BasePath, "Options.BasePath")
	out := []route{
		{Method: http.MethodGet, Pattern: base + "/jobs", Kind: kindJobList},
		{Method: http.MethodGet, Pattern: base + "/executions", Kind: kindExecutions},
	}
	for _, def := range a.d.Registry.Definitions() {
		out = append(out, route{Method: http.MethodGet, Pattern: BasePath(def, a.o.BasePath) + "/executions",
			Kind: kindJobExecutions, Job: def})
	}
	return out
}

func isListing(k routeKind) bool { return k >= kindJobList && k <= kindJobExecutions }

func (a *adapter) listingHandler(rt route) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), a.o.RequestTimeout)
		defer cancel()
		switch rt.Kind {
		case kindJobList:
			a.jobList(ctx, w, r)
		default:
			a.executions(ctx, w, r, rt.Job)
		}
	}
}

// jobList answers the job types the caller may read, with their counts.
func (a *adapter) jobList(ctx context.Context, w http.ResponseWriter, r *http.Request) {
	out := JobList{Jobs: []JobInfo{}, Indexed: a.d.Executions != nil}
	for _, def := range a.d.Registry.Definitions() {
		if auth.Check(ctx, auth.Read, def.Name) != nil {
			continue
		}
		info := JobInfo{Name: def.Name, Mode: def.Mode(), Description: def.Options.Description,
			BasePath: BasePath(def, a.o.BasePath), Params: def.Params()}
		if a.d.Executions != nil {
			counts, err := a.d.Executions.CountExecutions(ctx, def.Name)
			if err != nil {
				writeFailure(w, r, HTTPStatus(jobs.CodeOf(err)), "", "", err.Error())
				return
			}
			info.Counts = counts
		}
		out.Jobs = append(out.Jobs, info)
	}
	writeJSON(w, http.StatusOK, out)
}

// executions answers a page of executions: of job (the per-job route), or
// of the job query parameter, or of every job type (read:* then).
func (a *adapter) executions(ctx context.Context, w http.ResponseWriter, r *http.Request, job *jobs.Definition) {
	if a.d.Executions == nil {
		writeFailure(w, r, http.StatusServiceUnavailable, "", "", "the execution index is off (console.enabled: false)")
		return
	}
	q, err := executionQuery(r)
	if err != nil {
		writeFailure(w, r, http.StatusBadRequest, "", "", err.Error())
		return
	}
	if job != nil {
		q.JobType = job.Name
	} else {
		want := q.JobType
		if want == "" {
			want = auth.AllJobs
		}
		if err := auth.Check(ctx, auth.Read, want); err != nil {
			writeFailure(w, r, http.StatusForbidden, "", "", err.Error())
			return
		}
	}
	page, err := a.d.Executions.ListExecutions(ctx, q)
	if err != nil {
		writeFailure(w, r, HTTPStatus(jobs.CodeOf(err)), "", "", err.Error())
		return
	}
	if page.Items == nil {
		page.Items = []jobs.ExecutionSummary{}
	}
	writeJSON(w, http.StatusOK, page)
}

// executionQuery reads job, status, since, until (RFC 3339), cursor and
// limit.
func executionQuery(r *http.Request) (jobs.ExecutionQuery, error) {
	v := r.URL.Query()
	q := jobs.ExecutionQuery{JobType: v.Get("job"), Status: jobs.Status(v.Get("status")), Cursor: v.Get("cursor")}
	if q.Status != "" && !q.Status.Valid() {
		return q, fmt.Errorf("status %q: want one of STARTED, RUNNING, COMPLETED, FAILED, STOPPED, TIMED_OUT", trunc(string(q.Status)))
	}
	for name, dst := range map[string]*time.Time{"since": &q.Since, "until": &q.Until} {
		if s := v.Get(name); s != "" {
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return q, fmt.Errorf("%s %q: want an RFC 3339 time, e.g. 2026-12-04T17:00:00Z", name, trunc(s))
			}
			*dst = t
		}
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 500 {
			return q, fmt.Errorf("limit %q: want 1 to 500", trunc(s))
		}
		q.Limit = n
	}
	return q, nil
}

// listingOperation fills the OpenAPI operation of a listing route and
// returns its parameters.
func listingOperation(op obj, rt route) []any {
	qp := func(name, desc string, schema obj) obj {
		return obj{"name": name, "in": "query", "required": false, "description": desc, "schema": schema}
	}
	str := obj{"type": "string"}
	switch rt.Kind {
	case kindJobList:
		op["tags"] = []string{"operations"}
		op["operationId"], op["summary"] = "listJobs", "The job types with their mode, parameters and execution counts"
		op["description"] = "Only the job types the caller may read. Counts come from the execution index (console.enabled)."
		return nil
	case kindJobExecutions:
		op["tags"] = []string{rt.Job.Name}
		op["operationId"], op["summary"] = camel(rt.Job.Name)+"Executions", "List "+rt.Job.Name+" executions, newest update first"
	default:
		op["tags"] = []string{"operations"}
		op["operationId"], op["summary"] = "listExecutions", "List executions, newest update first"
		op["description"] = "Needs read:<job> with job, else read:*."
	}
	params := []any{
		qp("status", "Only this status.", obj{"type": "string", "enum": []string{"STARTED", "RUNNING", "COMPLETED", "FAILED", "STOPPED", "TIMED_OUT"}}),
		qp("since", "Only executions updated at or after this time (RFC 3339).", obj{"type": "string", "format": "date-time"}),
		qp("until", "Only executions updated at or before this time (RFC 3339).", obj{"type": "string", "format": "date-time"}),
		qp("cursor", "The next of the previous page.", str),
		qp("limit", "Page size (default 50).", obj{"type": "integer", "minimum": 1, "maximum": 500}),
	}
	if rt.Kind == kindExecutions {
		params = append([]any{qp("job", "Only this job type.", str)}, params...)
	}
	return params
}

func listingStatuses(rt route) []int {
	if rt.Kind == kindJobList {
		return []int{200, 503}
	}
	if rt.Kind == kindExecutions {
		return []int{200, 400, 403, 503}
	}
	return []int{200, 400, 503}
}

func listingResponse(k routeKind) string {
	if k == kindJobList {
		return "JobList"
	}
	return "ExecutionPage"
}

// listingDocs adds the OpenAPI responses and schemas of the listing routes.
func listingDocs(responses, schemas obj) {
	str, integer := obj{"type": "string"}, obj{"type": "integer"}
	counts := obj{"type": "object", "additionalProperties": integer, "description": "Retained executions by status."}
	schemas["JobList"] = obj{"type": "object", "required": []string{"jobs", "indexed"}, "properties": obj{
		"indexed": obj{"type": "boolean", "description": "false: the execution index is off, no counts."},
		"jobs": obj{"type": "array", "items": obj{"type": "object", "required": []string{"name", "mode", "basePath"}, "properties": obj{
			"name": str, "mode": obj{"type": "string", "enum": []string{"async", "sync"}}, "description": str, "basePath": str,
			"params": obj{"type": "array", "items": obj{"type": "object", "properties": obj{
				"name": str, "type": str, "required": obj{"type": "boolean"}, "description": str,
				"enum": obj{"type": "array", "items": str}, "default": obj{}}}},
			"counts": counts,
		}}},
	}}
	schemas["ExecutionPage"] = obj{"type": "object", "required": []string{"items"}, "properties": obj{
		"items": obj{"type": "array", "items": obj{"type": "object", "properties": obj{
			"jobType": str, "executionId": str, "status": str,
			"progressPercentage": obj{"type": "integer", "minimum": 0, "maximum": 100},
			"createdAt":          obj{"type": "string", "format": "date-time"},
			"updatedAt":          obj{"type": "string", "format": "date-time"},
			"error":              str, "sagaId": str,
		}}},
		"next": obj{"type": "string", "description": "The cursor of the next page; absent on the last."},
	}}
	responses["JobList"] = obj{"description": "The job types.", "content": obj{"application/json": obj{"schema": ref("JobList")}}}
	responses["ExecutionPage"] = obj{"description": "A page of executions.",
		"content": obj{"application/json": obj{"schema": ref("ExecutionPage")}}}
}
