package main

import (
	"context"
	"flag"
	"io"

	"github.com/jetjobs/jetjobs"
	"github.com/jetjobs/jetjobs/internal/demo"
	"github.com/jetjobs/jetjobs/jobs"
)

// runEngine starts the engine and blocks until ctx ends (SIGINT, SIGTERM),
// then drains it.
func runEngine(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
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
	reg := jobs.NewRegistry()
	if c.demo {
		if err := demo.Register(reg); err != nil {
			return err
		}
	}
	eng, err := jetjobs.New(cfg, reg, jetjobs.WithLogger(jetjobs.NewLogger(cfg.Log.Level, cfg.Log.Format, stderr)))
	if err != nil {
		return err
	}
	if err := eng.Start(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	eng.Stop()
	return nil
}
