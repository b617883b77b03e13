package saga_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/rs/zerolog"

	"github.com/jetjobs/jetjobs"
	"github.com/jetjobs/jetjobs/jobs"
	"github.com/jetjobs/jetjobs/saga"
)

// reserve and bill are sync jobs; release undoes reserve.
type reserve struct{}

func (reserve) Execute(_ context.Context, req *jobs.Request) (*jobs.Response, error) {
	sku, err := req.String("sku")
	if err != nil {
		return nil, err
	}
	return jobs.Completed("reserved", map[string]any{"reservation": "r-" + sku}), nil
}

type bill struct{}

func (bill) Execute(_ context.Context, req *jobs.Request) (*jobs.Response, error) {
	return jobs.Completed("billed", map[string]any{"for": req.Parameters["reservation"]}), nil
}

type release struct{}

func (release) Execute(context.Context, *jobs.Request) (*jobs.Response, error) {
	return jobs.Completed("released", nil), nil
}

// A saga coordinator running inside the engine (saga.InEngine): two steps,
// the second fed by the first one's result, the first compensated if the
// second fails. The saga is started and watched with a saga.Client, which
// any process with a NATS connection can use.
func ExampleInEngine() {
	dir, err := os.MkdirTemp("", "jetjobs-saga-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	cfg := jetjobs.DefaultConfig()
	cfg.NATS.DataDir, cfg.NATS.Listen, cfg.HTTP.Addr = dir, "off", ""

	reg := jobs.NewRegistry()
	reg.MustRegister("reserve", reserve{})
	reg.MustRegister("bill", bill{})
	reg.MustRegister("release", release{})
	order := &saga.Definition{Name: "order", Steps: []saga.Step{
		{Name: "reserve", Job: "reserve", Parameters: map[string]any{"sku": "${input.sku}"},
			Compensate: &saga.Compensation{Job: "release"}},
		{Name: "bill", Job: "bill", Parameters: map[string]any{"reservation": "${steps.reserve.result.reservation}"}},
	}}
	eng, err := jetjobs.New(cfg, reg, jetjobs.WithLogger(zerolog.Nop()),
		jetjobs.WithComponents(saga.InEngine(order)))
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := eng.Start(ctx); err != nil {
		panic(err)
	}
	defer eng.Stop()

	sagas := saga.NewClient(eng.JetStream(), saga.ClientOptions{})
	id, err := sagas.Start(ctx, "order", saga.StartRequest{SagaID: "order-1", Input: map[string]any{"sku": "book"}})
	if err != nil {
		panic(err)
	}
	in, err := sagas.Wait(ctx, "order", id, nil)
	if err != nil {
		panic(err)
	}
	fmt.Println(in.Status, in.Steps[1].Run.Result["for"])
	// Output: COMPLETED r-book
}
