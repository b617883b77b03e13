package main

import (
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/jetjobs/jetjobs/cmd/engine/internal/demo"
	"github.com/jetjobs/jetjobs/httpadapter"
	"github.com/jetjobs/jetjobs/httpadapter/auth"
	"github.com/jetjobs/jetjobs/jobs"
)

// apikeyCommand prints a new random API key and the entry of
// http.auth.api-keys-file that accepts it (only its SHA-256).
func apikeyCommand(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("apikey", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("name", "my-client", "the key's name (logged as the caller)")
	perms := fs.String("permissions", "read:*", "comma-separated permissions, verb:job (run|read|admin, job or *)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	list := strings.Split(*perms, ",")
	if _, err := auth.ParsePermissions(list); err != nil {
		return err
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	key := "jj_" + base64.RawURLEncoding.EncodeToString(b)
	quoted := make([]string, len(list))
	for i, p := range list {
		quoted[i] = fmt.Sprintf("%q", strings.TrimSpace(p))
	}
	// First line: the key alone, for scripts; then the file entry.
	_, err := fmt.Fprintf(stdout, "%s\n# its entry under keys: in http.auth.api-keys-file (the key itself is stored nowhere):\n"+
		"  - name: %s\n    sha256: %q\n    permissions: [%s]\n", key, *name, auth.HashKey(key), strings.Join(quoted, ", "))
	return err
}

// openapiCommand prints the REST adapter's OpenAPI document, with the demo
// jobs' routes when --demo is given.
func openapiCommand(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("openapi", flag.ContinueOnError)
	fs.SetOutput(stderr)
	withDemo := fs.Bool("demo", false, "include the demo jobs' routes")
	if err := fs.Parse(args); err != nil {
		return err
	}
	reg := jobs.NewRegistry()
	if *withDemo {
		if err := demo.Register(reg); err != nil {
			return err
		}
	}
	rec := httptest.NewRecorder()
	httpadapter.NewRouter(httpadapter.Deps{Registry: reg}, httpadapter.Options{}).
		ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/openapi.json", nil))
	if rec.Code != http.StatusOK {
		return fmt.Errorf("openapi: status %d", rec.Code)
	}
	_, err := stdout.Write(append(rec.Body.Bytes(), '\n'))
	return err
}
