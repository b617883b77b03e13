package jetjobs_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/jetjobs/jetjobs/console"
)

// The engine's /openapi.json lists every route its router serves, the saga
// routes mounted by the saga component included, and nothing it does not
// serve.
func TestOpenAPIListsSagaRoutes(t *testing.T) {
	t.Parallel()
	h := demoSagaEngine(t)
	srv := serve(t, h)
	resp, err := srv.Client().Get(srv.URL + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string         `json:"operationId"`
			Tags        []string       `json:"tags"`
			Responses   map[string]any `json:"responses"`
			Parameters  []struct {
				Name string `json:"name"`
				In   string `json:"in"`
			} `json:"parameters"`
		} `json:"paths"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(raw, &doc) != nil {
		t.Fatalf("openapi.json: %d %s", resp.StatusCode, raw)
	}
	documented := map[string]bool{}
	for path, item := range doc.Paths {
		for method, op := range item {
			documented[method+" "+path] = true
			if op.OperationID == "" || len(op.Responses) == 0 {
				t.Errorf("%s %s: incomplete operation", method, path)
			}
			for _, p := range []string{"saga", "sagaId"} {
				if !strings.Contains(path, "{"+p+"}") {
					continue
				}
				found := false
				for _, param := range op.Parameters {
					found = found || (param.Name == p && param.In == "path")
				}
				if !found {
					t.Errorf("%s %s: path parameter %s not described", method, path, p)
				}
			}
		}
	}
	routed := map[string]bool{}
	err = chi.Walk(h.Engine.Router(), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if len(route) > 1 {
			route = strings.TrimRight(route, "/") // a mounted router's "/" is walked as "<prefix>/"
		}
		if route == console.Prefix || strings.HasPrefix(route, console.Prefix+"/") {
			return nil // the web console's HTML pages are not part of the API (docs/console.md)
		}
		routed[strings.ToLower(method)+" "+route] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for k := range routed {
		if !documented[k] {
			t.Errorf("routed but not in openapi.json: %s", k)
		}
	}
	for k := range documented {
		if !routed[k] {
			t.Errorf("in openapi.json but not routed: %s", k)
		}
	}
	for _, k := range []string{
		"get /api/v1/sagas", "post /api/v1/sagas/{saga}/start", "get /api/v1/sagas/{saga}/{sagaId}",
		"post /api/v1/sagas/{saga}/{sagaId}/resume", "post /api/v1/sagas/{saga}/{sagaId}/cancel",
		"get /health/circuitBreakers",
	} {
		if !documented[k] {
			t.Errorf("openapi.json lacks %s", k)
		}
	}
	if tags := doc.Paths["/api/v1/sagas/{saga}/start"]["post"].Tags; len(tags) != 1 || tags[0] != "sagas" {
		t.Errorf("saga start tags %v", tags)
	}
}
