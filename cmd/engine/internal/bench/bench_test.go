package bench

import (
	"bytes"
	"context"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// The REST scenario runs its load generator as a separate process: in
	// tests, this very binary with "loadgen" as its first argument.
	// The bench starts processes of its own program: in tests, this very
	// binary, which plays `engine loadgen` and `engine bench --serve-engine`.
	if len(os.Args) > 1 {
		var err error
		switch {
		case os.Args[1] == "loadgen":
			err = Loadgen(context.Background(), os.Args[2:], os.Stdout, os.Stderr)
		case len(os.Args) == 4 && os.Args[1] == "bench" && os.Args[2] == "--serve-engine":
			err = ServeEngine(context.Background(), os.Args[3], os.Stdin, os.Stdout)
		default:
			goleak.VerifyTestMain(m)
			return
		}
		if err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(2)
		}
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

// Every scenario but memory runs and measures something. No timing is
// asserted: benchmarks are not tests.
func TestRunSmall(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute) // -race on a shared 2-core machine
	defer cancel()
	cfg := Config{Jobs: 200, Duration: 500 * time.Millisecond, Concurrency: 8, Settle: -1,
		Scenarios: []string{ScenarioBaseline, ScenarioSync, ScenarioBurndown, ScenarioWorker, ScenarioContinuous, ScenarioREST, ScenarioSaga},
		Self:      []string{os.Args[0]}, JSON: t.TempDir() + "/bench.json", Trace: t.TempDir() + "/trace.out",
		Peer: `echo downloading...; echo '{"peer":"fake","jobs":200,"jobs_per_sec":17198}'`}
	var out bytes.Buffer
	rep, err := Run(ctx, cfg, &out)
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + out.String())
	if p := rep.Peer; p == nil || p.Error != "" || p.Name != "fake" || len(p.JobsPerSec) != 2 || p.Mean() != 17198 {
		t.Errorf("peer: %+v, want fake's figure read twice (before and after the burn-down)", p)
	}
	if !strings.Contains(out.String(), "peer: fake, 200 jobs: 17,198 and 17,198 jobs/s") ||
		!strings.Contains(out.String(), "burn-down >= fake's in the same sitting") ||
		!strings.Contains(out.String(), "; worker burn-down ") {
		t.Errorf("the report does not set the peer beside the burn-down:\n%s", out.String())
	}
	if rep.Baseline.AsyncPublishOpsPerSec <= 0 || rep.Baseline.ConsumeOpsPerSec <= 0 || rep.Baseline.KVPutOpsPerSec <= 0 {
		t.Errorf("baseline not measured: %+v", rep.Baseline)
	}
	if bd := rep.result("burndown"); bd == nil || bd.RatioToRaw <= 0 || !strings.Contains(out.String(), "burn-down >= 0.9 of burndown-raw") {
		t.Errorf("the burndown row is not set beside burndown-raw: %+v\n%s", bd, out.String())
	}
	if raw := rep.result("burndown-raw"); raw != nil && (raw.PersistedOpsPerJob < 5 || raw.PersistedOpsPerJob >= 5.5) {
		// the command, the record, the audit entry and 2 events, as the
		// engine's (a redelivery may store another audit entry)
		t.Errorf("burndown-raw stored %.2f messages per job, want 5", raw.PersistedOpsPerJob)
	}
	want := []string{"sync", "sync-half-rate", "sync-raw", "sync-raw-at-half-rate", "burndown", "burndown-raw", "worker", "continuous", "rest", "rest-half-rate", "rest-raw", "rest-raw-at-half-rate", "saga"}
	for _, name := range want {
		r := rep.result(name)
		switch {
		case r == nil:
			t.Errorf("no result for %s", name)
		case name == "continuous" && (r.Error != "" || r.Errors != 0):
			// Ops counts what completed within Duration, which a loaded
			// machine may make zero; every published START must complete.
			t.Errorf("%s: %d not completed, error %q", name, r.Errors, r.Error)
		case name != "continuous" && (r.Ops <= 0 || r.Error != ""):
			t.Errorf("%s: ops %d, error %q", name, r.Ops, r.Error)
		case r.PersistedOpsPerJob <= 0:
			t.Errorf("%s: persisted ops per job not counted", name)
		}
	}
	if _, err := os.Stat(cfg.JSON); err != nil {
		t.Errorf("JSON report: %v", err)
	}
	if fi, err := os.Stat(cfg.Trace); err != nil || fi.Size() == 0 {
		t.Errorf("execution trace: %v", err)
	}
}

// --cluster 3: the baseline and the engine scenarios on an embedded 3-node
// cluster, every stream and bucket R3.
func TestRunCluster(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cfg := Config{Cluster: 3, Jobs: 100, Duration: 500 * time.Millisecond, Concurrency: 8, Settle: -1,
		Scenarios: []string{ScenarioBaseline, ScenarioSync, ScenarioBurndown}, Self: []string{os.Args[0]}}
	var out bytes.Buffer
	rep, err := Run(ctx, cfg, &out)
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + out.String())
	if !strings.Contains(rep.Settings.Server, "3-node cluster, R3") {
		t.Errorf("server %q does not say it is a cluster", rep.Settings.Server)
	}
	if rep.Baseline.AsyncPublishOpsPerSec <= 0 || rep.Baseline.KVPutOpsPerSec <= 0 {
		t.Errorf("baseline not measured: %+v", rep.Baseline)
	}
	for _, name := range []string{"sync", "burndown", "burndown-raw"} {
		if r := rep.result(name); r == nil || r.Ops <= 0 || r.Error != "" {
			t.Errorf("%s: %+v", name, r)
		}
	}
	if err := (Config{Cluster: 3, Scenarios: []string{ScenarioMemory}}).WithDefaults().Validate(); err == nil ||
		!strings.Contains(err.Error(), "--cluster") {
		t.Errorf("memory on a cluster: %v, want an error naming --cluster", err)
	}
	if d := (Config{Cluster: 3}).WithDefaults(); slices.Contains(d.Scenarios, ScenarioMemory) {
		t.Errorf("default scenarios on a cluster include memory: %v", d.Scenarios)
	}
}

// The memory scenario, small: its engine runs in a process of its own.
func TestMemorySmall(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := Run(ctx, Config{Scenarios: []string{ScenarioMemory}, MemoryJobs: 300, Settle: -1, Self: []string{os.Args[0]}}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	r := rep.result("memory")
	if r == nil || r.Ops != 300 || r.Error != "" {
		t.Fatalf("memory: %+v", r)
	}
	if _, err := os.Stat("/proc/self/status"); err == nil && r.EngineRSSMiB <= 0 {
		t.Errorf("engine process RSS not read: %+v", r)
	}
}

func TestConfigValidate(t *testing.T) {
	err := Config{Scenarios: []string{"nope"}, Jobs: -1, Duration: -1, Concurrency: -1, Payload: -1,
		Storage: "disk", Sync: "sometimes", MemoryJobs: -1}.Validate()
	for _, flag := range []string{"--scenarios", "--jobs", "--duration", "--concurrency", "--payload", "--storage", "--sync", "--memory-jobs"} {
		if err == nil || !bytes.Contains([]byte(err.Error()), []byte(flag)) {
			t.Errorf("Validate does not name %s: %v", flag, err)
		}
	}
	if err := (Config{}).WithDefaults().Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
}

func TestLoadgenFlags(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{}, "--url"},
		{[]string{"--url", "ftp://host/x"}, "--url"},
		{[]string{"--url", "nats://127.0.0.1:1", "--concurrency", "0"}, "--concurrency"},
		{[]string{"--url", "http://127.0.0.1:1", "--requests", "0"}, "--requests"},
		{[]string{"--url", "nats://127.0.0.1:1", "--rate", "-1"}, "--rate"},
	} {
		err := Loadgen(context.Background(), tc.args, io.Discard, io.Discard)
		if err == nil || !bytes.Contains([]byte(err.Error()), []byte(tc.want)) {
			t.Errorf("loadgen %v: error %v, want one naming %s", tc.args, err, tc.want)
		}
	}
}

// A pass's allocation and collections are this process's, counted between
// the two reads.
func TestProcessCounters(t *testing.T) {
	p0 := readProc()
	keep := make([][]byte, 0, 64)
	for range 64 {
		keep = append(keep, make([]byte, 16<<10))
	}
	runtime.GC()
	runtime.GC()
	for end := time.Now().Add(20 * time.Millisecond); time.Now().Before(end); { // some CPU to count
	}
	var r Result
	r.process(p0, len(keep))
	if r.CPUMicrosPerOp <= 0 {
		t.Errorf("CPUMicrosPerOp = %.1f, want the CPU the pass used", r.CPUMicrosPerOp)
	}
	if r.GCCycles < 2 {
		t.Errorf("GCCycles = %d, want at least the 2 forced", r.GCCycles)
	}
	if r.AllocKBPerOp < 16 {
		t.Errorf("AllocKBPerOp = %.1f, want at least 16 (64 ops of 16 KiB)", r.AllocKBPerOp)
	}
	runtime.KeepAlive(keep)
}

// A peer's figure is the last JSON line with jobs_per_sec in its output.
func TestParsePeer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		out     string
		want    float64
		wantErr string
	}{
		{out: "go: downloading x\n{\"peer\":\"river\",\"jobs\":20000,\"jobs_per_sec\":17198.05}\n", want: 17198.05},
		{out: "{\"jobs_per_sec\":1}\n{\"peer\":\"river\",\"jobs_per_sec\":2}\n", want: 2},
		{out: "{\"peer\":\"river\"}\n", wantErr: `no JSON line with "jobs_per_sec" (last line: {"peer":"river"})`},
		{out: "", wantErr: "no JSON line"},
	}
	for _, tc := range tests {
		got, err := parsePeer([]byte(tc.out))
		switch {
		case tc.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("parsePeer(%q) error %v, want one containing %q", tc.out, err, tc.wantErr)
			}
		case err != nil:
			t.Errorf("parsePeer(%q): %v", tc.out, err)
		case *got.JobsPerSec != tc.want:
			t.Errorf("parsePeer(%q) = %v, want %v", tc.out, *got.JobsPerSec, tc.want)
		}
	}
}
