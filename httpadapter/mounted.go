package httpadapter

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// Mounted is a handler of another component (the saga coordinator's REST
// API) served under Prefix, with the routes it serves described, so that
// the OpenAPI document lists them beside the adapter's own. The adapter's
// middleware applies to it as to every route.
type Mounted struct {
	Prefix     string // full path prefix, e.g. /api/v1/sagas
	Handler    http.Handler
	Tag        string // OpenAPI tag of its operations, e.g. "sagas"
	TagDesc    string
	Operations []Operation
}

// Operation describes one route of a Mounted handler for the OpenAPI
// document. The component builds its router and these from one route
// table, so that the two cannot drift apart.
type Operation struct {
	Method      string // GET, POST, …
	Pattern     string // relative to the prefix, chi syntax: "/", "/{saga}/start"
	OperationID string
	Summary     string
	Description string
	// Query parameters (name -> description); path parameters come from
	// the pattern's {names}.
	Query map[string]string
	// RequestBody is the JSON schema of an optional body; nil for none.
	RequestBody map[string]any
	// Responses maps each status code to its description; ResponseBody
	// (a JSON schema) applies to every 2xx, ErrorBody to the others.
	Responses    map[int]string
	ResponseBody map[string]any
	ErrorBody    map[string]any
}

// Path is the operation's OpenAPI path under prefix ("/" is the prefix
// itself).
func (op Operation) Path(prefix string) string {
	p := strings.TrimRight(prefix, "/") + op.Pattern
	if len(p) > 1 {
		p = strings.TrimRight(p, "/")
	}
	return p
}

var pathParamRE = regexp.MustCompile(`\{([A-Za-z0-9_]+)(:[^}]*)?\}`)

// mountedOperation renders op as an OpenAPI operation.
func mountedOperation(m Mounted, op Operation) obj {
	out := obj{"operationId": op.OperationID, "summary": op.Summary, "tags": []string{m.Tag}}
	if op.Description != "" {
		out["description"] = op.Description
	}
	var params []any
	for _, p := range pathParamRE.FindAllStringSubmatch(op.Pattern, -1) {
		params = append(params, obj{"name": p[1], "in": "path", "required": true, "schema": obj{"type": "string"}})
	}
	for name, desc := range op.Query {
		params = append(params, obj{"name": name, "in": "query", "required": false, "description": desc,
			"schema": obj{"type": "string"}})
	}
	if len(params) > 0 {
		out["parameters"] = params
	}
	if op.RequestBody != nil {
		out["requestBody"] = obj{"required": false, "content": obj{"application/json": obj{"schema": op.RequestBody}}}
	}
	responses := obj{}
	for code, desc := range op.Responses {
		r := obj{"description": desc}
		schema := op.ErrorBody
		if code >= 200 && code < 300 {
			schema = op.ResponseBody
		}
		if schema != nil {
			r["content"] = obj{"application/json": obj{"schema": schema}}
		}
		responses[strconv.Itoa(code)] = r
	}
	out["responses"] = responses
	return out
}

// addMounted adds the mounted components' operations and tags to an
// OpenAPI document's paths and tags.
func (a *adapter) addMounted(paths obj, tags []any) []any {
	for _, m := range a.o.Mounted {
		if m.Tag != "" {
			tags = append(tags, obj{"name": m.Tag, "description": m.TagDesc})
		}
		for _, op := range m.Operations {
			path := pathParamRE.ReplaceAllString(op.Path(m.Prefix), "{$1}")
			item, _ := paths[path].(obj)
			if item == nil {
				item = obj{}
				paths[path] = item
			}
			item[strings.ToLower(op.Method)] = mountedOperation(m, op)
		}
	}
	return tags
}
