package httpadapter

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/httpadapter/auth"
	"github.com/jetjobs/jetjobs/jobs"
)

// DLQStore manages the dead letters (bus.DLQ).
type DLQStore interface {
	List(ctx context.Context, f bus.DLQFilter) (*bus.DLQPage, error)
	Show(ctx context.Context, seq uint64) (*bus.DLQEntry, error)
	Replay(ctx context.Context, seq uint64, by string) (*bus.DLQReplay, error)
	Delete(ctx context.Context, seq uint64) error
	Purge(ctx context.Context, jobType string) (uint64, error)
}

var _ DLQStore = (*bus.DLQ)(nil)

// DLQDeleted is the body of DELETE {base}/dlq/{seq} and of the purge,
// DELETE {base}/dlq?jobType=… or ?all=true.
type DLQDeleted struct {
	Deleted uint64 `json:"deleted"` // how many dead letters were removed
}

// dlqRoutes are the admin routes of the dead-letter queue under the
// adapter's base path (docs/rest.md, "Dead letters").
func (a *adapter) dlqRoutes() []route {
	base := cleanBase(a.o.BasePath, "Options.BasePath") + "/dlq"
	return []route{
		{Method: http.MethodGet, Pattern: base, Kind: kindDLQList},
		{Method: http.MethodDelete, Pattern: base, Kind: kindDLQPurge},
		{Method: http.MethodGet, Pattern: base + "/{seq}", Kind: kindDLQShow},
		{Method: http.MethodDelete, Pattern: base + "/{seq}", Kind: kindDLQDelete},
		{Method: http.MethodPost, Pattern: base + "/{seq}/replay", Kind: kindDLQReplay},
	}
}

func isDLQ(k routeKind) bool { return k >= kindDLQList && k <= kindDLQPurge }

func (a *adapter) dlqHandler(k routeKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		info := infoOf(r)
		info.stage = "DLQ"
		if a.d.DLQ == nil {
			writeFailure(w, r, http.StatusServiceUnavailable, "", "", "the dead-letter queue is not available from this adapter")
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), a.o.RequestTimeout)
		defer cancel()
		switch k {
		case kindDLQList:
			a.dlqList(ctx, w, r)
		case kindDLQPurge:
			a.dlqPurge(ctx, w, r)
		default:
			a.dlqEntry(ctx, w, r, k)
		}
	}
}

// dlqFail answers an error of the store with the status of its code.
func dlqFail(w http.ResponseWriter, r *http.Request, err error) {
	status := HTTPStatus(jobs.CodeOf(err))
	if errors.Is(err, auth.ErrForbidden) {
		status = http.StatusForbidden
	}
	writeFailure(w, r, status, "", "", err.Error())
}

func (a *adapter) dlqList(ctx context.Context, w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := bus.DLQFilter{JobType: q.Get("jobType"), Stage: q.Get("stage")}
	var err error
	if s := q.Get("after"); s != "" {
		if f.After, err = strconv.ParseUint(s, 10, 64); err != nil {
			writeFailure(w, r, http.StatusBadRequest, "", "", fmt.Sprintf("after=%q: want a sequence number", s))
			return
		}
	}
	if s := q.Get("limit"); s != "" {
		if f.Limit, err = strconv.Atoi(s); err != nil || f.Limit < 1 {
			writeFailure(w, r, http.StatusBadRequest, "", "", fmt.Sprintf("limit=%q: want a positive number", s))
			return
		}
	}
	if err := auth.Check(ctx, auth.Admin, orAll(f.JobType)); err != nil {
		dlqFail(w, r, err)
		return
	}
	page, err := a.d.DLQ.List(ctx, f)
	if err != nil {
		dlqFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

func (a *adapter) dlqPurge(ctx context.Context, w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	job, all := q.Get("jobType"), q.Get("all") == "true"
	if (job == "") == !all {
		writeFailure(w, r, http.StatusBadRequest, "", "", "purge needs ?jobType=<job> or ?all=true (not both)")
		return
	}
	if err := auth.Check(ctx, auth.Admin, orAll(job)); err != nil {
		dlqFail(w, r, err)
		return
	}
	n, err := a.d.DLQ.Purge(ctx, job)
	if err != nil {
		dlqFail(w, r, err)
		return
	}
	a.log.Info().Str("caller", callerName(ctx)).Str("jobType", orAll(job)).Uint64("deleted", n).Msg("dead letters purged")
	writeJSON(w, http.StatusOK, DLQDeleted{Deleted: n})
}

// dlqEntry serves the routes of one entry, which need admin on its job.
// The entry is read first to know its job; a caller with no admin
// permission at all is refused before it learns whether the entry exists.
func (a *adapter) dlqEntry(ctx context.Context, w http.ResponseWriter, r *http.Request, k routeKind) {
	seq, err := strconv.ParseUint(chi.URLParam(r, "seq"), 10, 64)
	if err != nil || seq == 0 {
		writeFailure(w, r, http.StatusBadRequest, "", "", fmt.Sprintf("%q is not a dead letter's sequence number", chi.URLParam(r, "seq")))
		return
	}
	e, err := a.d.DLQ.Show(ctx, seq)
	if err != nil {
		if ferr := auth.Check(ctx, auth.Admin, auth.AllJobs); ferr != nil && !hasAdmin(ctx) {
			err = ferr
		}
		dlqFail(w, r, err)
		return
	}
	info := infoOf(r)
	info.jobType, info.executionID = e.JobType, e.ExecutionID
	if err := auth.Check(ctx, auth.Admin, e.JobType); err != nil {
		dlqFail(w, r, err)
		return
	}
	switch k {
	case kindDLQShow:
		writeJSON(w, http.StatusOK, e)
	case kindDLQDelete:
		if err := a.d.DLQ.Delete(ctx, seq); err != nil {
			dlqFail(w, r, err)
			return
		}
		a.log.Info().Str("caller", callerName(ctx)).Uint64("seq", seq).Str("jobType", e.JobType).Msg("dead letter deleted")
		writeJSON(w, http.StatusOK, DLQDeleted{Deleted: 1})
	default:
		out, err := a.d.DLQ.Replay(ctx, seq, callerName(ctx))
		if err != nil {
			dlqFail(w, r, err)
			return
		}
		a.log.Info().Str("caller", callerName(ctx)).Uint64("seq", seq).Str("jobType", e.JobType).
			Str("commandId", out.CommandID).Msg("dead letter replayed")
		writeJSON(w, http.StatusOK, out)
	}
}

func orAll(job string) string {
	if job == "" {
		return auth.AllJobs
	}
	return job
}

// hasAdmin reports whether the caller has admin on some job.
func hasAdmin(ctx context.Context) bool {
	c := auth.CallerFrom(ctx)
	if c == nil {
		return true
	}
	for _, p := range c.Permissions {
		if p.Verb == auth.Admin {
			return true
		}
	}
	return false
}

func callerName(ctx context.Context) string {
	if c := auth.CallerFrom(ctx); c != nil {
		return c.Name
	}
	return auth.AnonymousName
}

// dlqStatuses are the codes a DLQ route can answer (401 and 403 are added
// by statuses).
func dlqStatuses(rt route) []int {
	s := []int{200, 400}
	if rt.Kind != kindDLQList && rt.Kind != kindDLQPurge {
		s = append(s, 404)
	}
	if rt.Method != http.MethodGet {
		s = append(s, 415)
	}
	return append(s, 503)
}

// dlqOperation fills the OpenAPI operation of a DLQ route and returns its
// parameters.
func dlqOperation(op obj, rt route) []any {
	op["tags"] = []string{"dlq"}
	seq := obj{"name": "seq", "in": "path", "required": true, "description": "The dead letter's sequence number in JOBS_DLQ.",
		"schema": obj{"type": "integer", "minimum": 1}}
	job := func(desc string) obj {
		return obj{"name": "jobType", "in": "query", "required": false, "description": desc, "schema": obj{"type": "string"}}
	}
	switch rt.Kind {
	case kindDLQList:
		op["operationId"], op["summary"] = "dlqList", "List dead letters"
		op["description"] = "Oldest first, a page at a time (next: the after of the next page). Needs admin:<jobType> with jobType, else admin:*."
		return []any{job("Only this job type."),
			obj{"name": "stage", "in": "query", "required": false, "description": "Only this stage (start, check, collect, result, stop, execute).",
				"schema": obj{"type": "string"}},
			obj{"name": "after", "in": "query", "required": false, "description": "Only entries after this sequence number.",
				"schema": obj{"type": "integer", "minimum": 0}},
			obj{"name": "limit", "in": "query", "required": false, "description": "Page size (default 50, at most 1000).",
				"schema": obj{"type": "integer", "minimum": 1, "maximum": 1000}}}
	case kindDLQPurge:
		op["operationId"], op["summary"] = "dlqPurge", "Purge dead letters"
		op["description"] = "Removes every dead letter of jobType (needs admin:<jobType>), or all of them with all=true (needs admin:*). Content-Type must be application/json."
		return []any{job("Purge this job type's dead letters."),
			obj{"name": "all", "in": "query", "required": false, "description": "true: purge every dead letter.",
				"schema": obj{"type": "boolean"}}}
	case kindDLQShow:
		op["operationId"], op["summary"] = "dlqShow", "Show a dead letter and its original command"
		op["description"] = "The entry with its reason and the original command (sensitive values masked). Needs admin:<the entry's job type>."
	case kindDLQDelete:
		op["operationId"], op["summary"] = "dlqDelete", "Delete a dead letter"
		op["description"] = "Needs admin:<the entry's job type>. Content-Type must be application/json."
	default:
		op["operationId"], op["summary"] = "dlqReplay", "Replay a dead letter"
		op["description"] = "Publishes the original command again with a new id and removes the entry; an existing execution is resumed " +
			"(CHECK timer re-armed, missing events published) and the replay is in its audit trail. Needs admin:<the entry's job type>. " +
			"Content-Type must be application/json; the body is ignored."
	}
	return []any{seq}
}

func dlqResponse(k routeKind) string {
	switch k {
	case kindDLQList:
		return "DLQPage"
	case kindDLQShow:
		return "DLQEntry"
	case kindDLQReplay:
		return "DLQReplay"
	}
	return "DLQDeleted"
}

// dlqDocs adds the OpenAPI responses and schemas of the DLQ routes.
func dlqDocs(responses, schemas obj) {
	str, integer := obj{"type": "string"}, obj{"type": "integer"}
	entry := obj{"type": "object", "required": []string{"seq", "jobType", "stage", "reason"}, "properties": obj{
		"seq": integer, "jobType": str, "stage": str, "reason": str,
		"subject":        obj{"type": "string", "description": "The command's subject."},
		"commandSeq":     obj{"type": "integer", "description": "Its sequence in JOBS_COMMANDS."},
		"deliveries":     integer,
		"deadLetteredAt": obj{"type": "string", "format": "date-time"},
		"commandId":      str, "executionId": str, "size": integer,
		"command": obj{"type": "object", "description": "Show only: the original command, sensitive values masked.", "properties": obj{
			"headers": obj{"type": "object", "additionalProperties": str},
			"data":    obj{"description": "The command's JSON data."},
			"text":    obj{"type": "string", "description": "A body that is not JSON."},
		}},
	}}
	schemas["DLQEntry"] = entry
	schemas["DLQPage"] = obj{"type": "object", "required": []string{"entries", "total", "next"}, "properties": obj{
		"entries": obj{"type": "array", "items": ref("DLQEntry")},
		"total":   obj{"type": "integer", "description": "Entries matching the filter, all pages."},
		"next":    obj{"type": "integer", "description": "The after of the next page; 0: no more."},
	}}
	schemas["DLQReplay"] = obj{"type": "object", "properties": obj{
		"seq": integer, "jobType": str, "stage": str, "subject": str,
		"commandId":   obj{"type": "string", "description": "The replayed command's new id."},
		"executionId": str, "replayedBy": str,
	}}
	schemas["DLQDeleted"] = obj{"type": "object", "required": []string{"deleted"}, "properties": obj{"deleted": integer}}
	for name, desc := range map[string]string{"DLQPage": "A page of dead letters.", "DLQEntry": "The dead letter.",
		"DLQReplay": "The command was published again.", "DLQDeleted": "How many dead letters were removed."} {
		responses[name] = obj{"description": desc, "content": obj{"application/json": obj{"schema": ref(name)}}}
	}
}
