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

// greeter is a sync job: one EXECUTE stage whose answer carries the result.
type greeter struct{}

func (greeter) Execute(_ context.Context, req *jobs.Request) (*jobs.Response, error) {
	name, err := req.String("name")
	if err != nil {
		return nil, err // a missing parameter: 422 over REST, success=false on NATS
	}
	return jobs.Completed("greeted", map[string]any{"greeting": "Hello, " + name}), nil
}

// An engine with its own embedded NATS server (in-process only, no port
// opened, no REST), one job type, and a command sent with the engine's
// client.
func ExampleNew() {
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
	eng, err := jetjobs.New(cfg, reg, jetjobs.WithLogger(zerolog.Nop()))
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	if err := eng.Start(ctx); err != nil {
		panic(err)
	}
	defer eng.Stop()

	resp, err := eng.Client().Call(ctx, "greeter", jobs.StageExecute,
		&jobs.Request{Parameters: map[string]any{"name": "Ada"}}, bus.SendOptions{})
	if err != nil {
		panic(err)
	}
	fmt.Println(resp.Status, resp.Data["greeting"])
	// Output: COMPLETED Hello, Ada
}
