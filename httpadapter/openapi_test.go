package httpadapter_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/jetjobs/jetjobs/httpadapter"
	"github.com/jetjobs/jetjobs/internal/samplejobs"
	"github.com/jetjobs/jetjobs/jobs"
)

// The document and the router agree both ways: every route is documented
// with its method, and every documented operation is routed. No engine is
// needed: the document comes from the registry.
func TestOpenAPIMatchesRouter(t *testing.T) {
	t.Parallel()
	reg := jobs.NewRegistry()
	if err := samplejobs.Register(reg); err != nil {
		t.Fatal(err)
	}
	reg.MustRegister("billing-export", samplejobs.NewImport(), jobs.WithBasePath("/billing/export/"),
		jobs.WithDescription("custom base path"))
	reg.MustRegister("bulkhead", full{})
	r := httpadapter.NewRouter(httpadapter.Deps{Registry: reg}, httpadapter.Options{BasePath: "/v2"})

	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/openapi.json", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("openapi.json: %d %s", rec.Code, rec.Body)
	}
	raw := rec.Body.Bytes()
	var doc struct {
		OpenAPI    string                               `json:"openapi"`
		Paths      map[string]map[string]map[string]any `json:"paths"`
		Components map[string]map[string]any            `json:"components"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi %q", doc.OpenAPI)
	}

	routed := map[string]bool{}
	err := chi.Walk(r, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		routed[strings.ToLower(method)+" "+route] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for path, item := range doc.Paths {
		for method, op := range item {
			documented[method+" "+path] = true
			if op["operationId"] == "" || op["responses"] == nil {
				t.Errorf("%s %s: incomplete operation %v", method, path, op)
			}
			if strings.Contains(path, "{executionId}") && !strings.Contains(mustJSON(t, op["parameters"]), "#/components/parameters/executionId") {
				t.Errorf("%s %s: executionId parameter missing", method, path)
			}
		}
	}
	for k := range routed {
		if !documented[k] {
			t.Errorf("routed but not documented: %s", k)
		}
	}
	for k := range documented {
		if !routed[k] {
			t.Errorf("documented but not routed: %s", k)
		}
	}
	want := []string{
		"post /v2/customer-import/start", "get /v2/customer-import/{executionId}/check",
		"get /v2/customer-import/{executionId}/collect", "get /v2/customer-import/{executionId}/result",
		"post /v2/customer-import/{executionId}/stop", "get /v2/customer-import/{executionId}/events",
		"post /v2/customer-validation/execute", "post /billing/export/start", "get /billing/export/{executionId}/events",
		"post /v2/bulkhead/execute", "get /health", "get /health/jobOrchestrator", "get /metrics", "get /openapi.json",
	}
	for _, k := range want {
		if !routed[k] {
			t.Errorf("missing route %s; have %v", k, keys(routed))
		}
	}

	// Status codes and bodies.
	start := doc.Paths["/v2/customer-import/start"]["post"]
	for _, code := range []string{"200", "400", "413", "415", "422", "429", "500", "503", "504"} {
		if _, ok := start["responses"].(map[string]any)[code]; !ok {
			t.Errorf("start lacks response %s", code)
		}
	}
	if !strings.Contains(mustJSON(t, start["requestBody"]), "#/components/schemas/JobStageRequest") {
		t.Error("start lacks the JobStageRequest body")
	}
	stop := mustJSON(t, doc.Paths["/v2/customer-import/{executionId}/stop"]["post"])
	if !strings.Contains(stop, `"reason"`) || !strings.Contains(stop, `"409"`) {
		t.Errorf("stop lacks reason or 409: %s", stop)
	}
	// A typed job publishes its parameter schema as its request body.
	exec := mustJSON(t, doc.Paths["/v2/customer-validation/execute"]["post"]["requestBody"])
	if !strings.Contains(exec, "#/components/schemas/CustomerValidationRequest") {
		t.Errorf("execute of a typed job lacks its own request schema: %s", exec)
	}
	params := mustJSON(t, doc.Components["schemas"]["CustomerValidationParameters"])
	for _, want := range []string{`"required":["customerId"]`, `"customerId":{"description":"The customer id to validate, e.g. CUST-000042","type":"string"}`, `"additionalProperties":false`} {
		if !strings.Contains(params, want) {
			t.Errorf("CustomerValidationParameters lacks %s: %s", want, params)
		}
	}
	// Every $ref resolves.
	var whole map[string]any
	_ = json.Unmarshal(raw, &whole)
	walkRefs(t, whole, whole)
}

func walkRefs(t *testing.T, root map[string]any, v any) {
	t.Helper()
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if k == "$ref" {
				ref, _ := val.(string)
				var cur any = root
				for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
					m, _ := cur.(map[string]any)
					cur = m[part]
				}
				if cur == nil {
					t.Errorf("dangling $ref %s", ref)
				}
				continue
			}
			walkRefs(t, root, val)
		}
	case []any:
		for _, val := range x {
			walkRefs(t, root, val)
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Two jobs on one base path are a set-up mistake, refused at once.
func TestDuplicateBasePathPanics(t *testing.T) {
	t.Parallel()
	reg := jobs.NewRegistry()
	reg.MustRegister("one", full{}, jobs.WithBasePath("/same"))
	reg.MustRegister("two", full{}, jobs.WithBasePath("/same"))
	defer func() {
		if p := recover(); p == nil || !strings.Contains(p.(string), "GET /same/{executionId}/audit is claimed by job one and job two") {
			t.Fatalf("panic %v", p)
		}
	}()
	httpadapter.NewRouter(httpadapter.Deps{Registry: reg}, httpadapter.Options{})
}

// The document declares how to authenticate: bearer and mutual TLS
// schemes, required at the top, lifted (security: []) on the open routes,
// with 401/403 where a route can answer them.
func TestOpenAPISecurity(t *testing.T) {
	t.Parallel()
	reg := jobs.NewRegistry()
	if err := samplejobs.Register(reg); err != nil {
		t.Fatal(err)
	}
	get := func(o httpadapter.Options) map[string]any {
		rec := httptest.NewRecorder()
		httpadapter.NewRouter(httpadapter.Deps{Registry: reg}, o).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/openapi.json", nil))
		var doc map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
		return doc
	}
	op := func(doc map[string]any, path, method string) map[string]any {
		return doc["paths"].(map[string]any)[path].(map[string]any)[method].(map[string]any)
	}
	doc := get(httpadapter.Options{})
	schemes := doc["components"].(map[string]any)["securitySchemes"].(map[string]any)
	if schemes["bearer"].(map[string]any)["scheme"] != "bearer" || schemes["mutualTLS"].(map[string]any)["type"] != "mutualTLS" {
		t.Fatalf("securitySchemes %v", schemes)
	}
	if len(doc["security"].([]any)) != 2 || len(doc["servers"].([]any)) != 1 {
		t.Fatalf("security %v servers %v", doc["security"], doc["servers"])
	}
	tests := []struct {
		path, method string
		open         bool
		codes        []string // answered
		notCodes     []string
	}{
		{"/health", "get", true, nil, []string{"401"}},
		{"/health/liveness", "get", true, nil, []string{"401"}},
		{"/metrics", "get", true, nil, []string{"401"}},
		{"/openapi.json", "get", true, nil, []string{"401"}},
		{"/health/jobOrchestrator", "get", false, []string{"401"}, []string{"403"}},
		{"/api/v1/customer-import/start", "post", false, []string{"401", "403", "415"}, nil},
		{"/api/v1/customer-import/{executionId}/check", "get", false, []string{"401", "403"}, []string{"415"}},
	}
	for _, tt := range tests {
		o := op(doc, tt.path, tt.method)
		sec, has := o["security"]
		if tt.open != (has && len(sec.([]any)) == 0) {
			t.Errorf("%s %s: security %v, open %v", tt.method, tt.path, sec, tt.open)
		}
		responses := o["responses"].(map[string]any)
		for _, c := range tt.codes {
			if responses[c] == nil {
				t.Errorf("%s %s lacks %s", tt.method, tt.path, c)
			}
		}
		for _, c := range tt.notCodes {
			if responses[c] != nil {
				t.Errorf("%s %s documents %s", tt.method, tt.path, c)
			}
		}
	}
	// A closed /metrics needs credentials in the document too.
	if _, has := op(get(httpadapter.Options{ProtectMetrics: true}), "/metrics", "get")["security"]; has {
		t.Error("protected /metrics still documented as open")
	}
}
