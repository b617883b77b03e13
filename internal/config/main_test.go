package config

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// loadString loads text as the config file, with env.
func loadString(t *testing.T, text string, env ...string) (Config, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "engine.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return Load(path, env)
}

func reflectValue(c *Config) reflect.Value { return reflect.ValueOf(c).Elem() }
