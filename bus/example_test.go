package bus_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/rs/zerolog"

	"github.com/jetjobs/jetjobs"
	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/jobs"
)

type upper struct{}

func (upper) Execute(_ context.Context, req *jobs.Request) (*jobs.Response, error) {
	s, err := req.String("text")
	if err != nil {
		return nil, err
	}
	out := []rune(s)
	for i, r := range out {
		if r >= 'a' && r <= 'z' {
			out[i] = r - 'a' + 'A'
		}
	}
	return jobs.Completed("done", map[string]any{"text": string(out)}), nil
}

// A service calls a job over NATS: Call publishes the CloudEvents command
// on jobs.cmd.<job>.<stage> with a replyto and waits for the stage's
// JobStageResponse. A bad parameter is an answer, not an error: it comes
// back with success=false and the code a REST adapter maps to 422.
func ExampleClient_Call() {
	dir, err := os.MkdirTemp("", "jetjobs-bus-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	cfg := jetjobs.DefaultConfig()
	cfg.NATS.DataDir, cfg.NATS.Listen, cfg.HTTP.Addr = dir, "off", ""
	reg := jobs.NewRegistry()
	reg.MustRegister("upper", upper{})
	eng, err := jetjobs.New(cfg, reg, jetjobs.WithLogger(zerolog.Nop()))
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := eng.Start(ctx); err != nil {
		panic(err)
	}
	defer eng.Stop()

	// Any process with a connection and JetStream context does the same.
	client := bus.NewClient(eng.Conn(), eng.JetStream())
	defer client.Close()
	resp, err := client.Call(ctx, "upper", jobs.StageExecute,
		&jobs.Request{Parameters: map[string]any{"text": "nats"}}, bus.SendOptions{})
	if err != nil {
		panic(err)
	}
	fmt.Println(resp.Success, resp.Status, resp.Data["text"])

	resp, err = client.Call(ctx, "upper", jobs.StageExecute, &jobs.Request{}, bus.SendOptions{})
	if err != nil {
		panic(err)
	}
	fmt.Println(resp.Success, resp.Code, resp.ErrorText())
	// Output:
	// true COMPLETED NATS
	// false invalid_parameter parameter "text" is required
}
