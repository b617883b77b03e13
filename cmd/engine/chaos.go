package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/jetjobs/jetjobs/cmd/engine/internal/chaos"
)

// chaosCommand: engine chaos [flags] (make chaos): engine instances on a
// 3-node cluster under load with random node, leader and instance faults;
// a line per fault, then the counts. It fails when work was lost or
// doubled (docs/operations.md, "Chaos run").
func chaosCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("chaos", flag.ContinueOnError)
	fs.SetOutput(stderr)
	d := chaos.Config{}.WithDefaults()
	var c chaos.Config
	fs.DurationVar(&c.Duration, "duration", d.Duration, "how long load and faults run")
	fs.Float64Var(&c.Rate, "rate", d.Rate, "STARTs per second (half async jobs, a third sync jobs, a sixth sagas)")
	fs.DurationVar(&c.Every, "every", d.Every, "mean pause between two faults")
	fs.DurationVar(&c.Downtime, "downtime", d.Downtime, "how long a killed node or instance stays down")
	fs.DurationVar(&c.Drain, "drain", d.Drain, "after the run, how long the accepted work has to end")
	fs.IntVar(&c.Instances, "instances", d.Instances, "engine instances in this process")
	fs.IntVar(&c.Replicas, "replicas", d.Replicas, "the engines' nats.replicas")
	fs.StringVar(&c.NATSURL, "nats-url", "", "use this NATS cluster instead of an embedded one (no node kills then)")
	fs.Int64Var(&c.Seed, "seed", 0, "random seed of the fault sequence (0: from the clock; printed)")
	fs.StringVar(&c.LogLevel, "log-level", "", "the engines' log level, to stderr (default: they log nothing)")
	faults := fs.String("faults", "all", "comma-separated kinds of fault: "+strings.Join(chaos.FaultKinds, ","))
	jsonOut := fs.String("json", "", "also write the summary as JSON to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("chaos: unexpected argument %q", fs.Arg(0))
	}
	if *faults != "all" {
		c.Faults = strings.Split(*faults, ",")
	}
	c.Progress = stderr
	sum, err := chaos.Run(ctx, c, stdout)
	if *jsonOut != "" && sum != nil {
		b, jerr := json.MarshalIndent(sum, "", "  ")
		if jerr == nil {
			jerr = os.WriteFile(*jsonOut, b, 0o600)
		}
		if err == nil {
			err = jerr
		}
	}
	return err
}
