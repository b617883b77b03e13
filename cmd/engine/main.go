// Command engine runs jetjobs and is its operator's tool (docs/cli.md):
//
//   - engine run starts the engine (with an embedded NATS server unless
//     --nats-url is given); engine config prints the effective
//     configuration with secrets masked; engine version says what the
//     binary was built from.
//   - engine call sends a command and prints the answer (call <job> start
//     --wait follows the execution with a progress bar until its result);
//     engine events tails job events; engine audit prints an execution's
//     audit trail.
//   - engine jobs ls lists the job types, their mode and executions by
//     status; engine executions ls|show lists and explains executions.
//   - engine dlq manages dead letters; engine saga starts and watches
//     sagas.
//   - engine apikey makes a REST API key; engine openapi prints the REST
//     adapter's OpenAPI document.
//   - engine bench, soak and loadgen measure it.
//
// Commands that print take --output text|json (-o json).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/jetjobs/jetjobs"
	"github.com/jetjobs/jetjobs/cmd/engine/internal/bench"
)

const usage = `usage: engine <command> [flags]

commands:
  run      start the engine (embedded NATS unless --nats-url)
  config   print the effective configuration, secrets masked
  call     send a command and print the JobStageResponse: engine call <job> <stage> ['<JobStageRequest JSON>'] [--wait]
  events   print job events as they arrive: engine events [job]
  audit    print an execution's audit trail: engine audit <job> <executionId>
  dlq      list, show, replay and purge dead letters: engine dlq list|show|replay|purge (engine dlq help)
  saga     start and watch sagas: engine saga start|status|list|resume|cancel ... (engine saga help)
  schedule add, list, pause and delete job schedules: engine schedule add|ls|rm|pause|resume (engine schedule help)
  apikey   make a REST API key and its http.auth.api-keys-file entry: engine apikey --name crm-sync --permissions run:customer-import,read:customer-import
  openapi  print the REST adapter's OpenAPI document: engine openapi [--demo]
  bench    measure jetjobs on this machine (docs/benchmarks.md)
  soak     continuous load for a while, reporting throughput, RSS and stream sizes each minute (make soak)
  chaos    engine instances on a 3-node cluster under load and random faults, counting lost and doubled work (make chaos)
  loadgen  HTTP load generator for the REST benchmark: engine loadgen --url <url>
  version  print the module version, VCS commit and Go version of this binary
  jobs     list the job types, their mode and their executions by status: engine jobs ls
  executions  list and show executions: engine executions ls [--job J] [--status S] [--since 1h] | show <job> <executionId>

Commands that print take --output text|json (-o json); call start --wait
follows the execution with a progress bar (plain lines when not on a
terminal). docs/cli.md shows every command with its output.

Run 'engine <command> -h' for its flags.`

// The collector's defaults depend on where the NATS server runs; GOGC and
// GOMEMLIMIT set in the environment replace them (docs/operations.md,
// "Memory").
//
// With the embedded server (no nats.url), the server's heap is the
// process's bulk: it keeps what it wrote to a stream in the last ten
// seconds in memory while consumers read it, so its live heap follows the
// write rate (160-260 MB in a 12,000 jobs/s burst). The engine allocates
// briskly but keeps little, so it collects at 5x the live heap instead of
// 2x, four times fewer collections (measured: sync EXECUTE +6%, burn-down
// +8%, far fewer latency spikes), under a soft limit of 512 MiB past which
// the collector runs as often as it must (at 5x the process would grow to
// a GiB). Where memory is tight, set GOMEMLIMIT lower; it costs throughput
// in bursts.
//
// With NATS elsewhere (nats.url set) the heap is the engine's alone, and
// small: about 20 MB with 100,000 executions in flight, most of it the
// execution index. Collecting at 5x, an engine starting them at full
// speed went to 160-175 MiB resident; GOGC=100 cost 20-30% more CPU per
// job in a burn-down (docs/benchmarks.md, "Memory"). So GOGC stays at 400
// and the soft limit is what keeps it small: 48 MiB (peak 74-76 MiB
// resident, 32 of them the binary's pages; no measurable cost in the
// burn-down), raised to twice the live heap as that grows
// (limitFollower), so an engine whose index holds a million executions
// collects at 2x rather than back to back.
var (
	embeddedGC = gcDefaults{percent: 400, limit: 512 << 20}
	externalGC = gcDefaults{percent: 400, limit: 48 << 20, follow: true}
)

func main() {
	embeddedGC.apply(context.Background()) // until the configuration says where NATS runs
	gcDefaultsOn, bench.SetGCDefaults = true, setGCDefaults
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go releaseWhenIdle(ctx)
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if len(os.Args) > 1 && errors.Is(err, flag.ErrHelp) {
			return // asked for help: it is printed
		}
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "engine:", err)
		}
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return flag.ErrHelp
	}
	switch args[0] {
	case "run":
		return runEngine(ctx, args[1:], stderr)
	case "config":
		return printConfig(args[1:], stdout, stderr)
	case "call":
		return callCommand(ctx, args[1:], stdout, stderr)
	case "events":
		return tailEvents(ctx, args[1:], stdout, stderr)
	case "audit":
		return printAudit(ctx, args[1:], stdout, stderr)
	case "dlq":
		return dlqCommand(ctx, args[1:], stdout, stderr)
	case "saga":
		return sagaCommand(ctx, args[1:], stdout, stderr)
	case "schedule":
		return scheduleCommand(ctx, args[1:], stdout, stderr)
	case "apikey":
		return apikeyCommand(args[1:], stdout, stderr)
	case "openapi":
		return openapiCommand(args[1:], stdout, stderr)
	case "bench":
		return benchCommand(ctx, args[1:], stdout, stderr)
	case "soak":
		return soakCommand(ctx, args[1:], stdout, stderr)
	case "chaos":
		return chaosCommand(ctx, args[1:], stdout, stderr)
	case "loadgen":
		return loadgenCommand(ctx, args[1:], stdout, stderr)
	case "version":
		return versionCommand(args[1:], stdout, stderr)
	case "jobs":
		return jobsCommand(ctx, args[1:], stdout, stderr)
	case "executions":
		return executionsCommand(ctx, args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprintln(stdout, usage)
		return nil
	}
	fmt.Fprintln(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

// common holds the flags every command shares.
type common struct {
	config  string
	natsURL string
	dataDir string
	http    string
	demo    bool
}

func (c *common) register(fs *flag.FlagSet, engineFlags bool) {
	fs.StringVar(&c.config, "config", os.Getenv("JETJOBS_CONFIG"), "YAML configuration file (env JETJOBS_CONFIG)")
	fs.StringVar(&c.natsURL, "nats-url", "", "join this NATS server instead of running an embedded one (nats.url)")
	fs.StringVar(&c.dataDir, "data-dir", "", "embedded server's JetStream store and the engine's NATS key (nats.data-dir)")
	if engineFlags {
		fs.StringVar(&c.http, "http-addr", "", "REST adapter address, \"off\" to disable (http.addr)")
		fs.BoolVar(&c.demo, "demo", false, "register the demo jobs (customer-import, customer-validation, order-import, notification, customer-purge) and the demo saga customer-onboarding")
	}
}

// load reads the configuration and applies the flags over it.
func (c *common) load() (jetjobs.Config, error) {
	cfg, err := jetjobs.LoadConfig(c.config, os.Environ())
	if err != nil {
		return cfg, err
	}
	if c.natsURL != "" {
		cfg.NATS.URL = c.natsURL
	}
	if c.dataDir != "" {
		cfg.NATS.DataDir = c.dataDir
	}
	switch c.http {
	case "":
	case "off":
		cfg.HTTP.Addr = ""
	default:
		cfg.HTTP.Addr = c.http
	}
	return cfg, cfg.Validate()
}

func printConfig(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("config", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c common
	c.register(fs, true)
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := c.load()
	if err != nil {
		return err
	}
	out, err := cfg.Masked().YAML()
	if err != nil {
		return err
	}
	var head []byte
	for _, w := range cfg.Warnings {
		head = append(head, "# warning: "+w+"\n"...)
	}
	out = append(head, out...)
	_, err = stdout.Write(out)
	return err
}
