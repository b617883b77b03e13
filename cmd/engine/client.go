package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
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

// callCommand: engine call [--wait] <job> <stage> ['<json>'].
func callCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, c, out := clientFlags("call", stderr)
	timeout := fs.Duration("timeout", 30*time.Second, "how long to wait for the answer")
	wait := fs.Bool("wait", false, "start only: follow the execution's progress until it ends, then print its result")
	waitTimeout := fs.Duration("wait-timeout", 0, "with --wait: stop following after this long (0: until the execution ends)")
	if err := fs.Parse(interleaved(fs, args)); err != nil {
		return err
	}
	if err := out.check(); err != nil {
		return err
	}
	if fs.NArg() < 2 || fs.NArg() > 3 {
		return fmt.Errorf("usage: engine call [--wait] <job> <stage> ['<JobStageRequest JSON>']")
	}
	stage, err := jobs.ParseStage(fs.Arg(1))
	if err != nil {
		return err
	}
	if *wait && stage != jobs.StageStart {
		return fmt.Errorf("--wait follows an execution a START begins, not a %s", stage)
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
	var f *follower
	if *wait {
		if f, err = newFollower(ctx, js, cfg.NATS.SubjectPrefix, fs.Arg(0)); err != nil {
			return err
		}
	}
	cctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	resp, err := cl.Call(cctx, fs.Arg(0), stage, req, bus.SendOptions{})
	if err != nil {
		if req.ExecutionID == "" && resp != nil && resp.ExecutionID != "" {
			// Unanswered: the command started an execution of its own.
			return fmt.Errorf("%w; the command was sent and execution %s may still run: ask for it by that executionId", err, resp.ExecutionID)
		}
		return err
	}
	if f != nil && resp.Success {
		return waitForExecution(ctx, cl, f, resp, waitOptions{out: *out, timeout: *timeout, waitTimeout: *waitTimeout}, stdout)
	}
	if out.json(stdout, true) {
		if err := writeJSON(stdout, resp); err != nil {
			return err
		}
	} else if err := printResponse(stdout, resp); err != nil {
		return err
	}
	if !resp.Success {
		return fmt.Errorf("%s %s failed (%s): %s", fs.Arg(0), stage, resp.Code, resp.ErrorText())
	}
	return nil
}

// tailEvents: engine events [job] prints new job events: JSON lines when
// piped or with -o json, a line per event on a terminal or with -o text.
func tailEvents(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, c, out := clientFlags("events", stderr)
	all := fs.Bool("all", false, "replay stored events from the start, not only new ones")
	if err := fs.Parse(interleaved(fs, args)); err != nil {
		return err
	}
	if err := out.check(); err != nil {
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
	asJSON := out.json(stdout, true)
	enc := json.NewEncoder(stdout)
	p := newPainter(stdout)
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
		if asJSON {
			_ = enc.Encode(map[string]any{"subject": msg.Subject(), "type": ev.Type(), "data": json.RawMessage(ev.Data())})
			continue
		}
		printEvent(stdout, p, ev.Type(), ev.Data())
	}
	return nil
}

// printEvent writes one job event on a line:
// `15:04:05 customer-import 7f3a… JOB_PROGRESS RUNNING 40% Imported 400 of 1000`.
func printEvent(w io.Writer, p painter, typ string, data []byte) {
	var d jobs.EventData
	_ = json.Unmarshal(data, &d)
	pct := ""
	if d.ProgressPercentage != nil {
		pct = fmt.Sprintf(" %d%%", *d.ProgressPercentage)
	}
	msg := d.Message
	if d.Error != nil {
		msg = strings.TrimSpace(msg + " " + p.paint(ansiRed, *d.Error))
	}
	fmt.Fprintf(w, "%s %s %s %s %s%s %s\n", d.Timestamp.Local().Format(time.TimeOnly), d.JobType, d.ExecutionID, typ,
		p.status(string(d.Status)), pct, oneLine(msg, 200))
}

// printAudit: engine audit <job> <executionId> prints the entries in order.
func printAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, c, out := clientFlags("audit", stderr)
	if err := fs.Parse(interleaved(fs, args)); err != nil {
		return err
	}
	if err := out.check(); err != nil {
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
	if out.json(stdout, true) {
		return writeJSON(stdout, entries)
	}
	return printTimeline(stdout, newPainter(stdout), entries, "")
}

// printTimeline writes audit entries as a table, each row indented.
func printTimeline(w io.Writer, p painter, entries []jobs.AuditEntry, indent string) error {
	t := newTable(p, indent+"TIME", "STAGE", "ATTEMPT", "OUTCOME", "STATUS", "DURATION", "MESSAGE")
	for _, a := range entries {
		msg := a.Message
		if a.Error != "" {
			msg = strings.TrimSpace(msg + " " + p.paint(ansiRed, a.Error))
		}
		t.row(indent+a.StartedAt.Local().Format("15:04:05.000"), string(a.Stage), strconv.Itoa(a.Attempt), p.status(a.Outcome),
			p.status(string(a.Status)), (time.Duration(a.DurationMs * float64(time.Millisecond))).Round(time.Microsecond).String(),
			oneLine(msg, 80))
	}
	return t.write(w)
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
	return saga.CLIWith(ctx, fs.Args(), stdout, stderr,
		saga.NewClient(js, saga.ClientOptions{Prefix: cfg.NATS.SubjectPrefix, Source: "/jetjobs/cli"}), sagaHooks(stdout))
}
