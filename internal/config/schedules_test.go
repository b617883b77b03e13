package config

import (
	"strings"
	"testing"
)

func TestScheduleConfig(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		entries string
		wantErr string // "" = valid
	}{
		{"cron in a zone", `{name: nightly, cron: "0 0 2 * * *", time-zone: Europe/Paris, parameters: {a: 1}}`, ""},
		{"every", `{name: poll, every: 15m}`, ""},
		{"at", `{name: once, at: "2030-01-01T00:00:00Z"}`, ""},
		{"bad cron", `{name: nightly, cron: "0 0 25 * * *"}`,
			`jobs.nightly-export.schedules[0].cron: invalid cron expression "0 0 25 * * *"`},
		{"five fields", `{name: nightly, cron: "0 2 * * *"}`,
			`jobs.nightly-export.schedules[0].cron: invalid cron expression "0 2 * * *": want 6 fields`},
		{"zone on every", `{name: poll, every: 1h, time-zone: Europe/Paris}`, "jobs.nightly-export.schedules[0].time-zone: a time zone applies to cron only"},
		{"bad zone", `{name: nightly, cron: "@daily", time-zone: Nowhere/Town}`, `jobs.nightly-export.schedules[0].time-zone: unknown time zone "Nowhere/Town"`},
		{"no pattern", `{name: nightly}`, "jobs.nightly-export.schedules[0].cron: exactly one of cron, every or at"},
		{"no name", `{every: 1h}`, "jobs.nightly-export.schedules[0].name: must not be empty"},
		{"unknown key", `{name: x, every: 1h, when: now}`, `unknown key "jobs.nightly-export.schedules[0].when"`},
		{"duplicate", `{name: x, every: 1h}, {name: x, every: 2h}`, `jobs.nightly-export.schedules[1].name: "x" is also the name of schedules[0]`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := loadString(t, "jobs:\n  nightly-export:\n    schedules: ["+c.entries+"]\n")
			if c.wantErr == "" {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("Load error = %v, want it to contain %q", err, c.wantErr)
			}
		})
	}
}

// engine config masks the sensitive parameters of schedules, and only in
// its copy.
func TestScheduleConfigMasked(t *testing.T) {
	t.Parallel()
	cfg, err := loadString(t, "jobs:\n  export:\n    schedules: [{name: n, every: 1h, parameters: {password: hunter2, mode: full}}]\n")
	if err != nil {
		t.Fatal(err)
	}
	out, err := cfg.Masked().YAML()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "hunter2") || !strings.Contains(string(out), "mode: full") {
		t.Fatalf("engine config shows:\n%s", out)
	}
	if cfg.Jobs["export"].Schedules[0].Parameters["password"] != "hunter2" {
		t.Fatal("Masked changed the configuration itself")
	}
}
