// Package bench measures jetjobs on the machine it runs on: `engine bench`
// (and `make bench`). Each scenario prints its throughput and latency
// percentiles next to the raw JetStream baseline measured in the same run,
// on the same server, storage and concurrency, so that results compare
// across machines. Benchmarks are not tests: nothing here asserts a timing.
//
// The engine runs in this process, on one NATS server for the whole run
// (embedded in a temporary directory unless Config.NATSURL is set); the REST
// load comes from a separate process (`engine loadgen`).
package bench

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/jetjobs/jetjobs/bus"
)

// The scenarios, in the order they run.
const (
	ScenarioBaseline   = "baseline"   // raw JetStream: async publish, consume, KV put
	ScenarioSync       = "sync"       // sync EXECUTE over NATS, full speed then half rate
	ScenarioBurndown   = "burndown"   // N STARTs queued, then the engine drains them
	ScenarioWorker     = "worker"     // burndown of a no-op worker job (Work runs in the engine)
	ScenarioContinuous = "continuous" // STARTs published while the engine runs, for Duration
	ScenarioREST       = "rest"       // POST /execute from `engine loadgen`, full speed then half rate
	ScenarioSaga       = "saga"       // three-step sagas of no-op async jobs
	ScenarioMemory     = "memory"     // RSS with MemoryJobs executions in flight
)

// Scenarios lists every scenario in run order.
var Scenarios = []string{ScenarioBaseline, ScenarioSync, ScenarioBurndown, ScenarioWorker, ScenarioContinuous,
	ScenarioREST, ScenarioSaga, ScenarioMemory}

// Config is one bench run; zero values take the defaults in comments.
type Config struct {
	Scenarios    []string      // all (Scenarios)
	Jobs         int           // 20000: jobs (or requests) per fixed-count scenario
	Duration     time.Duration // 10s: the continuous scenario; also caps each half-rate pass
	Concurrency  int           // 64: client workers (NATS calls, HTTP connections, KV putters)
	Payload      int           // 128: bytes of JSON parameters per job
	Storage      string        // file: or memory (the baseline's streams; the engine's stay file)
	NATSURL      string        // "": an embedded server in a temporary directory, removed after
	Sync         string        // 1s: the embedded server's fsync setting (nats.sync), "always" or a duration
	JSON         string        // "": also write the report as JSON to this path
	HTTPAddr     string        // 127.0.0.1:0: the REST adapter's listen address
	MemoryJobs   int           // 100000: executions held in flight by the memory scenario
	MemorySettle time.Duration // 20s: how long the memory scenario waits idle before its second reading (< 0: none)
	Settle       time.Duration // 11s: with an external server, pause between scenarios for its caches of the last one to expire (< 0: none); an embedded one is replaced instead
	CPUProfile   string        // "": write a CPU profile of the burn-down drain here, burndown-raw's in <path>.raw, worker's in <path>.worker (without either burn-down: of the whole run)
	Trace        string        // "": write an execution trace of this process for the whole run here
	MemProfile   string        // "": write a heap profile here (memory scenario: with the executions held; else at the end)
	Progress     io.Writer     // nil: no progress lines (engine bench: stderr)
	// EngineConfig is a YAML configuration file for the engines the bench
	// starts (the soak's retention keys); "": the defaults.
	EngineConfig string
	// Self is the command that runs this program again, for the processes
	// the bench starts: `<Self> loadgen ...` (the REST load) and `<Self>
	// bench --serve-engine <url>` (the memory scenario's engine). Default:
	// this executable.
	Self []string
	// Cluster is the number of nodes of the cluster the run measures, and
	// the replicas of every stream and bucket (the engine's nats.replicas,
	// the baseline's); 0: one server, R1. Without NATSURL an embedded
	// cluster of that many nodes is started (internal/natscluster) and the
	// engine connects to its first node; with NATSURL that cluster is used.
	// The memory scenario does not run on a cluster.
	Cluster int
	// Peer is a shell command that runs another queue's no-op burn-down and
	// prints a JSON line with "jobs_per_sec" (e.g. River's,
	// docs/benchmarks.md); it runs just before and just after the burndown
	// scenario and the report sets its figures beside jetjobs'. "": none.
	Peer string
}

// WithDefaults fills the zero fields.
func (c Config) WithDefaults() Config {
	if len(c.Scenarios) == 0 {
		c.Scenarios = slices.Clone(Scenarios)
		if c.Cluster > 0 {
			c.Scenarios = slices.DeleteFunc(c.Scenarios, func(s string) bool { return s == ScenarioMemory })
		}
	}
	if c.Jobs == 0 {
		c.Jobs = 20000
	}
	if c.Duration == 0 {
		c.Duration = 10 * time.Second
	}
	if c.Concurrency == 0 {
		c.Concurrency = 64
	}
	if c.Payload == 0 {
		c.Payload = 128
	}
	if c.Storage == "" {
		c.Storage = "file"
	}
	if c.Sync == "" {
		c.Sync = "1s"
	}
	if c.HTTPAddr == "" {
		c.HTTPAddr = "127.0.0.1:0"
	}
	if c.Settle == 0 {
		c.Settle = 11 * time.Second
	}
	if c.MemorySettle == 0 {
		c.MemorySettle = 20 * time.Second
	}
	if c.MemoryJobs == 0 {
		c.MemoryJobs = 100000
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
	if len(c.Self) == 0 {
		exe, err := os.Executable()
		if err != nil {
			exe = os.Args[0]
		}
		c.Self = []string{exe}
	}
	return c
}

// Validate names every bad setting by its flag.
func (c Config) Validate() error {
	var errs []error
	bad := func(flag, format string, a ...any) {
		errs = append(errs, fmt.Errorf("--%s: %s", flag, fmt.Sprintf(format, a...)))
	}
	for _, s := range c.Scenarios {
		if !slices.Contains(Scenarios, s) {
			bad("scenarios", "unknown scenario %q (want %s)", s, strings.Join(Scenarios, ","))
		}
	}
	if c.Jobs < 1 {
		bad("jobs", "must be >= 1, got %d", c.Jobs)
	}
	if c.Duration <= 0 {
		bad("duration", "must be > 0, got %s", c.Duration)
	}
	if c.Concurrency < 1 || c.Concurrency > 10000 {
		bad("concurrency", "must be in 1..10000, got %d", c.Concurrency)
	}
	if c.Payload < 0 || c.Payload > 512<<10 {
		bad("payload", "must be in 0..524288 bytes, got %d", c.Payload)
	}
	if c.Storage != "file" && c.Storage != "memory" {
		bad("storage", "want file or memory, got %q", c.Storage)
	}
	if err := (bus.EmbeddedConfig{StoreDir: "x", Sync: c.Sync}).Validate(); err != nil {
		bad("sync", "%q is neither \"always\" nor a positive duration", c.Sync)
	}
	if c.Peer != "" && !slices.Contains(c.Scenarios, ScenarioBurndown) {
		bad("peer", "compares with the burndown scenario, which --scenarios leaves out")
	}
	if c.Cluster < 0 || c.Cluster > 5 {
		bad("cluster", "must be in 0..5 nodes, got %d", c.Cluster)
	}
	if c.Cluster > 0 && c.has(ScenarioMemory) {
		bad("cluster", "the memory scenario does not run on a cluster (its engine runs in a process of its own, on one server)")
	}
	if c.MemoryJobs < 1 {
		bad("memory-jobs", "must be >= 1, got %d", c.MemoryJobs)
	}
	return errors.Join(errs...)
}

// ParseScenarios reads the comma-separated --scenarios value; "" or "all"
// means every scenario.
func ParseScenarios(s string) []string {
	if s = strings.TrimSpace(s); s == "" || s == "all" {
		return nil
	}
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func (c Config) has(s string) bool { return slices.Contains(c.Scenarios, s) }
