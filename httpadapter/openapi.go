package httpadapter

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/jetjobs/jetjobs/jobs"
)

type obj = map[string]any

// statusText describes each status code a route can answer.
var statusText = map[int]string{
	200: "The stage ran; the body is its JobStageResponse. A job that failed is a request that was served: success=false, status FAILED and error.",
	202: "Delayed START (?at= or ?delay=): stored; the NATS server starts it then, with the executionId of this answer.",
	204: "Last-Event-ID names a terminal event: the client has seen the end; stop reconnecting.",
	400: "Malformed body, invalid executionId, unknown body field, or a body executionId that disagrees with the path.",
	401: "No credentials, or bad ones (unknown API key, invalid or expired token); WWW-Authenticate: Bearer.",
	403: "The caller lacks the permission the route needs; the error names it (caller crm-sync lacks run:billing).",
	404: "Unknown execution.",
	409: "Illegal transition: STOP or REPORT of a finished execution, or RESULT before COMPLETED.",
	413: "Request body larger than the configured limit.",
	415: "Content-Type is not application/json (also when it is missing, even with an empty body).",
	422: "A job parameter is missing or invalid; the error names it.",
	429: "Rate limited or bulkhead full.",
	500: "An internal error of the engine.",
	503: "Circuit open, or NATS/JetStream unavailable.",
	504: "No answer from the stage within the request timeout.",
	507: "JetStream storage full (a stream, a bucket or the account); a command already stored runs once space is freed.",
}

// statuses lists the codes a route can answer, for its OpenAPI entry; an
// open route (no credentials needed) cannot answer 401.
func (rt route) statuses(open bool) []int {
	s := rt.baseStatuses()
	if !open {
		s = append(s, 401)
	}
	if rt.permission() != "" {
		s = append(s, 403)
	}
	return s
}

func (rt route) baseStatuses() []int {
	switch rt.Kind {
	case kindEvents:
		return []int{200, 204, 400, 404, 503, 504}
	case kindAudit:
		return []int{200, 400, 404, 503}
	case kindHealth, kindReadiness, kindOrchestratorHealth, kindCircuitBreakers:
		return []int{200, 503}
	case kindLiveness, kindMetrics, kindOpenAPI:
		return []int{200}
	}
	if isDLQ(rt.Kind) {
		return dlqStatuses(rt)
	}
	if isSchedule(rt.Kind) {
		return scheduleStatuses(rt)
	}
	if isListing(rt.Kind) {
		return listingStatuses(rt)
	}
	s := []int{200, 400}
	if rt.hasID() {
		s = append(s, 404)
	}
	if rt.Stage == jobs.StageResult || rt.Stage == jobs.StageStop || rt.Stage == jobs.StageReport {
		s = append(s, 409)
	}
	if rt.Method == http.MethodPost {
		s = append(s, 413, 415)
	}
	if rt.Stage == jobs.StageStart {
		s = append(s, 202) // ?at= / ?delay= (schedules.go)
	}
	return append(s, 422, 429, 500, 503, 504, 507)
}

var stageSummary = map[jobs.Stage]string{
	jobs.StageStart:   "Start an execution",
	jobs.StageCheck:   "Check an execution's status and progress",
	jobs.StageCollect: "Collect what an execution has produced so far",
	jobs.StageResult:  "Get the result of a completed execution",
	jobs.StageStop:    "Stop a running execution",
	jobs.StageExecute: "Execute the job and get its result",
	jobs.StageReport:  "Report an execution's progress or end (pushed by the external work)",
}

// buildOpenAPI renders the OpenAPI 3.1 document of the route table.
func (a *adapter) buildOpenAPI() []byte {
	paths := obj{}
	for _, rt := range a.routes {
		item, _ := paths[rt.Pattern].(obj)
		if item == nil {
			item = obj{}
			paths[rt.Pattern] = item
		}
		item[strings.ToLower(rt.Method)] = a.operation(rt)
	}
	tags := []any{obj{"name": "operations", "description": "Health, metrics and this document"},
		obj{"name": "dlq", "description": "The dead-letter queue: commands that could not run (admin)"}}
	for _, def := range a.d.Registry.Definitions() {
		desc := def.Options.Description
		if desc == "" {
			desc = def.Mode() + " job " + def.Name
		}
		tags = append(tags, obj{"name": def.Name, "description": desc + " (" + def.Mode() + ")"})
	}
	server := a.o.ServerURL
	if server == "" {
		server = "/"
	}
	tags = a.addMounted(paths, tags)
	doc := obj{
		"openapi": "3.1.0",
		"servers": []any{obj{"url": server, "description": "this engine"}},
		// Any one of the schemes: a bearer API key or JWT, or a client certificate.
		"security": []any{obj{"bearer": []string{}}, obj{"mutualTLS": []string{}}},
		"info": obj{"title": "jetjobs REST API", "version": "1.0.0",
			"license": obj{"name": "Apache-2.0", "identifier": "Apache-2.0"},
			"description": "REST adapter of jetjobs: every stage call becomes a CloudEvents command on NATS JetStream " +
				"and answers the stage's JobStageResponse. The status code reports the request, not the job's outcome: " +
				"a stage that reached a job that failed answers 200 with success=false. Other failures answer a JobStageResponse with success=false."},
		"tags":       tags,
		"paths":      paths,
		"components": components(),
	}
	schemas := doc["components"].(obj)["schemas"].(obj)
	addJobSchemas(schemas, schemas["JobStageRequest"].(obj), a.d.Registry.Definitions())
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		panic("httpadapter: OpenAPI document: " + err.Error()) // only maps, strings and numbers: cannot happen
	}
	return b
}

func (a *adapter) operation(rt route) obj {
	op := obj{}
	responses := obj{}
	open := a.isOpen(rt.Pattern)
	if open {
		op["security"] = []any{}
	}
	for _, code := range rt.statuses(open) {
		responses[strconv.Itoa(code)] = obj{"$ref": "#/components/responses/" + responseName(rt, code)}
	}
	op["responses"] = responses
	var params []any
	if rt.hasID() {
		params = append(params, obj{"$ref": "#/components/parameters/executionId"})
	}
	switch rt.Kind {
	case kindStage:
		op["tags"] = []string{rt.Job.Name}
		op["operationId"] = camel(rt.Job.Name) + upperFirst(rt.Stage.Token())
		op["summary"] = stageSummary[rt.Stage]
		op["description"] = "Stage " + string(rt.Stage) + " of job " + rt.Job.Name + " (" + rt.Job.Mode() + ")."
		if rt.Stage == jobs.StageStart {
			params = append(params,
				obj{"name": "at", "in": "query", "required": false, "schema": obj{"type": "string", "format": "date-time"},
					"description": "Delayed start: the NATS server starts it at this RFC 3339 time; answers 202 with the executionId it will have."},
				obj{"name": "delay", "in": "query", "required": false, "schema": obj{"type": "string"},
					"description": "Delayed start after this Go duration (90s, 15m); answers 202."})
		}
		if rt.Stage == jobs.StageStop {
			params = append(params, obj{"name": "reason", "in": "query", "required": false,
				"description": "Why the execution is stopped; overrides the body's reason.", "schema": obj{"type": "string"}})
		}
		if rt.Method == http.MethodPost {
			op["requestBody"] = obj{
				"required":    false,
				"description": "JobStageRequest; an empty body is an empty request. Content-Type must be application/json, also for an empty body.",
				"content": obj{"application/json": obj{"schema": ref("JobStageRequest"),
					"example": obj{"parameters": obj{"datasetId": "dataset-123", "batchSize": 1000}}}},
			}
			if rt.Stage == jobs.StageReport {
				op["requestBody"] = obj{"required": true,
					"description": "JobStageRequest with the report fields. Content-Type must be application/json.",
					"content": obj{"application/json": obj{"schema": ref("JobStageRequest"),
						"example": obj{"status": "COMPLETED", "message": "DAG run succeeded", "data": obj{"rows": 1200}}}}}
			}
			if name := jobRequestSchema(rt.Job); name != "" && (rt.Stage == jobs.StageStart || rt.Stage == jobs.StageExecute) {
				// The job declares its parameters: its own request schema.
				op["requestBody"] = obj{"required": false,
					"description": "JobStageRequest with the parameters of job " + rt.Job.Name + ". Content-Type must be application/json, also for an empty body.",
					"content":     obj{"application/json": obj{"schema": ref(name)}}}
			}
		}
	case kindEvents:
		op["tags"] = []string{rt.Job.Name}
		op["operationId"] = camel(rt.Job.Name) + "Events"
		op["summary"] = "Follow an execution as Server-Sent Events"
		op["description"] = "A `status` event (data: see the response's x-event-data, id: <KV revision>-<status>) now and on every change, " +
			"a `: heartbeat` comment every 15s, until the execution is terminal; then the stream ends."
		params = append(params, obj{"name": "Last-Event-ID", "in": "header", "required": false,
			"description": "The id of the last event seen; if it is a terminal one (e.g. 12-COMPLETED) the answer is 204.",
			"schema":      obj{"type": "string"}})
	case kindAudit:
		op["tags"] = []string{rt.Job.Name}
		op["operationId"] = camel(rt.Job.Name) + "Audit"
		op["summary"] = "The audit trail of an execution"
		op["description"] = "Every stage the execution went through, in order (AuditTrail), from the JOBS_AUDIT stream."
	default:
		if isDLQ(rt.Kind) {
			params = dlqOperation(op, rt)
			break
		}
		if isSchedule(rt.Kind) {
			params = scheduleOperation(op, rt)
			break
		}
		if isListing(rt.Kind) {
			params = listingOperation(op, rt)
			break
		}
		op["tags"] = []string{"operations"}
		op["operationId"], op["summary"] = opsInfo(rt.Kind)
	}
	if len(params) > 0 {
		op["parameters"] = params
	}
	return op
}

func opsInfo(k routeKind) (string, string) {
	switch k {
	case kindHealth:
		return "health", "Health of NATS, JetStream and the state bucket"
	case kindReadiness:
		return "readiness", "Readiness: the same checks as /health"
	case kindLiveness:
		return "liveness", "Liveness: UP while the process serves HTTP; never asks NATS"
	case kindOrchestratorHealth:
		return "jobOrchestratorHealth", "Registered job types and their modes"
	case kindMetrics:
		return "metrics", "Metrics in Prometheus text format"
	case kindCircuitBreakers:
		return "circuitBreakers", "State and counters of every job type's circuit breaker"
	}
	return "openapi", "This OpenAPI document"
}

// responseName picks the shared response component of a route's status.
func responseName(rt route, code int) string {
	switch {
	case rt.Kind == kindEvents && code == 200:
		return "EventStream"
	case rt.Kind == kindEvents && code == 204:
		return "NoContent"
	case rt.Kind == kindAudit && code == 200:
		return "AuditTrail"
	case code == 401 || code == 403:
		return "Stage" + strconv.Itoa(code)
	case isDLQ(rt.Kind) && code == 200:
		return dlqResponse(rt.Kind)
	case isSchedule(rt.Kind) && code < 300:
		return scheduleResponse(rt, code)
	case isListing(rt.Kind) && code == 200:
		return listingResponse(rt.Kind)
	case rt.Kind == kindCircuitBreakers && code == 200:
		return "CircuitBreakers"
	case rt.Kind == kindHealth || rt.Kind == kindReadiness || rt.Kind == kindLiveness || rt.Kind == kindOrchestratorHealth:
		return "Health" + strconv.Itoa(code)
	case rt.Kind == kindMetrics:
		return "Metrics"
	case rt.Kind == kindOpenAPI:
		return "OpenAPI"
	}
	return "Stage" + strconv.Itoa(code)
}

func components() obj {
	responses := obj{
		"EventStream": obj{"description": "text/event-stream of `status` events (their data: x-event-data).",
			"content": obj{"text/event-stream": obj{"schema": obj{"type": "string"},
				"example": "id: 7-RUNNING\nevent: status\ndata: {\"executionId\":\"exec-123\",\"status\":\"RUNNING\",\"progressPercentage\":40}\n\n"}}},
		"NoContent": obj{"description": statusText[204]},
		"AuditTrail": obj{"description": "The execution's audit entries in order.",
			"content": obj{"application/json": obj{"schema": ref("AuditTrail")}}},
		"Health200": obj{"description": "UP", "content": obj{"application/json": obj{"schema": ref("Health")}}},
		"Health503": obj{"description": "DOWN", "content": obj{"application/json": obj{"schema": ref("Health")}}},
		"Metrics": obj{"description": "Prometheus text exposition format.",
			"content": obj{"text/plain": obj{"schema": obj{"type": "string"}}}},
		"OpenAPI": obj{"description": "This document.", "content": obj{"application/json": obj{"schema": obj{"type": "object"}}}},
	}
	for code, text := range statusText {
		if code == 204 {
			continue
		}
		responses["Stage"+strconv.Itoa(code)] = obj{"description": text,
			"content": obj{"application/json": obj{"schema": ref("JobStageResponse")}}}
	}
	str := obj{"type": "string"}
	strMap := obj{"type": "object", "additionalProperties": str}
	statuses := []string{}
	for _, s := range []jobs.Status{jobs.StatusStarted, jobs.StatusRunning, jobs.StatusCompleted, jobs.StatusFailed,
		jobs.StatusStopped, jobs.StatusTimedOut} {
		statuses = append(statuses, string(s))
	}
	stages := []string{}
	for _, s := range jobs.Stages {
		stages = append(stages, string(s))
	}
	id := obj{"type": "string", "pattern": "^[A-Za-z0-9_-]{1,128}$"}
	// OpenAPI 3.1 cannot type the events of a stream: the extension gives
	// the schema of each status event's data.
	responses["EventStream"].(obj)["content"].(obj)["text/event-stream"].(obj)["x-event-data"] = obj{
		"type": "object", "properties": obj{
			"executionId": str, "jobType": str,
			"status":             obj{"type": "string", "enum": statuses},
			"lastStage":          obj{"type": "string", "enum": stages},
			"progressPercentage": obj{"type": "integer", "minimum": 0, "maximum": 100},
			"message":            str,
			"error":              obj{"type": []string{"string", "null"}},
			"updatedAt":          obj{"type": "string", "format": "date-time"},
			"endedAt":            obj{"type": "string", "format": "date-time"},
		}}
	schemas := obj{}
	circuitBreakerDocs(responses, schemas)
	dlqDocs(responses, schemas)
	scheduleDocs(responses, schemas)
	listingDocs(responses, schemas)
	c := obj{
		"securitySchemes": obj{
			"bearer": obj{"type": "http", "scheme": "bearer",
				"description": "An API key (http.auth.api-keys-file) or a JWT of the configured issuer (http.auth.jwt.*)."},
			"mutualTLS": obj{"type": "mutualTLS",
				"description": "A client certificate of a CA in http.auth.client-ca; its subject CN is the caller."},
		},
		"parameters": obj{"executionId": obj{"name": "executionId", "in": "path", "required": true,
			"description": "The execution id: 1 to 128 of A-Z a-z 0-9 _ -", "schema": id}},
		"responses": responses,
		"schemas": obj{
			"JobStageRequest": obj{"type": "object", "additionalProperties": false, "properties": obj{
				"executionId": obj{"type": "string", "pattern": id["pattern"],
					"description": "Client-chosen id at START/EXECUTE (idempotent); must equal the path's otherwise."},
				"parameters":         obj{"type": "object", "description": "Job parameters."},
				"reason":             obj{"type": "string", "description": "STOP only."},
				"progressPercentage": obj{"type": "integer", "minimum": 0, "maximum": 100, "description": "REPORT only: the work's progress."},
				"message":            obj{"type": "string", "description": "REPORT only: what the work is doing."},
				"status": obj{"type": "string", "enum": []string{string(jobs.StatusRunning), string(jobs.StatusCompleted), string(jobs.StatusFailed)},
					"description": "REPORT only: RUNNING (or absent) for progress; COMPLETED or FAILED ends the execution."},
				"data":      obj{"type": "object", "description": "REPORT only, with status COMPLETED: the result."},
				"error":     obj{"type": "string", "description": "REPORT only, with status FAILED: why."},
				"requestId": obj{"type": "string", "description": "Defaults to the X-Request-Id of the call."},
				"initiator": str,
				"metadata":  strMap,
			}},
			"JobStageResponse": obj{"type": "object", "required": []string{"success", "progressPercentage", "timestamp", "error"},
				"properties": obj{
					"success":            obj{"type": "boolean"},
					"status":             obj{"type": "string", "enum": statuses},
					"executionId":        str,
					"message":            str,
					"stage":              obj{"type": "string", "enum": stages},
					"progressPercentage": obj{"type": "integer", "minimum": 0, "maximum": 100},
					"timestamp":          obj{"type": "string", "format": "date-time"},
					"data":               obj{"type": "object"},
					"metadata":           strMap,
					"error":              obj{"type": []string{"string", "null"}},
				}},
			"AuditTrail": obj{"type": "object", "properties": obj{
				"executionId": str, "jobType": str,
				"entries": obj{"type": "array", "items": obj{"type": "object", "properties": obj{
					"executionId": str, "jobType": str,
					"stage":      obj{"type": "string", "enum": stages},
					"status":     obj{"type": "string", "enum": statuses},
					"outcome":    obj{"type": "string", "enum": []string{"success", "unsuccessful", "invalid", "rejected", "timeout", "failure"}},
					"startedAt":  obj{"type": "string", "format": "date-time"},
					"endedAt":    obj{"type": "string", "format": "date-time"},
					"durationMs": obj{"type": "number"}, "attempt": obj{"type": "integer"},
					"parameters": obj{"type": "object"}, "message": str, "error": str, "errorType": str, "stackTrace": str,
					"requestId": str, "initiator": str, "metadata": strMap, "sagaId": str,
				}}},
			}},
			"Health": obj{"type": "object", "required": []string{"status"}, "properties": obj{
				"status":     obj{"type": "string", "enum": []string{StatusUp, StatusDown}},
				"components": obj{"type": "object", "additionalProperties": ref("HealthComponent")},
				"details":    obj{"type": "object"},
			}},
			"HealthComponent": obj{"type": "object", "required": []string{"status"}, "properties": obj{
				"status":  obj{"type": "string", "enum": []string{StatusUp, StatusDown}},
				"details": obj{"type": "object"},
			}},
		},
	}
	for name, s := range schemas {
		c["schemas"].(obj)[name] = s
	}
	return c
}

func ref(schema string) obj { return obj{"$ref": "#/components/schemas/" + schema} }

// camel turns "customer-import" into "customerImport".
func camel(s string) string {
	parts := strings.Split(s, "-")
	for i := 1; i < len(parts); i++ {
		parts[i] = upperFirst(parts[i])
	}
	return strings.Join(parts, "")
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func (a *adapter) serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(a.openapi)
}
