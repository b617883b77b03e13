package httpadapter

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/internal/strictjson"
	"github.com/jetjobs/jetjobs/jobs"
)

// ScheduleStore manages schedules and delayed starts (bus.Schedules).
type ScheduleStore interface {
	jobs.Schedules
	PutDelayed(ctx context.Context, job string, at time.Time, req *jobs.Request) error
	// Shown masks the sensitive parameters and metadata of a schedule.
	Shown(sc jobs.Schedule) jobs.Schedule
}

var _ ScheduleStore = (*bus.Schedules)(nil)

// NextRunsShown is how many next ticks a schedule's answer lists.
const NextRunsShown = 3

// ScheduleView is a schedule as REST shows it: the definition and its
// next ticks (none when paused).
type ScheduleView struct {
	jobs.Schedule
	NextRuns []time.Time `json:"nextRuns"`
}

// ScheduleList is the body of GET {base}/schedules.
type ScheduleList struct {
	Items []ScheduleView `json:"items"`
}

// ScheduleRequest is the body of POST {base}/schedules: the job is the
// route's; exactly one of cron, every and at.
type ScheduleRequest struct {
	Name       string            `json:"name"`
	Cron       string            `json:"cron,omitempty"`
	Every      string            `json:"every,omitempty"`
	At         string            `json:"at,omitempty"`
	TimeZone   string            `json:"timeZone,omitempty"`
	Parameters map[string]any    `json:"parameters,omitempty"`
	Metadata   map[string]string `json:"metadata,omitempty"`
	Paused     bool              `json:"paused,omitempty"`
}

// View adds the next runs after now.
func View(s jobs.Schedule, now time.Time) ScheduleView {
	runs := s.NextRuns(now, NextRunsShown)
	if runs == nil {
		runs = []time.Time{}
	}
	return ScheduleView{Schedule: s, NextRuns: runs}
}

// scheduleRoutes are the schedule routes of each async job (docs/rest.md,
// "Schedules"). The static segment wins over {executionId}: an execution
// named "schedules" cannot be reached by these paths' GETs.
func (a *adapter) scheduleRoutes() []route {
	var out []route
	for _, def := range a.d.Registry.Definitions() {
		if def.Async == nil {
			continue
		}
		base := BasePath(def, a.o.BasePath) + "/schedules"
		name := base + "/{name}"
		out = append(out,
			route{Method: http.MethodGet, Pattern: base, Kind: kindScheduleList, Job: def},
			route{Method: http.MethodPost, Pattern: base, Kind: kindSchedulePut, Job: def},
			route{Method: http.MethodGet, Pattern: name, Kind: kindScheduleGet, Job: def},
			route{Method: http.MethodDelete, Pattern: name, Kind: kindScheduleDelete, Job: def},
			route{Method: http.MethodPost, Pattern: name + "/pause", Kind: kindSchedulePause, Job: def},
			route{Method: http.MethodPost, Pattern: name + "/resume", Kind: kindScheduleResume, Job: def})
	}
	return out
}

func isSchedule(k routeKind) bool { return k >= kindScheduleList && k <= kindScheduleResume }

func (a *adapter) scheduleHandler(rt route) http.HandlerFunc {
	job := rt.Job.Name
	return func(w http.ResponseWriter, r *http.Request) {
		info := infoOf(r)
		info.jobType, info.stage = job, "SCHEDULE"
		if a.d.Schedules == nil {
			writeFailure(w, r, http.StatusServiceUnavailable, "", "", "schedules are not available (NATS message schedules need nats-server 2.12 or later)")
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), a.o.RequestTimeout)
		defer cancel()
		s := a.d.Schedules
		name := chi.URLParam(r, "name")
		now := time.Now()
		var err error
		switch rt.Kind {
		case kindScheduleList:
			var list []jobs.Schedule
			if list, err = s.List(ctx, job); err == nil {
				out := ScheduleList{Items: []ScheduleView{}}
				for _, sc := range list {
					out.Items = append(out.Items, View(s.Shown(sc), now))
				}
				writeJSON(w, http.StatusOK, out)
				return
			}
		case kindSchedulePut:
			var sc *jobs.Schedule
			if sc, err = readSchedule(r, job); err != nil {
				writeFailure(w, r, HTTPStatus(jobs.CodeOf(err)), "", "", err.Error())
				return
			}
			if err = s.Put(ctx, *sc); err == nil {
				writeJSON(w, http.StatusCreated, View(s.Shown(*sc), now))
				return
			}
		case kindScheduleDelete:
			if err = s.Delete(ctx, job, name); err == nil {
				w.WriteHeader(http.StatusNoContent)
				return
			}
		default:
			switch rt.Kind {
			case kindSchedulePause:
				err = s.Pause(ctx, job, name)
			case kindScheduleResume:
				err = s.Resume(ctx, job, name)
			}
			var sc *jobs.Schedule
			if err == nil {
				if sc, err = s.Get(ctx, job, name); err == nil {
					writeJSON(w, http.StatusOK, View(s.Shown(*sc), now))
					return
				}
			}
		}
		msg := err.Error()
		if jobs.IsScheduleNotFound(err) {
			msg = fmt.Sprintf("job %s has no schedule %q", job, trunc(name))
		}
		writeFailure(w, r, HTTPStatus(jobs.CodeOf(err)), "", "", msg)
	}
}

// readSchedule decodes and checks a POST body; its errors carry their
// code (400 malformed, 422 an invalid definition, naming the field).
func readSchedule(r *http.Request, job string) (*jobs.Schedule, error) {
	body, _, err := readBody(r)
	if err != nil {
		return nil, &jobs.Error{Code: jobs.CodeInvalidArgument, Err: err}
	}
	if len(body) == 0 || body[0] != '{' {
		return nil, jobs.Errorf(jobs.CodeInvalidArgument, "malformed body: want a JSON object (name and one of cron, every, at)")
	}
	var req ScheduleRequest
	if err := strictjson.Decode(body, &req); err != nil {
		msg := strings.TrimPrefix(err.Error(), "json: ")
		if !strings.HasPrefix(msg, "unknown field") {
			return nil, &jobs.Error{Code: jobs.CodeInvalidArgument, Err: describeJSONError(err)}
		}
		return nil, jobs.Errorf(jobs.CodeInvalidArgument,
			"malformed body: %s (a schedule has name, cron, every, at, timeZone, parameters, metadata, paused)", msg)
	}
	sc := &jobs.Schedule{Job: job, Name: req.Name, Cron: req.Cron, Every: req.Every, At: req.At, TimeZone: req.TimeZone,
		Parameters: req.Parameters, Metadata: req.Metadata, Paused: req.Paused, Origin: jobs.OriginAPI}
	if err := sc.Validate(); err != nil {
		return nil, err
	}
	return sc, nil
}

// delayAt reads ?at=<RFC 3339> or ?delay=<duration> of a START; zero
// when neither is given.
func delayAt(r *http.Request, now time.Time) (time.Time, error) {
	q := r.URL.Query()
	at, delay := q.Get("at"), q.Get("delay")
	switch {
	case at != "" && delay != "":
		return time.Time{}, errors.New("give ?at= or ?delay=, not both")
	case at != "":
		t, err := time.Parse(time.RFC3339, at)
		if err != nil {
			return time.Time{}, fmt.Errorf("?at=%q is not an RFC 3339 time", trunc(at))
		}
		return t, nil
	case delay != "":
		d, err := time.ParseDuration(delay)
		if err != nil || d < 0 {
			return time.Time{}, fmt.Errorf("?delay=%q is not a positive duration (e.g. 90s, 15m)", trunc(delay))
		}
		return now.Add(d), nil
	}
	return time.Time{}, nil
}

// delayedStart stores a START to be fired by the server at at, and answers
// 202 with the execution id it will have; the execution is created when
// it fires.
func (a *adapter) delayedStart(w http.ResponseWriter, r *http.Request, def *jobs.Definition, req *jobs.Request, at time.Time) {
	if a.d.Schedules == nil {
		writeFailure(w, r, http.StatusServiceUnavailable, jobs.StageStart, req.ExecutionID,
			"delayed starts are not available (NATS message schedules need nats-server 2.12 or later)")
		return
	}
	if req.ExecutionID == "" {
		req.ExecutionID = jobs.NewExecutionID()
	}
	infoOf(r).executionID = req.ExecutionID
	ctx, cancel := context.WithTimeout(r.Context(), a.o.RequestTimeout)
	defer cancel()
	if err := a.d.Schedules.PutDelayed(ctx, def.Name, at.Truncate(time.Second), req); err != nil {
		writeFailure(w, r, HTTPStatus(jobs.CodeOf(err)), jobs.StageStart, req.ExecutionID, err.Error())
		return
	}
	writeJSON(w, http.StatusAccepted, &jobs.Response{Success: true, Stage: jobs.StageStart, ExecutionID: req.ExecutionID,
		Message:   "start scheduled at " + at.Truncate(time.Second).UTC().Format(time.RFC3339),
		Timestamp: time.Now().UTC(), Metadata: req.Metadata})
}

// scheduleStatuses are the codes a schedule route can answer.
func scheduleStatuses(rt route) []int {
	switch rt.Kind {
	case kindScheduleList:
		return []int{200, 400, 500, 503}
	case kindScheduleGet:
		return []int{200, 404, 500, 503}
	case kindSchedulePut:
		return []int{201, 400, 413, 415, 422, 500, 503, 507}
	case kindScheduleDelete:
		return []int{204, 404, 415, 500, 503}
	}
	return []int{200, 404, 415, 500, 503, 507}
}

// scheduleResponse names the response component of a 2xx.
func scheduleResponse(rt route, code int) string {
	switch {
	case code == 204:
		return "ScheduleDeleted"
	case rt.Kind == kindScheduleList:
		return "ScheduleList"
	}
	return "Schedule"
}

func scheduleOperation(op obj, rt route) []any {
	op["tags"] = []string{rt.Job.Name}
	c := camel(rt.Job.Name)
	name := obj{"name": "name", "in": "path", "required": true, "description": "The schedule's name.",
		"schema": obj{"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,63}$"}}
	switch rt.Kind {
	case kindScheduleList:
		op["operationId"], op["summary"] = c+"ListSchedules", "List the job's schedules with their next runs"
		op["description"] = "Needs read:" + rt.Job.Name + ". nextRuns: the next " + fmt.Sprint(NextRunsShown) + " ticks, none when paused."
		return nil
	case kindSchedulePut:
		op["operationId"], op["summary"] = c+"PutSchedule", "Create or replace a schedule"
		op["description"] = "Needs admin:" + rt.Job.Name + ". Exactly one of cron (six fields, seconds first), every (>= 1s) or at (RFC 3339); " +
			"timeZone for cron only. The same definition again changes nothing. A bad one answers 422 naming the field."
		op["requestBody"] = obj{"required": true, "content": obj{"application/json": obj{"schema": ref("ScheduleRequest"),
			"example": obj{"name": "nightly", "cron": "0 0 2 * * *", "timeZone": "Europe/Paris", "parameters": obj{"mode": "full"}}}}}
		return nil
	case kindScheduleGet:
		op["operationId"], op["summary"] = c+"GetSchedule", "A schedule and its next runs"
		op["description"] = "Needs read:" + rt.Job.Name + "."
	case kindScheduleDelete:
		op["operationId"], op["summary"] = c+"DeleteSchedule", "Delete a schedule; its ticks stop"
		op["description"] = "Needs admin:" + rt.Job.Name + ". Content-Type must be application/json."
	case kindSchedulePause:
		op["operationId"], op["summary"] = c+"PauseSchedule", "Pause a schedule, keeping its definition"
		op["description"] = "Needs admin:" + rt.Job.Name + ". Content-Type must be application/json; the body is ignored."
	default:
		op["operationId"], op["summary"] = c+"ResumeSchedule", "Resume a paused schedule"
		op["description"] = "Needs admin:" + rt.Job.Name + ". An every schedule counts again from now. Content-Type must be application/json; the body is ignored."
	}
	return []any{name}
}

// scheduleDocs adds the schedule responses and schemas.
func scheduleDocs(responses, schemas obj) {
	str := obj{"type": "string"}
	strMap := obj{"type": "object", "additionalProperties": str}
	props := obj{
		"name":       obj{"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,63}$"},
		"cron":       obj{"type": "string", "description": "Six fields, seconds first (0 30 2 * * *), or @hourly, @daily, @weekly, @monthly, @yearly."},
		"every":      obj{"type": "string", "description": "A Go duration of at least 1s (15m)."},
		"at":         obj{"type": "string", "format": "date-time", "description": "Fires once, then the schedule is removed."},
		"timeZone":   obj{"type": "string", "description": "IANA zone of cron (Europe/Paris); default UTC."},
		"parameters": obj{"type": "object"},
		"metadata":   strMap,
		"paused":     obj{"type": "boolean"},
	}
	schemas["ScheduleRequest"] = obj{"type": "object", "additionalProperties": false, "required": []string{"name"}, "properties": props}
	view := obj{}
	for k, v := range props {
		view[k] = v
	}
	view["job"] = str
	view["origin"] = obj{"type": "string", "enum": []string{jobs.OriginConfig, jobs.OriginAPI}}
	view["nextRuns"] = obj{"type": "array", "items": obj{"type": "string", "format": "date-time"}}
	schemas["Schedule"] = obj{"type": "object", "required": []string{"job", "name", "nextRuns"}, "properties": view}
	schemas["ScheduleList"] = obj{"type": "object", "required": []string{"items"}, "properties": obj{
		"items": obj{"type": "array", "items": ref("Schedule")}}}
	responses["Schedule"] = obj{"description": "The schedule and its next runs.",
		"content": obj{"application/json": obj{"schema": ref("Schedule")}}}
	responses["ScheduleList"] = obj{"description": "The job's schedules, by name.",
		"content": obj{"application/json": obj{"schema": ref("ScheduleList")}}}
	responses["ScheduleDeleted"] = obj{"description": "Deleted: the server makes no more ticks."}
}
