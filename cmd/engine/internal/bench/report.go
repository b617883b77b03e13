package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

// Report is the outcome of a run: where it ran, the raw JetStream baseline
// and one Result per scenario pass.
type Report struct {
	Machine   Machine   `json:"machine"`
	Settings  Settings  `json:"settings"`
	Baseline  Baseline  `json:"baseline"`
	Scenarios []Result  `json:"scenarios"`
	Peer      *Peer     `json:"peer,omitempty"`
	Targets   []Target  `json:"targets,omitempty"`
	Took      float64   `json:"tookSeconds"`
	Started   time.Time `json:"started"`
}

// Machine describes where the run happened.
type Machine struct {
	GOOS      string `json:"goos"`
	GOARCH    string `json:"goarch"`
	NumCPU    int    `json:"numCPU"`
	CPU       string `json:"cpu,omitempty"`
	GoVersion string `json:"goVersion"`
	Date      string `json:"date"`
	LoadAvg   string `json:"loadAvg,omitempty"` // 1, 5, 15 minutes, at the start: other work skews results
}

// Settings are the run's flags, as used.
type Settings struct {
	Server      string   `json:"server"` // "embedded" or the redacted URL
	Storage     string   `json:"storage"`
	Sync        string   `json:"sync"`
	Jobs        int      `json:"jobs"`
	Duration    float64  `json:"durationSeconds"`
	Concurrency int      `json:"concurrency"`
	Payload     int      `json:"payloadBytes"`
	Notes       []string `json:"notes,omitempty"`
}

// Baseline is raw JetStream on the same server, storage and concurrency: the
// bound of what the engine, which is built on it, can do.
type Baseline struct {
	Messages              int     `json:"messages"`
	MessageBytes          int     `json:"messageBytes"` // headers + body of one START command
	AsyncPublishOpsPerSec float64 `json:"asyncPublishOpsPerSec"`
	ConsumeOpsPerSec      float64 `json:"consumeOpsPerSec"`
	KVPutOpsPerSec        float64 `json:"kvPutOpsPerSec"`
}

// Result is one scenario pass. Latencies are in milliseconds.
type Result struct {
	Name       string  `json:"name"`
	Ops        int     `json:"ops"`
	Errors     int     `json:"errors"`
	Seconds    float64 `json:"seconds"`
	Throughput float64 `json:"throughput"` // ops per second
	P50        float64 `json:"p50ms"`
	P90        float64 `json:"p90ms"`
	P99        float64 `json:"p99ms"`
	// PersistedOpsPerJob is how many JetStream messages (stream messages and
	// KV writes) one operation stored, counted on the server.
	PersistedOpsPerJob float64 `json:"persistedOpsPerJob"`
	// RatioToBaseline is Throughput × PersistedOpsPerJob / the baseline's
	// async publish ops/s: the share of raw JetStream's write rate the
	// scenario achieves.
	RatioToBaseline float64 `json:"ratioToBaseline"`
	// RatioToRaw is the burndown row's Throughput / burndown-raw's: the
	// share of raw JetStream doing the same NATS work per job, without the
	// engine, that the engine achieves. The report's ratio column shows it
	// in place of RatioToBaseline when set.
	RatioToRaw float64 `json:"ratioToRaw,omitempty"`
	RSSMiB     float64 `json:"rssMiB"` // of this process (engine, embedded server and load), at the end
	// AllocKBPerOp is what this process allocated per operation (engine,
	// embedded server and in-process load; REST load is elsewhere).
	AllocKBPerOp float64 `json:"allocKBPerOp,omitempty"`
	// GCCycles is how many times this process's garbage collector ran
	// during the pass: the latency tail follows its marks
	// (docs/benchmarks.md).
	GCCycles uint64 `json:"gcCycles,omitempty"`
	// CPUMicrosPerOp is the CPU time (user + system, every thread) this
	// process spent per operation during the pass: unlike ops/s it hardly
	// moves when something else shares the machine, so it is the figure to
	// compare changes by on a busy machine.
	CPUMicrosPerOp float64 `json:"cpuMicrosPerOp,omitempty"`
	// EngineRSSMiB is the memory scenario's engine process, once every
	// execution has started; with EngineHoldsServer it includes the
	// embedded server. EnginePeakRSSMiB is its high-water mark, and
	// EngineSettledRSSMiB its figure after the idle wait.
	EngineRSSMiB        float64 `json:"engineRSSMiB,omitempty"`
	EnginePeakRSSMiB    float64 `json:"enginePeakRSSMiB,omitempty"`
	EngineSettledRSSMiB float64 `json:"engineSettledRSSMiB,omitempty"`
	EngineHoldsServer   bool    `json:"engineHoldsServer,omitempty"`
	Notes               string  `json:"notes,omitempty"`
	Error               string  `json:"error,omitempty"`
}

// Target is one of the goals, checked for information only.
type Target struct {
	What string `json:"what"`
	Got  string `json:"got"`
	Met  bool   `json:"met"`
}

func machine(now time.Time) Machine {
	return Machine{GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, NumCPU: runtime.NumCPU(), CPU: cpuModel(),
		GoVersion: runtime.Version(), Date: now.UTC().Format(time.RFC3339), LoadAvg: loadAvg()}
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return ""
}

// procCounters are this process's running totals of allocation and
// garbage collections, read before and after a pass.
type procCounters struct {
	allocBytes, gcCycles uint64
	cpu                  time.Duration // user + system, from getrusage
}

func readProc() procCounters {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}, {Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	return procCounters{allocBytes: s[0].Value.Uint64(), gcCycles: s[1].Value.Uint64(), cpu: processCPU()}
}

// processCPU is the CPU time this process has used so far; 0 where getrusage
// is not available.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// process sets AllocKBPerOp and GCCycles from the counters read at the
// start of the pass.
func (r *Result) process(since procCounters, ops int) {
	now := readProc()
	if ops > 0 {
		r.AllocKBPerOp = float64(now.allocBytes-since.allocBytes) / 1024 / float64(ops)
		r.CPUMicrosPerOp = float64(now.cpu-since.cpu) / float64(time.Microsecond) / float64(ops)
	}
	r.GCCycles = now.gcCycles - since.gcCycles
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// procStatusMiB reads a field of /proc/self/status (VmRSS, VmHWM) in MiB; 0
// where there is no /proc.
func procStatusMiB(field string) float64 { return statusMiB("/proc/self/status", field) }

func statusMiB(path, field string) float64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

func rssMiB() float64 { return procStatusMiB("VmRSS") }

// percentiles sorts lats and fills P50, P90, P99 (nearest rank).
func (r *Result) percentiles(lats []time.Duration) {
	if len(lats) == 0 {
		return
	}
	slices.Sort(lats)
	at := func(p float64) float64 {
		i := int(p*float64(len(lats))+0.999999) - 1
		i = min(max(i, 0), len(lats)-1)
		return float64(lats[i].Microseconds()) / 1000
	}
	r.P50, r.P90, r.P99 = at(0.50), at(0.90), at(0.99)
}

func (r *Result) rate(ops int, d time.Duration) {
	d = max(d, 0)
	r.Ops, r.Seconds = ops, d.Seconds()
	if d > 0 {
		r.Throughput = float64(ops) / d.Seconds()
	}
}

func (r *Result) note(format string, a ...any) {
	s := fmt.Sprintf(format, a...)
	if r.Notes != "" {
		r.Notes += "; "
	}
	r.Notes += s
}

// finish fills the ratio once the baseline is known.
func (rep *Report) finish() {
	for i := range rep.Scenarios {
		r := &rep.Scenarios[i]
		if b := rep.Baseline.AsyncPublishOpsPerSec; b > 0 && r.PersistedOpsPerJob > 0 {
			r.RatioToBaseline = r.Throughput * r.PersistedOpsPerJob / b
		}
	}
	bd, raw := rep.result(ScenarioBurndown), rep.result(resultBurndownRaw)
	if bd != nil && raw != nil && bd.Error == "" && raw.Error == "" && raw.Throughput > 0 {
		bd.RatioToRaw = bd.Throughput / raw.Throughput
		of := ""
		if bd.RatioToBaseline > 0 {
			of = fmt.Sprintf("; of the baseline / persisted ops per job: %.2f", bd.RatioToBaseline)
		}
		bd.note("ratio column: burndown / burndown-raw, %.2f%s", bd.RatioToRaw, of)
	}
	rep.Targets = targets(rep)
}

func (rep *Report) result(name string) *Result {
	for i := range rep.Scenarios {
		if rep.Scenarios[i].Name == name {
			return &rep.Scenarios[i]
		}
	}
	return nil
}

// collections says how often the engine's process collected during the
// pass, for a latency target's line.
func (r *Result) collections() string {
	if r.GCCycles == 0 {
		return ", no garbage collection in the engine's process"
	}
	return fmt.Sprintf(", %d garbage collections in the engine's process", r.GCCycles)
}

// targets checks the goals for the 2-core reference machine.
func targets(rep *Report) []Target {
	var out []Target
	add := func(name, what string, ok func(*Result) (string, bool)) {
		if r := rep.result(name); r != nil && r.Error == "" {
			got, met := ok(r)
			out = append(out, Target{What: what, Got: got, Met: met})
		}
	}
	add("burndown", "async no-op burn-down >= 10,000 jobs/s", func(r *Result) (string, bool) {
		return fmt.Sprintf("%.0f jobs/s", r.Throughput), r.Throughput >= 10000
	})
	if p := rep.Peer; p != nil && p.Error == "" && p.Mean() > 0 {
		add("burndown", fmt.Sprintf("async no-op burn-down >= %s's in the same sitting (%s jobs/s)", p.Name, num(p.Mean())),
			func(r *Result) (string, bool) {
				return fmt.Sprintf("%.0f jobs/s (%.2f of it)", r.Throughput, r.Throughput/p.Mean()), r.Throughput >= p.Mean()
			})
	}
	add("burndown", "async no-op burn-down >= 0.5 of baseline / persisted ops per job", func(r *Result) (string, bool) {
		return fmt.Sprintf("%.2f", r.RatioToBaseline), r.RatioToBaseline >= 0.5
	})
	if raw := rep.result(resultBurndownRaw); raw != nil && raw.Error == "" {
		add("burndown", "async no-op burn-down >= 0.9 of burndown-raw", func(r *Result) (string, bool) {
			return fmt.Sprintf("%.2f (%.0f of %.0f jobs/s; cpu %.0f of %.0f µs/op)", r.RatioToRaw, r.Throughput, raw.Throughput,
				r.CPUMicrosPerOp, raw.CPUMicrosPerOp), r.RatioToRaw >= 0.9
		})
	}
	add("sync", "sync EXECUTE over NATS >= 10,000 jobs/s", func(r *Result) (string, bool) {
		return fmt.Sprintf("%.0f jobs/s", r.Throughput), r.Throughput >= 10000
	})
	add("sync-half-rate", "sync EXECUTE p99 < 5 ms at half rate", func(r *Result) (string, bool) {
		got := fmt.Sprintf("%.2f ms at %.0f/s%s", r.P99, r.Throughput, r.collections())
		if raw := rep.result("sync-raw-at-half-rate"); raw != nil && raw.Error == "" {
			got += fmt.Sprintf(" (raw JetStream doing the same writes at that rate, no engine: p99 %.2f ms)", raw.P99)
		}
		return got, r.P99 < 5
	})
	add("rest", "REST execute >= 5,000 req/s", func(r *Result) (string, bool) {
		return fmt.Sprintf("%.0f req/s", r.Throughput), r.Throughput >= 5000
	})
	add("rest-half-rate", "REST execute p99 < 10 ms at half rate", func(r *Result) (string, bool) {
		got := fmt.Sprintf("%.2f ms at %.0f/s%s", r.P99, r.Throughput, r.collections())
		if raw := rep.result("rest-raw-at-half-rate"); raw != nil && raw.Error == "" {
			got += fmt.Sprintf(" (the same writes behind plain net/http, no engine, at that rate: p99 %.2f ms)", raw.P99)
		}
		return got, r.P99 < 10
	})
	out = append(out, againstRaw(rep)...)
	if m := rep.result("memory"); m != nil && m.Error == "" {
		out = append(out, memoryTarget(m))
	}
	return out
}

// againstRaw checks the sync and REST rows against their raw rows of the
// same run (issue 17): throughput at least a share of raw's, and the p99 at
// half rate at most twice raw's at that rate.
func againstRaw(rep *Report) []Target {
	var out []Target
	both := func(name, raw string) (r, w *Result) {
		r, w = rep.result(name), rep.result(raw)
		if r == nil || w == nil || r.Error != "" || w.Error != "" {
			return nil, nil
		}
		return r, w
	}
	for _, c := range []struct {
		name, raw, what string
		share           float64
	}{
		{"sync", "sync-raw", "sync EXECUTE >= 0.85 of sync-raw", 0.85},
		{"rest", "rest-raw", "REST execute >= 0.9 of rest-raw", 0.9},
	} {
		if r, w := both(c.name, c.raw); r != nil && w.Throughput > 0 {
			q := r.Throughput / w.Throughput
			out = append(out, Target{What: c.what, Met: q >= c.share, Got: fmt.Sprintf("%.2f (%.0f of %.0f/s; cpu %.0f of %.0f µs/op)",
				q, r.Throughput, w.Throughput, r.CPUMicrosPerOp, w.CPUMicrosPerOp)})
		}
	}
	for _, c := range []struct{ name, raw, what string }{
		{"sync-half-rate", "sync-raw-at-half-rate", "sync EXECUTE p99 at half rate <= 2x raw's at that rate"},
		{"rest-half-rate", "rest-raw-at-half-rate", "REST execute p99 at half rate <= 2x raw's at that rate"},
	} {
		if r, w := both(c.name, c.raw); r != nil && w.P99 > 0 {
			out = append(out, Target{What: c.what, Met: r.P99 <= 2*w.P99,
				Got: fmt.Sprintf("%.2f ms against %.2f ms (%.1fx)%s", r.P99, w.P99, r.P99/w.P99, r.collections())})
		}
	}
	return out
}

// memoryTarget checks the memory scenario against issue 17's bounds: with
// the embedded server, a peak under 256 MiB while 100,000 executions start
// and under 150 MiB settled; with NATS in its own process, the engine alone
// under 64 MiB.
func memoryTarget(r *Result) Target {
	got := fmt.Sprintf("peak %.0f MiB, %.0f MiB once all %d had started, %.0f MiB settled", r.EnginePeakRSSMiB,
		r.EngineRSSMiB, r.Ops, r.EngineSettledRSSMiB)
	if !r.EngineHoldsServer {
		return Target{What: "engine alone (NATS in its own process): peak resident memory < 64 MiB starting 100,000 executions",
			Got: got, Met: r.Ops >= 100000 && r.EnginePeakRSSMiB < 64}
	}
	return Target{What: "engine + embedded server: peak resident memory < 256 MiB starting 100,000 executions, < 150 MiB settled",
		Got: got, Met: r.Ops >= 100000 && r.EnginePeakRSSMiB < 256 && r.EngineSettledRSSMiB < 150}
}

// Print writes the report as aligned tables.
func (rep *Report) Print(w io.Writer) {
	m, s := rep.Machine, rep.Settings
	fmt.Fprintf(w, "jetjobs bench: %s/%s, %d CPUs (%s), %s, %s, load average %s\n", m.GOOS, m.GOARCH, m.NumCPU, m.CPU,
		m.GoVersion, m.Date, m.LoadAvg)
	fmt.Fprintf(w, "server %s, %s storage, sync %s, %d jobs, %s continuous, concurrency %d, payload %d B\n\n",
		s.Server, s.Storage, s.Sync, s.Jobs, time.Duration(s.Duration*float64(time.Second)), s.Concurrency, s.Payload)
	for _, n := range s.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	if len(s.Notes) > 0 {
		fmt.Fprintln(w)
	}
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	b := rep.Baseline
	if b.Messages > 0 {
		fmt.Fprintf(tw, "baseline (raw JetStream, %d msgs of %d B)\tops/s\n", b.Messages, b.MessageBytes)
		fmt.Fprintf(tw, "  async publish\t%s\n", num(b.AsyncPublishOpsPerSec))
		fmt.Fprintf(tw, "  consume, explicit ack\t%s\n", num(b.ConsumeOpsPerSec))
		fmt.Fprintf(tw, "  kv put, %d goroutines\t%s\n\n", s.Concurrency, num(b.KVPutOpsPerSec))
		_ = tw.Flush()
	}
	fmt.Fprintln(tw, "scenario\tops\terrors\tseconds\tops/s\tp50 ms\tp90 ms\tp99 ms\tstored/op\tratio\tcpu µs/op\talloc KB/op\tGCs\tRSS MiB\t")
	for _, r := range rep.Scenarios {
		if r.Error != "" && r.Ops == 0 {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t\n", r.Name)
			continue
		}
		cpu, alloc, gcs := "-", "-", "-" // not measured (the memory scenario's engine is another process)
		if r.AllocKBPerOp > 0 {
			cpu, alloc, gcs = fmt.Sprintf("%.0f", r.CPUMicrosPerOp), fmt.Sprintf("%.1f", r.AllocKBPerOp), strconv.FormatUint(r.GCCycles, 10)
		}
		ratio := r.RatioToBaseline
		if r.RatioToRaw > 0 { // burndown beside burndown-raw
			ratio = r.RatioToRaw
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.2f\t%s\t%.2f\t%.2f\t%.2f\t%.1f\t%.2f\t%s\t%s\t%s\t%.0f\t\n", r.Name, r.Ops, r.Errors,
			r.Seconds, num(r.Throughput), r.P50, r.P90, r.P99, r.PersistedOpsPerJob, ratio, cpu, alloc, gcs, r.RSSMiB)
	}
	_ = tw.Flush()
	fmt.Fprintln(w)
	for _, r := range rep.Scenarios {
		if r.Notes != "" {
			fmt.Fprintf(w, "%s: %s\n", r.Name, r.Notes)
		}
		if r.Error != "" {
			fmt.Fprintf(w, "%s: ERROR %s\n", r.Name, r.Error)
		}
	}
	rep.printPeer(w)
	if len(rep.Targets) > 0 {
		fmt.Fprintln(w, "\ntargets (2-core reference machine; information, not a test):")
		for _, t := range rep.Targets {
			mark := "missed"
			if t.Met {
				mark = "met"
			}
			fmt.Fprintf(w, "  %-6s %s: %s\n", mark, t.What, t.Got)
		}
	}
	fmt.Fprintf(w, "\ntook %.0fs\n", rep.Took)
}

// WriteJSON writes the report, indented, to path.
func (rep *Report) WriteJSON(path string) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// num formats a rate with thousands separators.
func num(f float64) string {
	s := strconv.FormatInt(int64(f+0.5), 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
