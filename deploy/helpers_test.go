// Package deploy_test checks the deployment files: the NATS configurations
// parse with the server's own parser and enforce authentication, the
// compose and Kubernetes files set only known configuration keys, run the
// engine as non-root with a read-only root filesystem and memory limits that
// match GOMEMLIMIT, publish ports on loopback only, and the engine
// configurations they carry load.
package deploy_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/jetjobs/jetjobs/internal/config"
)

// Fake secrets, in the shape the READMEs tell operators to make them
// (openssl rand -hex 32).
var fakeSecrets = map[string]string{
	"NATS_ENGINE_PASSWORD": "3f1c9a7e5b2d4f608e1a3c5b7d9f0e2a4c6b8d0f1e3a5c7b9d2f4e6a8c0b1d3f",
	"NATS_SYS_PASSWORD":    "a94b1c2d3e4f5061728394a5b6c7d8e9f0a1b2c3d4e5f60718293a4b5c6d7e8f",
	"NATS_ROUTE_PASSWORD":  "c0ffee0123456789abcdef0123456789abcdef0123456789abcdef0123456789",
}

// knownEnv reports whether name is a JETJOBS_ variable the engine accepts.
func knownEnv(name string) bool {
	if name == config.EnvConfigFile || name == config.EnvSagasFile {
		return true
	}
	for _, k := range config.Keys() {
		if config.EnvName(k) == name {
			return true
		}
	}
	return false
}

// checkEnvKnown fails for every JETJOBS_ variable in env that no key has.
func checkEnvKnown(t *testing.T, where string, env map[string]string) {
	t.Helper()
	for name := range env {
		if strings.HasPrefix(name, "JETJOBS_") && !knownEnv(name) {
			t.Errorf("%s: %s is not a configuration key (internal/config)", where, name)
		}
	}
}

// loadEngineConfig loads an engine configuration file's text with env the
// way the engine does.
func loadEngineConfig(t *testing.T, text []byte, env map[string]string) config.Config {
	t.Helper()
	path := filepath.Join(t.TempDir(), "engine.yaml")
	if err := os.WriteFile(path, text, 0o600); err != nil {
		t.Fatal(err)
	}
	var list []string
	for k, v := range env {
		if strings.HasPrefix(k, "JETJOBS_") {
			list = append(list, k+"="+v)
		}
	}
	cfg, err := config.Load(path, list)
	if err != nil {
		t.Fatalf("engine configuration does not load: %v", err)
	}
	return cfg
}

var interpolation = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?[?-][^}]*)?\}`)

// interpolate replaces ${NAME}, ${NAME:?message} and ${NAME:-default} as
// docker compose does, from vars; a name vars lacks is an error.
func interpolate(t *testing.T, text string, vars map[string]string) string {
	t.Helper()
	return interpolation.ReplaceAllStringFunc(text, func(m string) string {
		name := interpolation.FindStringSubmatch(m)[1]
		v, ok := vars[name]
		if !ok {
			t.Errorf("compose file uses ${%s}, which the deploy README does not ask for", name)
		}
		return v
	})
}

var (
	dockerMem = regexp.MustCompile(`^(\d+)([bkmg]?)$`)
	k8sMem    = regexp.MustCompile(`^(\d+)(Ki|Mi|Gi)?$`)
	goMem     = regexp.MustCompile(`^(\d+)(B|KiB|MiB|GiB)?$`)
)

// memBytes reads a memory size in the syntax of docker compose ("512M",
// powers of 1024), Kubernetes ("512Mi") or GOMEMLIMIT ("400MiB").
func memBytes(syntax, s string) (int64, error) {
	re, units := goMem, map[string]int64{"": 1, "B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}
	switch syntax {
	case "docker":
		s = strings.ToLower(s)
		re, units = dockerMem, map[string]int64{"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
	case "k8s":
		re, units = k8sMem, map[string]int64{"": 1, "Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30}
	}
	m := re.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("%q is not a %s memory size", s, syntax)
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	return n * units[m[2]], err
}

// checkMemoryLimit wants GOMEMLIMIT at 70-90% of the container's limit: the
// Go heap's soft limit must leave room for stacks, the runtime and spikes,
// yet use most of the memory (docs/operations.md, "Memory").
func checkMemoryLimit(t *testing.T, where, gomemlimit, limit, limitSyntax string) {
	t.Helper()
	soft, err := memBytes("go", gomemlimit)
	if err != nil {
		t.Errorf("%s: GOMEMLIMIT: %v", where, err)
		return
	}
	hard, err := memBytes(limitSyntax, limit)
	if err != nil {
		t.Errorf("%s: memory limit: %v", where, err)
		return
	}
	if r := float64(soft) / float64(hard); r < 0.7 || r > 0.9 {
		t.Errorf("%s: GOMEMLIMIT %s is %.0f%% of the memory limit %s, want 70-90%%", where, gomemlimit, r*100, limit)
	}
}

// Generic YAML accessors: the files are decoded into map[string]any.

func m(v any) map[string]any {
	mm, _ := v.(map[string]any)
	return mm
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

func str(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

// dig follows keys through nested mappings.
func dig(v any, keys ...string) any {
	for _, k := range keys {
		v = m(v)[k]
	}
	return v
}

func strs(v any) []string {
	var out []string
	for _, e := range list(v) {
		out = append(out, str(e))
	}
	return out
}
