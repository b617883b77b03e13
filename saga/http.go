package saga

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/jetjobs/jetjobs/httpadapter"
	"github.com/jetjobs/jetjobs/httpadapter/auth"
	"github.com/jetjobs/jetjobs/internal/strictjson"
	"github.com/jetjobs/jetjobs/jobs"
)

// maxBody bounds a start request.
const maxBody = 1 << 20

// Routes serves the saga REST endpoints, to be mounted under
// /api/v1/sagas:
//
//	GET  /                        the definitions
//	POST /{saga}/start            start ({"sagaId","input","initiator"}, all optional): 201 new, 200 existing
//	GET  /{saga}/{sagaId}         the instance
//	POST /{saga}/{sagaId}/resume  retry the failed compensations of a FAILED saga: 202
//	POST /{saga}/{sagaId}/cancel  ?reason=… or {"reason"}: stop a RUNNING saga and undo it: 202
//
// Errors answer {"success":false,"error":…} with 400, 403, 404, 409, 413,
// 503 or 504. The router and Operations are built from one route table.
//
// Permissions (docs/rest.md, "Permissions") are scoped by saga name: start
// needs run:<saga>, GET of an instance read:<saga>, resume and cancel
// admin:<saga>; the list of definitions only an authenticated caller. The
// engine's REST adapter authenticates the caller before these handlers run
// and sets a start's initiator to the caller's name.
func Routes(c *Coordinator) http.Handler {
	r := chi.NewRouter()
	for _, rt := range routeTable(c) {
		r.Method(rt.op.Method, rt.op.Pattern, rt.handler)
	}
	return r
}

// Operations describes the routes of Routes for the OpenAPI document.
func Operations() []httpadapter.Operation {
	var out []httpadapter.Operation
	for _, rt := range routeTable(nil) {
		out = append(out, rt.op)
	}
	return out
}

// sagaRoute is one entry of the route table: its OpenAPI description and
// its handler.
type sagaRoute struct {
	op      httpadapter.Operation
	handler http.HandlerFunc
}

// routeTable lists the saga routes; c may be nil when only the
// descriptions are wanted.
func routeTable(c *Coordinator) []sagaRoute {
	errs := func(codes ...int) map[int]string {
		m := map[int]string{}
		for _, code := range codes {
			m[code] = errorText[code]
		}
		return m
	}
	with := func(m map[int]string, code int, text string) map[int]string { m[code] = text; return m }
	return []sagaRoute{
		{httpadapter.Operation{Method: http.MethodGet, Pattern: "/", OperationID: "sagaDefinitions",
			Summary: "The saga definitions", Responses: map[int]string{200: "Every definition with its steps."},
			ResponseBody: obj{"type": "array", "items": definitionSchema}},
			func(w http.ResponseWriter, _ *http.Request) {
				out := []definitionView{}
				for _, d := range c.Definitions() {
					out = append(out, viewOf(d))
				}
				writeJSON(w, http.StatusOK, out)
			}},
		{httpadapter.Operation{Method: http.MethodPost, Pattern: "/{saga}/start", OperationID: "sagaStart",
			Summary:     "Start a saga instance",
			Description: "Idempotent on sagaId: starting an id that exists answers that instance with 200.",
			RequestBody: startSchema,
			Responses: with(with(errs(400, 403, 404, 409, 413, 500, 503, 504, 507), 201, "Started: the new instance."),
				200, "The instance with this sagaId already exists: it is answered."),
			ResponseBody: instanceSchema, ErrorBody: errorSchema},
			func(w http.ResponseWriter, req *http.Request) {
				if !permitted(w, req, auth.Run) {
					return
				}
				var sr StartRequest
				if !readBody(w, req, &sr, "a saga start request") {
					return
				}
				sr.Initiator = auth.Initiator(req.Context(), sr.Initiator)
				ctx, cancel := context.WithTimeout(req.Context(), 30*time.Second)
				defer cancel()
				in, created, err := c.StartSaga(ctx, chi.URLParam(req, "saga"), sr)
				if err != nil {
					writeErr(w, err)
					return
				}
				status := http.StatusOK
				if created {
					status = http.StatusCreated
				}
				writeJSON(w, status, in.Public())
			}},
		{httpadapter.Operation{Method: http.MethodGet, Pattern: "/{saga}/{sagaId}", OperationID: "sagaInstance",
			Summary: "A saga instance: status, steps, results", Responses: with(errs(400, 403, 404, 500, 503), 200, "The instance."),
			ResponseBody: instanceSchema, ErrorBody: errorSchema},
			func(w http.ResponseWriter, req *http.Request) {
				if !permitted(w, req, auth.Read) {
					return
				}
				in, err := c.Get(req.Context(), chi.URLParam(req, "saga"), chi.URLParam(req, "sagaId"))
				if err != nil {
					writeErr(w, err)
					return
				}
				writeJSON(w, http.StatusOK, in.Public())
			}},
		{httpadapter.Operation{Method: http.MethodPost, Pattern: "/{saga}/{sagaId}/resume", OperationID: "sagaResume",
			Summary:      "Retry the failed compensations of a FAILED saga",
			Responses:    with(errs(400, 403, 404, 409, 413, 500, 503, 504, 507), 202, "Accepted: the coordinator resumes the compensation."),
			ResponseBody: responseSchema, ErrorBody: errorSchema},
			func(w http.ResponseWriter, req *http.Request) {
				if !permitted(w, req, auth.Admin) {
					return
				}
				var none struct{}
				if !readBody(w, req, &none, "a resume request (it takes no fields)") {
					return
				}
				saga, id := chi.URLParam(req, "saga"), chi.URLParam(req, "sagaId")
				accepted(w, saga, id, c.Resume(req.Context(), saga, id))
			}},
		{httpadapter.Operation{Method: http.MethodPost, Pattern: "/{saga}/{sagaId}/cancel", OperationID: "sagaCancel",
			Summary: "Stop a RUNNING saga and undo its completed steps",
			Query:   map[string]string{"reason": "Why it is cancelled; or {\"reason\"} in the body."},
			RequestBody: obj{"type": "object", "additionalProperties": false,
				"properties": obj{"reason": obj{"type": "string"}}},
			Responses:    with(errs(400, 403, 404, 409, 413, 500, 503, 504, 507), 202, "Accepted: the saga compensates."),
			ResponseBody: responseSchema, ErrorBody: errorSchema},
			func(w http.ResponseWriter, req *http.Request) {
				if !permitted(w, req, auth.Admin) {
					return
				}
				var body struct {
					Reason string `json:"reason"`
				}
				if !readBody(w, req, &body, `a cancel request ({"reason": …})`) {
					return
				}
				reason := req.URL.Query().Get("reason")
				switch {
				case reason == "":
					reason = body.Reason
				case body.Reason != "" && body.Reason != reason:
					writeError(w, http.StatusBadRequest, "the reason in the body and in ?reason= differ: give one")
					return
				}
				saga, id := chi.URLParam(req, "saga"), chi.URLParam(req, "sagaId")
				accepted(w, saga, id, c.Cancel(req.Context(), saga, id, reason))
			}},
	}
}

// permitted answers 403 unless the caller may do verb on the saga of the
// path; false when it answered.
func permitted(w http.ResponseWriter, req *http.Request, verb auth.Verb) bool {
	if err := auth.Check(req.Context(), verb, chi.URLParam(req, "saga")); err != nil {
		writeError(w, http.StatusForbidden, err.Error())
		return false
	}
	return true
}

type obj = map[string]any

// errorText describes the error statuses of the saga routes (writeErr).
var errorText = map[int]string{
	400: "Malformed body, unknown field, or an invalid saga id or parameter.",
	403: "The caller lacks the permission the route needs (run, read or admin on the saga).",
	404: "Unknown saga or instance.",
	409: "Not applicable: the saga id belongs to another saga, or the instance is not in a state that allows it.",
	413: "Request body larger than 1 MiB.",
	503: "NATS/JetStream unavailable.",
	500: "An internal error.",
	504: "No answer in time.",
	507: "JetStream storage full; retry once space is freed.",
}

var (
	str         = obj{"type": "string"}
	errorSchema = obj{"type": "object", "required": []string{"success", "error"}, "properties": obj{
		"success": obj{"type": "boolean", "const": false}, "error": str}}
	startSchema = obj{"type": "object", "additionalProperties": false, "properties": obj{
		"sagaId":    obj{"type": "string", "description": "Default: a random id. Starting an existing id answers it."},
		"input":     obj{"type": "object"},
		"initiator": str,
	}}
	responseSchema = obj{"type": "object", "properties": obj{
		"success": obj{"type": "boolean"}, "saga": str, "sagaId": str, "status": str, "error": str, "code": str}}
	instanceSchema = obj{"type": "object", "description": "The saga instance as stored in the SAGAS bucket (docs/sagas.md).",
		"properties": obj{"saga": str, "sagaId": str, "status": obj{"type": "string",
			"enum": []string{"RUNNING", "COMPENSATING", "COMPLETED", "COMPENSATED", "FAILED", "CANCELLED"}},
			"steps": obj{"type": "array", "items": obj{"type": "object"}}, "input": obj{"type": "object"}}}
	definitionSchema = obj{"type": "object", "properties": obj{"name": str, "description": str, "compensation": str,
		"steps": obj{"type": "array", "items": obj{"type": "object", "properties": obj{
			"name": str, "job": str, "mode": str, "dependsOn": obj{"type": "array", "items": str},
			"timeout": str, "maxAttempts": obj{"type": "integer"}, "compensate": str, "critical": obj{"type": "boolean"},
		}}}}}
)

// readBody decodes an optional JSON body strictly into v (what names the
// expected body for the error); false when it answered an error. Nothing a
// caller sends is ignored: an unknown field is refused, not dropped.
func readBody(w http.ResponseWriter, req *http.Request, v any, what string) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, maxBody))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		writeError(w, http.StatusRequestEntityTooLarge, "request body larger than 1 MiB")
		return false
	case err != nil:
		writeError(w, http.StatusBadRequest, "read body: "+err.Error())
		return false
	}
	if len(bytes.TrimSpace(body)) > 0 {
		if err := strictjson.Decode(body, v); err != nil {
			writeError(w, http.StatusBadRequest, "body is not "+what+": "+err.Error())
			return false
		}
	}
	return true
}

func accepted(w http.ResponseWriter, saga, id string, err error) {
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusAccepted, Response{Success: true, Saga: saga, SagaID: id})
}

// definitionView is a definition as GET / shows it.
type definitionView struct {
	Name         string     `json:"name"`
	Description  string     `json:"description,omitempty"`
	Compensation Policy     `json:"compensation"`
	Steps        []stepView `json:"steps"`
}

type stepView struct {
	Name       string   `json:"name"`
	Job        string   `json:"job"`
	Mode       Mode     `json:"mode,omitempty"`
	DependsOn  []string `json:"dependsOn"`
	Timeout    string   `json:"timeout,omitempty"`
	MaxAttempt int      `json:"maxAttempts"`
	Compensate string   `json:"compensate,omitempty"`
	Critical   bool     `json:"critical,omitempty"`
}

func viewOf(d *Definition) definitionView {
	v := definitionView{Name: d.Name, Description: d.Description, Compensation: d.Compensation, Steps: []stepView{}}
	for _, s := range d.Steps {
		sv := stepView{Name: s.Name, Job: s.Job, Mode: s.Mode, DependsOn: s.DependsOn, MaxAttempt: s.Retry.MaxAttempts}
		if sv.DependsOn == nil {
			sv.DependsOn = []string{}
		}
		if s.Timeout > 0 {
			sv.Timeout = s.Timeout.String()
		}
		if s.Compensate != nil {
			sv.Compensate, sv.Critical = s.Compensate.Job, s.Compensate.Critical
		}
		v.Steps = append(v.Steps, sv)
	}
	return v
}

func writeErr(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	switch jobs.CodeOf(err) {
	case jobs.CodeInvalidArgument, jobs.CodeInvalidParameter:
		status = http.StatusBadRequest
	case jobs.CodeNotFound:
		status = http.StatusNotFound
	case jobs.CodeConflict:
		status = http.StatusConflict
	case jobs.CodeUnavailable:
		status = http.StatusServiceUnavailable
	case jobs.CodeStorageFull:
		status = http.StatusInsufficientStorage
	case jobs.CodeTimeout:
		status = http.StatusGatewayTimeout
	}
	writeError(w, status, err.Error())
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"success": false, "error": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
