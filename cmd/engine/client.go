package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetjobs/jetjobs"

	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/jobs"
	"github.com/jetjobs/jetjobs/saga"
)

// dial opens a client connection to the engine's NATS server: nats.url,
// else the embedded server's listen address, signed in with the engine's
// key from nats.data-dir unless credentials are configured
// (jetjobs.ClientDial).
func (c *common) dial(name string) (*nats.Conn, jetstream.JetStream, jetjobs.Config, error) {
	cfg, err := c.load()
	if err != nil {
		return nil, nil, cfg, err
	}
	cc, opts, err := jetjobs.ClientDial(cfg, name)
	if err != nil {
		return nil, nil, cfg, err
	}
	nc, js, err := bus.Connect(cc, opts...)
	if err != nil {
		return nil, nil, cfg, fmt.Errorf("%w (is `engine run` running?)", err)
	}
	return nc, js, cfg, nil
}

// callCommand: engine call <job> <stage> ['<json>'].
func callCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("call", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c common
	c.register(fs, false)
	timeout := fs.Duration("timeout", 30*time.Second, "how long to wait for the answer")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() < 2 || fs.NArg() > 3 {
		return fmt.Errorf("usage: engine call <job> <stage> ['<JobStageRequest JSON>']")
	}
	stage, err := jobs.ParseStage(fs.Arg(1))
	if err != nil {
		return err
	}
	req := &jobs.Request{}
	if fs.NArg() == 3 {
		if req, err = jobs.DecodeRequest([]byte(fs.Arg(2))); err != nil {
			return fmt.Errorf("request JSON: %w", err)
		}
	}
	nc, js, cfg, err := c.dial("jetjobs-cli")
	if err != nil {
		return err
	}
	defer nc.Close()
	cl := bus.NewClient(nc, js, bus.WithPrefix(cfg.NATS.SubjectPrefix), bus.WithSource("/jetjobs/cli"), bus.WithPublishRetry(cfg.NATS.PublishRetry))
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	resp, err := cl.Call(ctx, fs.Arg(0), stage, req, bus.SendOptions{})
	if err != nil {
		if id := bus.StartedExecution(err, req); id != "" {
			return fmt.Errorf("%w; the command was sent and execution %s may still run: ask for it by that executionId", err, id)
		}
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(resp); err != nil {
		return err
	}
	if !resp.Success {
		return fmt.Errorf("%s %s failed (%s): %s", fs.Arg(0), stage, resp.Code, resp.ErrorText())
	}
	return nil
}

// tailEvents: engine events [job] prints new job events as JSON lines.
func tailEvents(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("events", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c common
	c.register(fs, false)
	all := fs.Bool("all", false, "replay stored events from the start, not only new ones")
	if err := fs.Parse(args); err != nil {
		return err
	}
	job := ">"
	if fs.NArg() > 0 {
		if err := jobs.ValidateJobName(fs.Arg(0)); err != nil {
			return err
		}
		job = fs.Arg(0) + ".>"
	}
	nc, js, cfg, err := c.dial("jetjobs-events")
	if err != nil {
		return err
	}
	defer nc.Close()
	policy := jetstream.DeliverNewPolicy
	if *all {
		policy = jetstream.DeliverAllPolicy
	}
	cons, err := js.OrderedConsumer(ctx, bus.StreamEvents, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{cfg.NATS.SubjectPrefix + ".evt." + job}, DeliverPolicy: policy})
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	for ctx.Err() == nil {
		msg, err := cons.Next(jetstream.FetchMaxWait(time.Second))
		if err != nil {
			continue
		}
		ev, err := bus.Decode(msg.Headers(), msg.Data())
		if err != nil {
			fmt.Fprintf(stderr, "undecodable event on %s: %v\n", msg.Subject(), err)
			continue
		}
		_ = enc.Encode(map[string]any{"subject": msg.Subject(), "type": ev.Type(), "data": json.RawMessage(ev.Data())})
	}
	return nil
}

// printAudit: engine audit <job> <executionId> prints the entries in order.
func printAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c common
	c.register(fs, false)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return fmt.Errorf("usage: engine audit <job> <executionId>")
	}
	nc, js, cfg, err := c.dial("jetjobs-audit")
	if err != nil {
		return err
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	entries, err := bus.NewAuditLog(js, cfg.NATS.SubjectPrefix).Entries(ctx, fs.Arg(0), fs.Arg(1))
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		return fmt.Errorf("no audit entry for execution %q of job %q", fs.Arg(1), fs.Arg(0))
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(entries)
}

// sagaCommand: engine saga [--nats-url …] start|status|… (see saga.CLI).
func sagaCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("saga", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c common
	c.register(fs, false)
	if err := fs.Parse(args); err != nil {
		return err
	}
	nc, js, cfg, err := c.dial("jetjobs-saga")
	if err != nil {
		return err
	}
	defer nc.Close()
	return saga.CLI(ctx, fs.Args(), stdout, stderr,
		saga.NewClient(js, saga.ClientOptions{Prefix: cfg.NATS.SubjectPrefix, Source: "/jetjobs/cli"}))
}
