package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/jetjobs/jetjobs/httpadapter/auth"
)

// engine apikey prints a key and an entry that accepts exactly that key.
func TestAPIKeyCommand(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"apikey", "--name", "crm-sync", "--permissions", "run:customer-import,read:customer-import"},
		&out, &errOut); err != nil {
		t.Fatal(err)
	}
	key, entry, _ := strings.Cut(out.String(), "\n")
	keys, err := auth.ParseAPIKeys(map[string][]byte{"out": []byte("keys:\n" + entry)})
	if err != nil || keys.Len() != 1 || !strings.HasPrefix(key, "jj_") {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if err := run(context.Background(), []string{"apikey", "--permissions", "write:*"}, &out, &errOut); err == nil {
		t.Fatal("a bad permission was accepted")
	}
}

// engine openapi prints the document.
func TestOpenAPICommand(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"openapi", "--demo"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil || doc.Paths["/api/v1/customer-import/start"] == nil {
		t.Fatalf("%v %.200s", err, out.String())
	}
}

// engine config masks inline API keys given in the environment.
func TestConfigMasksAPIKeys(t *testing.T) {
	t.Setenv("JETJOBS_HTTP_AUTH_API_KEYS", `{"keys":[{"name":"ci","sha256":"`+auth.HashKey("k")+`","permissions":["read:*"]}]}`)
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"config"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "api-keys: '****'") || strings.Contains(out.String(), auth.HashKey("k")) {
		t.Fatalf("config output:\n%s", out.String())
	}
}
