package main

import (
	"bytes"
	"context"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestFormatVersion(t *testing.T) {
	t.Parallel()
	settings := func(kv ...string) []debug.BuildSetting {
		var out []debug.BuildSetting
		for i := 0; i+1 < len(kv); i += 2 {
			out = append(out, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return out
	}
	mod := debug.Module{Path: "github.com/jetjobs/jetjobs", Version: "v0.1.0"}
	tests := []struct {
		name    string
		info    *debug.BuildInfo
		ok      bool
		want    []string // lines that must appear
		wantNot []string
	}{
		{"release build from git", &debug.BuildInfo{GoVersion: "go1.26.0", Main: mod, Settings: settings(
			"vcs.revision", "1e8a37f0c0ffee", "vcs.modified", "false", "vcs.time", "2026-12-04T14:00:00Z",
			"GOOS", "linux", "GOARCH", "amd64")},
			true,
			[]string{"jetjobs engine v0.1.0\n", "  module:   github.com/jetjobs/jetjobs\n", "  commit:   1e8a37f0c0ffee\n",
				"  time:     2026-12-04T14:00:00Z\n", "  go:       go1.26.0\n", "  platform: linux/amd64\n"},
			[]string{"dirty"}},
		{"dirty tree", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Path: mod.Path, Version: "(devel)"},
			Settings: settings("vcs.revision", "abc", "vcs.modified", "true")},
			true,
			[]string{"jetjobs engine (devel)\n", "  commit:   abc (dirty)\n"},
			[]string{"time:", "platform:"}},
		{"built without VCS stamping", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Path: mod.Path}},
			true,
			[]string{"jetjobs engine (devel)\n", "  commit:   unknown\n"},
			[]string{"dirty"}},
		{"no build information", nil, false,
			[]string{"no build information"},
			[]string{"commit"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := formatVersion(tt.info, tt.ok)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("missing %q in\n%s", w, got)
				}
			}
			for _, w := range tt.wantNot {
				if strings.Contains(got, w) {
					t.Errorf("unexpected %q in\n%s", w, got)
				}
			}
		})
	}
}

// `engine version` as a user types it: this test binary's own build
// information, whatever the toolchain stamped.
func TestVersionCommand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args    []string
		want    string
		wantErr string
	}{
		{[]string{"version"}, "  go:       " + runtime.Version() + "\n", ""},
		{[]string{"version", "extra"}, "", `version takes no arguments, got "extra"`},
		{[]string{"version", "--bogus"}, "", "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			var out, errOut bytes.Buffer
			err := run(context.Background(), tt.args, &out, &errOut)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(out.String(), "jetjobs engine ") || !strings.Contains(out.String(), tt.want) {
				t.Fatalf("output\n%s\nwant %q", out.String(), tt.want)
			}
		})
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"help"}, &out, &bytes.Buffer{}); err != nil ||
		!strings.Contains(out.String(), "  version  ") {
		t.Fatalf("usage does not list version: %v\n%s", err, out.String())
	}
}
