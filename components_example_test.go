package jetjobs_test

import (
	"context"
	"fmt"
	"os"

	"github.com/rs/zerolog"

	"github.com/jetjobs/jetjobs"
	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/jobs"
)

// warmUp is a custom component: when the engine starts, it runs a job once
// through the host's client, and says so in the host's log.
type warmUp struct {
	job  string
	name string
}

var _ jetjobs.Component = (*warmUp)(nil)

func (w *warmUp) Start(ctx context.Context, h jetjobs.Host) error {
	if _, ok := h.Registry().Lookup(w.job); !ok {
		return fmt.Errorf("warm-up: no job type %q", w.job)
	}
	resp, err := h.Client().Call(ctx, w.job, jobs.StageExecute,
		&jobs.Request{Parameters: map[string]any{"name": w.name}}, bus.SendOptions{})
	if err != nil {
		return err
	}
	log := h.Logger()
	log.Info().Str("job", w.job).Str("status", string(resp.Status)).Msg("warmed up")
	fmt.Println("warm-up:", resp.Status, resp.Data["greeting"])
	return nil
}

func (w *warmUp) Stop() {}

// A component runs inside the engine: started once the engine's consumers
// run, it reaches the engine only through the jetjobs.Host it is given.
func ExampleWithComponents() {
	dir, err := os.MkdirTemp("", "jetjobs-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	cfg := jetjobs.DefaultConfig()
	cfg.NATS.DataDir = dir
	cfg.NATS.Listen = "off" // in-process server: nothing listens
	cfg.HTTP.Addr = ""      // no REST adapter
	reg := jobs.NewRegistry()
	reg.MustRegister("greeter", greeter{})
	eng, err := jetjobs.New(cfg, reg, jetjobs.WithLogger(zerolog.Nop()),
		jetjobs.WithComponents(&warmUp{job: "greeter", name: "component"}))
	if err != nil {
		panic(err)
	}
	if err := eng.Start(context.Background()); err != nil {
		panic(err)
	}
	eng.Stop()
	// Output: warm-up: COMPLETED Hello, component
}
