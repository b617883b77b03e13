package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/jetjobs/jetjobs/jobs"
)

// Output formats of --output (-o). Every command that prints takes the
// flag; docs/cli.md lists what each prints.
const (
	outputAuto  = ""      // the command's default (see outputFlag.resolve)
	outputText  = "text"  // aligned tables and plain lines for people ("table" is a synonym)
	outputJSON  = "json"  // one JSON document, or JSON lines for a stream
	outputTable = "table" // synonym of text, the name engine dlq always used
)

// outputFlag is --output / -o.
type outputFlag struct{ value string }

func (o *outputFlag) register(fs *flag.FlagSet) {
	fs.StringVar(&o.value, "output", outputAuto, "output format: text (tables, plain lines) or json")
	fs.StringVar(&o.value, "o", outputAuto, "shorthand for --output")
}

// check refuses an unknown format.
func (o *outputFlag) check() error {
	switch o.value {
	case outputAuto, outputText, outputJSON, outputTable:
		return nil
	}
	return fmt.Errorf("--output %q: want table or json (text is table)", o.value)
}

// json reports whether the command prints JSON. jsonWhenPiped is the
// default of the commands that printed JSON before --output existed (call,
// audit, events, saga): they keep doing so when stdout is not a terminal,
// so scripts reading them go on working, and print text on a terminal.
func (o *outputFlag) json(w io.Writer, jsonWhenPiped bool) bool {
	switch o.value {
	case outputJSON:
		return true
	case outputText, outputTable:
		return false
	}
	return jsonWhenPiped && !isTerminal(w)
}

// isTerminal reports whether w is a terminal: only an *os.File can be.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// useColour reports whether text for w may carry ANSI colours: on a
// terminal, unless NO_COLOR is set (https://no-color.org) or TERM=dumb.
func useColour(w io.Writer) bool {
	if _, off := os.LookupEnv("NO_COLOR"); off || os.Getenv("TERM") == "dumb" {
		return false
	}
	return isTerminal(w)
}

// ANSI colours: plain escape codes, enough for a status column (no
// dependency for eight colours).
const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiBlue   = "\x1b[34m"
	ansiCyan   = "\x1b[36m"
	ansiGrey   = "\x1b[90m"
)

// painter colours text when its writer allows it.
type painter struct{ on bool }

func newPainter(w io.Writer) painter { return painter{on: useColour(w)} }

func (p painter) paint(code, s string) string {
	if !p.on || code == "" || s == "" {
		return s
	}
	return code + s + ansiReset
}

// status colours an execution or saga status: green done, red failed,
// yellow stopped or timed out, cyan running, blue started.
func (p painter) status(s string) string {
	return p.paint(statusColour(s), s)
}

func statusColour(s string) string {
	switch strings.ToUpper(s) {
	case string(jobs.StatusCompleted), "SUCCESS":
		return ansiGreen
	case string(jobs.StatusFailed), "FAILURE", "COMPENSATION_FAILED":
		return ansiRed
	case string(jobs.StatusStopped), string(jobs.StatusTimedOut), "COMPENSATING", "COMPENSATED", "CANCELLED", "UNSUCCESSFUL", "TIMEOUT", "REJECTED", "INVALID":
		return ansiYellow
	case string(jobs.StatusRunning):
		return ansiCyan
	case string(jobs.StatusStarted), "PENDING":
		return ansiBlue
	}
	return ""
}

// table collects rows and writes them aligned on their visible width, so
// coloured cells (whose escape codes take bytes but no columns) line up;
// text/tabwriter counts the codes.
type table struct {
	p    painter
	rows [][]string
}

func newTable(p painter, header ...string) *table {
	t := &table{p: p}
	if len(header) > 0 {
		for i, h := range header {
			header[i] = p.paint(ansiBold, h)
		}
		t.rows = append(t.rows, header)
	}
	return t
}

func (t *table) row(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) write(w io.Writer) error {
	var widths []int
	for _, r := range t.rows {
		for i, c := range r {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], visibleWidth(c))
		}
	}
	var b strings.Builder
	for _, r := range t.rows {
		for i, c := range r {
			b.WriteString(c)
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-visibleWidth(c)+2))
			}
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// visibleWidth counts the runes of s outside ANSI escape sequences.
func visibleWidth(s string) int {
	n, esc := 0, false
	for _, r := range s {
		switch {
		case esc:
			esc = r != 'm'
		case r == '\x1b':
			esc = true
		default:
			n++
		}
	}
	return n
}

// writeJSON writes v as one indented JSON document.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// interleaved moves the flags of args before its other arguments, so that
// `engine call customer-import start --wait` reads like `engine call --wait
// customer-import start` (the flag package stops at the first non-flag).
// A flag that is not boolean takes the next argument as its value unless it
// is written --name=value; "--" ends the flags.
func interleaved(fs *flag.FlagSet, args []string) []string {
	var flags, rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			rest = append(rest, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			rest = append(rest, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		f := fs.Lookup(name)
		if f == nil {
			continue // the flag package reports it
		}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			continue
		}
		if i+1 < len(args) {
			flags = append(flags, args[i+1])
			i++
		}
	}
	if len(rest) > 0 {
		flags = append(flags, "--")
	}
	return append(flags, rest...)
}

// clientFlags is the flag set of a command that talks to an engine's NATS
// and prints: the connection flags (--config, --nats-url, --data-dir) and
// --output.
func clientFlags(name string, stderr io.Writer) (*flag.FlagSet, *common, *outputFlag) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	c, out := &common{}, &outputFlag{}
	c.register(fs, false)
	out.register(fs)
	return fs, c, out
}
