package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/jetjobs/jetjobs/cmd/engine/internal/bench"
)

// soakCommand: engine soak [flags] (make soak): continuous load on an
// engine process for a while, reporting throughput, the engine's RSS and
// every stream's and bucket's size each interval (docs/operations.md,
// "Soak").
func soakCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("soak", flag.ContinueOnError)
	fs.SetOutput(stderr)
	d := bench.SoakConfig{}.WithDefaults()
	var sc bench.SoakConfig
	fs.DurationVar(&sc.Duration, "duration", d.Duration, "how long the load runs")
	fs.Float64Var(&sc.Rate, "rate", d.Rate, "STARTs per second")
	fs.DurationVar(&sc.Every, "every", d.Every, "how often a report is printed")
	fs.IntVar(&sc.Payload, "payload", d.Payload, "bytes of JSON parameters per job")
	fs.StringVar(&sc.Sync, "sync", d.Sync, "the embedded server's fsync: a duration or \"always\" (nats.sync)")
	fs.StringVar(&sc.EngineConfig, "config", os.Getenv("JETJOBS_CONFIG"), "the engine's YAML configuration (its retention keys; env JETJOBS_CONFIG)")
	jsonOut := fs.String("json", "", "also write every report as JSON to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("soak: unexpected argument %q", fs.Arg(0))
	}
	sc.Progress = stderr
	samples, err := bench.Soak(ctx, sc, stdout)
	if *jsonOut != "" && len(samples) > 0 {
		b, jerr := json.MarshalIndent(samples, "", "  ")
		if jerr == nil {
			jerr = os.WriteFile(*jsonOut, b, 0o600)
		}
		if err == nil {
			err = jerr
		}
	}
	return err
}
