package main

import (
	"context"
	"flag"
	"io"
	"os"

	"github.com/jetjobs/jetjobs"
	"github.com/jetjobs/jetjobs/cmd/engine/internal/demo"
	"github.com/jetjobs/jetjobs/jobs"
	"github.com/jetjobs/jetjobs/saga"
)

// runEngine starts the engine and blocks until ctx ends (SIGINT, SIGTERM),
// then drains it.
func runEngine(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c common
	c.register(fs, true)
	sagaFile := fs.String("sagas", os.Getenv("JETJOBS_SAGAS"), "YAML file of saga definitions (env JETJOBS_SAGAS)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := c.load()
	if err != nil {
		return err
	}
	setGCDefaults(ctx, cfg.NATS.URL == "")
	reg := jobs.NewRegistry()
	var sagas []*saga.Definition
	if c.demo {
		if err := demo.Register(reg); err != nil {
			return err
		}
		defs, err := demo.RegisterSagas(reg)
		if err != nil {
			return err
		}
		sagas = append(sagas, defs...)
	}
	if *sagaFile != "" {
		defs, err := saga.LoadDefinitionsFile(*sagaFile)
		if err != nil {
			return err
		}
		sagas = append(sagas, defs...)
	}
	eng, err := jetjobs.New(cfg, reg, jetjobs.WithLogger(jetjobs.NewLogger(cfg.Log.Level, cfg.Log.Format, stderr)),
		jetjobs.WithComponents(sagaComponents(sagas)...))
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

// sagaComponents runs a saga coordinator when there are definitions.
func sagaComponents(defs []*saga.Definition) []jetjobs.Component {
	if len(defs) == 0 {
		return nil
	}
	return []jetjobs.Component{saga.InEngine(defs...)}
}
