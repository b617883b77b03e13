package config

import (
	"strings"
	"testing"
	"time"
)

func TestValidateLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		mutate  func(*Config)
		wantKey string
		wantMsg string
	}{
		{"defaults", func(*Config) {}, "", ""},
		{"no bound at all", func(c *Config) { c.NATS.Limits = Limits{} }, "", ""},
		{"negative max-age", func(c *Config) { c.NATS.Limits.Events.MaxAge = -time.Hour }, "nats.limits.events.max-age", "must be >= 0"},
		{"tiny max-bytes", func(c *Config) { c.NATS.Limits.State.MaxBytes = 100 }, "nats.limits.state.max-bytes", "must be 0 (no bound) or >= 1024"},
		{"negative max-bytes", func(c *Config) { c.NATS.Limits.SagaTimers.MaxBytes = -1 }, "nats.limits.saga-timers.max-bytes", ">= 1024"},
		{"result objects", func(c *Config) { c.NATS.Limits.ResultObjects.MaxBytes = 1 }, "nats.limits.result-objects.max-bytes", ">= 1024"},
		{"commands age below the dedup window", func(c *Config) { c.NATS.Limits.Commands.MaxAge = time.Minute },
			"nats.limits.commands.max-age", ">= nats.duplicate-window"},
		{"negative execution retention", func(c *Config) { c.Orchestration.Persistence.ExecutionRetentionDays = -1 },
			"orchestration.persistence.execution-retention-days", "must be >= 0"},
		{"negative saga retention", func(c *Config) { c.Orchestration.Persistence.SagaRetentionDays = -1 },
			"orchestration.persistence.saga-retention-days", "must be >= 0"},
		{"retention 0 keeps forever", func(c *Config) { c.Orchestration.Persistence.ExecutionRetentionDays = 0 }, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := Default()
			tt.mutate(&c)
			err := c.Validate()
			if tt.wantKey == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantKey) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("Validate() = %v, want %s: ...%s", err, tt.wantKey, tt.wantMsg)
			}
		})
	}
}
