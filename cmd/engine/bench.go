package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/jetjobs/jetjobs/cmd/engine/internal/bench"
)

// hiddenBenchFlags work but are left out of `engine bench --help`.
var hiddenBenchFlags = map[string]bool{"cpuprofile": true, "trace": true, "memprofile": true, "memory-jobs": true, "memory-settle": true, "http-addr": true,
	"serve-engine": true, "serve-config": true}

// benchCommand: engine bench [flags] measures jetjobs on this machine
// (docs/benchmarks.md). Progress goes to stderr, the report to stdout.
func benchCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	d := bench.Config{}.WithDefaults()
	var cfg bench.Config
	scenarios := fs.String("scenarios", "all", "comma-separated scenarios to run: "+strings.Join(bench.Scenarios, ","))
	fs.IntVar(&cfg.Jobs, "jobs", d.Jobs, "jobs (or requests) per fixed-count scenario; sagas are a tenth of it")
	fs.DurationVar(&cfg.Duration, "duration", d.Duration, "length of the continuous scenario; also caps each half-rate pass")
	fs.IntVar(&cfg.Concurrency, "concurrency", d.Concurrency, "client workers: NATS callers, HTTP connections, KV putters")
	fs.IntVar(&cfg.Payload, "payload", d.Payload, "bytes of JSON parameters per job")
	fs.StringVar(&cfg.Storage, "storage", d.Storage, "file or memory (the baseline's streams; the engine's streams always use file)")
	fs.StringVar(&cfg.NATSURL, "nats-url", "", "use this NATS server instead of an embedded one in a temporary directory")
	fs.IntVar(&cfg.Cluster, "cluster", 0, "measure on a cluster of this many nodes with every stream and bucket replicated on each (embedded unless --nats-url; 0: one server)")
	fs.StringVar(&cfg.Sync, "sync", d.Sync, "the embedded server's fsync: a duration or \"always\" (nats.sync)")
	fs.StringVar(&cfg.Peer, "peer", "", "a shell command printing another queue's no-op burn-down as a JSON line with \"jobs_per_sec\" (e.g. River's); run before and after the burndown scenario and reported beside it")
	fs.StringVar(&cfg.JSON, "json", "", "also write the report as JSON to this file")
	fs.StringVar(&cfg.HTTPAddr, "http-addr", d.HTTPAddr, "REST adapter address for the rest scenario")
	fs.DurationVar(&cfg.Settle, "settle", d.Settle, "with --nats-url, pause between scenarios so that the server's caches of one do not weigh on the next (negative: none); an embedded server is replaced by a fresh one instead")
	fs.DurationVar(&cfg.MemorySettle, "memory-settle", d.MemorySettle, "how long the memory scenario waits idle before its second reading")
	fs.IntVar(&cfg.MemoryJobs, "memory-jobs", d.MemoryJobs, "executions held in flight by the memory scenario")
	fs.StringVar(&cfg.CPUProfile, "cpuprofile", "", "write a CPU profile of the burn-down drain to this file, of burndown-raw's to FILE.raw and of worker's to FILE.worker (without either burn-down: of the whole run)")
	fs.StringVar(&cfg.Trace, "trace", "", "write an execution trace of this process (engine, embedded server, in-process load) for the whole run to this file")
	serveConfig := fs.String("serve-config", "", "with --serve-engine: configure that engine from this YAML file")
	serve := fs.String("serve-engine", "", "run only an engine with the bench's jobs on this NATS URL (or embedded:<sync>: its own embedded server) until stdin closes")
	fs.StringVar(&cfg.MemProfile, "memprofile", "", "write a heap profile to this file (memory scenario: with the executions held)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, `usage: engine bench [flags]

Measures jetjobs on this machine: raw JetStream baseline, sync EXECUTE over
NATS, async and worker-job burn-down, async continuous, REST execute (load from 'engine
loadgen'), a three-step saga, memory with executions in flight. Results on
stdout; progress on stderr. See docs/benchmarks.md.

flags:`)
		fs.VisitAll(func(f *flag.Flag) {
			if hiddenBenchFlags[f.Name] {
				return
			}
			def := ""
			if f.DefValue != "" {
				def = " (default " + f.DefValue + ")"
			}
			fmt.Fprintf(stderr, "  --%s %s\n    \t%s%s\n", f.Name, kindOf(f), f.Usage, def)
		})
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("bench: unexpected argument %q", fs.Arg(0))
	}
	if *serve != "" { // the memory scenario's engine process
		return bench.ServeEngineWith(ctx, *serve, *serveConfig, os.Stdin, stdout)
	}
	cfg.Scenarios = bench.ParseScenarios(*scenarios)
	cfg.Progress = stderr
	_, err := bench.Run(ctx, cfg, stdout)
	return err
}

func kindOf(f *flag.Flag) string {
	name, _ := flag.UnquoteUsage(f)
	return name
}

// loadgenCommand: engine loadgen --url <url> [flags], the HTTP load
// generator the bench's REST scenario runs as a separate process.
func loadgenCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return bench.Loadgen(ctx, args, stdout, stderr)
}
