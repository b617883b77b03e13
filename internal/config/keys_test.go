package config

import (
	"slices"
	"strings"
	"testing"
)

// Keys names every key Load takes from the environment, and only those.
func TestKeys(t *testing.T) {
	t.Parallel()
	keys := Keys()
	tests := []struct {
		key     string
		want    bool
		wantErr string // what Load says of the key's variable
	}{
		{"nats.password", true, ""},
		{"orchestration.resiliency.stage-timeout", true, ""},
		{"http.addr", true, ""},
		{"jobs.customer-import.base-path", false, "matches no key"},
		{"nats", false, "matches no key"},
		{"nats.bogus", false, "matches no key"},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			t.Parallel()
			if got := slices.Contains(keys, tt.key); got != tt.want {
				t.Fatalf("Keys() has %q: %v, want %v", tt.key, got, tt.want)
			}
			// A value every string key takes; non-string keys fail on it, but not with "matches no key".
			_, err := Load("", []string{EnvName(tt.key) + "=x"})
			unknown := err != nil && strings.Contains(err.Error(), "matches no key")
			if unknown != (tt.wantErr != "") {
				t.Fatalf("Load with %s: %v", EnvName(tt.key), err)
			}
		})
	}
	if len(keys) != len(leaves()) || !slices.Equal(keys, Keys()) {
		t.Fatalf("Keys() has %d keys, leaves %d, or is not stable", len(keys), len(leaves()))
	}
}
