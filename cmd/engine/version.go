package main

import (
	"flag"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
)

// versionCommand prints what the binary was built from: `engine version`.
func versionCommand(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var out outputFlag
	out.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := out.check(); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("version takes no arguments, got %q", fs.Arg(0))
	}
	info, ok := debug.ReadBuildInfo()
	if out.json(stdout, false) {
		return writeJSON(stdout, versionInfo(info, ok))
	}
	_, err := io.WriteString(stdout, formatVersion(info, ok))
	return err
}

// buildInfo is engine version --output json.
type buildInfo struct {
	Version  string `json:"version"`
	Module   string `json:"module"`
	Commit   string `json:"commit"`
	Dirty    bool   `json:"dirty"`
	Time     string `json:"time,omitempty"`
	Go       string `json:"go"`
	Platform string `json:"platform,omitempty"`
}

func versionInfo(info *debug.BuildInfo, ok bool) buildInfo {
	if !ok || info == nil {
		return buildInfo{Version: "unknown", Commit: "unknown"}
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	b := buildInfo{Version: firstOf(info.Main.Version, "(devel)"), Module: info.Main.Path,
		Commit: firstOf(settings["vcs.revision"], "unknown"), Dirty: settings["vcs.modified"] == "true",
		Time: settings["vcs.time"], Go: info.GoVersion}
	if settings["GOOS"] != "" && settings["GOARCH"] != "" {
		b.Platform = settings["GOOS"] + "/" + settings["GOARCH"]
	}
	return b
}

// formatVersion renders the build information the Go toolchain stamps into
// every binary: the module version ("(devel)" for a build from a source
// tree, v1.2.3 for `go install ...@v1.2.3`), and when built inside a git
// checkout the commit, its time and whether the tree had uncommitted
// changes. Nothing needs -ldflags; a binary built without VCS information
// (go build -buildvcs=false, or outside git) says "commit unknown".
func formatVersion(info *debug.BuildInfo, ok bool) string {
	if !ok || info == nil {
		return "jetjobs engine: no build information in this binary\n"
	}
	version := info.Main.Version
	if version == "" {
		version = "(devel)"
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	commit := settings["vcs.revision"]
	if commit == "" {
		commit = "unknown"
	}
	if settings["vcs.modified"] == "true" {
		commit += " (dirty)"
	}
	var b strings.Builder
	line := func(label, value string) { fmt.Fprintf(&b, "  %-9s %s\n", label+":", value) }
	fmt.Fprintf(&b, "jetjobs engine %s\n", version)
	line("module", orUnknown(info.Main.Path))
	line("commit", commit)
	if t := settings["vcs.time"]; t != "" {
		line("time", t)
	}
	line("go", orUnknown(info.GoVersion))
	if goos, goarch := settings["GOOS"], settings["GOARCH"]; goos != "" && goarch != "" {
		line("platform", goos+"/"+goarch)
	}
	return b.String()
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
