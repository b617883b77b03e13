package saga

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"time"
)

// CLIUsage documents `engine saga`.
const CLIUsage = `usage: engine saga <command> [flags] <args>

commands:
  start  [--id ID] [--initiator NAME] [--wait] [--timeout 30s] <saga> ['<input JSON>']
         start a saga and print the instance (with --wait: once it has ended)
  status <saga> <sagaId>                 print the instance
  wait   [--timeout 30s] <saga> <sagaId> wait until the saga ends, then print it
  resume <saga> <sagaId>                 retry the failed compensations of a FAILED saga
  cancel [--reason TEXT] <saga> <sagaId> stop a RUNNING saga and undo its completed steps
  list   <saga>                          print the ids of a saga's instances`

// CLI runs `engine saga …` (args without the leading "saga") with a Client
// on the engine's NATS: NewClient(js, ClientOptions{Prefix: <subject
// prefix>}). Commands go to the coordinators and wait for their answer, so
// an unknown saga is reported at once. It prints JSON to stdout; a saga
// that ends other than COMPLETED after start --wait or wait is an error.
func CLI(ctx context.Context, args []string, stdout, stderr io.Writer, cl *Client) error {
	return CLIWith(ctx, args, stdout, stderr, cl, CLIHooks{})
}

// CLIHooks let the engine binary present `engine saga` its own way.
type CLIHooks struct {
	// Flags registers more flags on each command's flag set (--output).
	Flags func(*flag.FlagSet)
	// Print writes an answer: an *Instance, a *Response or the []string of
	// list. nil: indented JSON.
	Print func(w io.Writer, v any) error
	// Progress sees each state of the instance that start --wait and wait
	// watch, the last one included. nil: nothing is shown meanwhile.
	Progress func(*Instance)
}

// CLIWith is CLI with hooks.
func CLIWith(ctx context.Context, args []string, stdout, stderr io.Writer, cl *Client, hooks CLIHooks) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, CLIUsage)
		return flag.ErrHelp
	}
	fs := flag.NewFlagSet("saga "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	id := fs.String("id", "", "start: the saga id (default: a random UUID)")
	initiator := fs.String("initiator", "cli", "start: who starts it")
	wait := fs.Bool("wait", false, "start: wait until the saga ends")
	timeout := fs.Duration("timeout", 30*time.Second, "how long to wait")
	reason := fs.String("reason", "", "cancel: why")
	if hooks.Flags != nil {
		hooks.Flags(fs)
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	enc := printer{w: stdout, print: hooks.Print}
	done := func(in *Instance) bool {
		if hooks.Progress != nil {
			hooks.Progress(in)
		}
		return in.Status.Terminal()
	}
	need := func(n int, what string) error {
		if fs.NArg() != n {
			return fmt.Errorf("usage: engine saga %s %s", args[0], what)
		}
		return nil
	}
	switch args[0] {
	case "start":
		if fs.NArg() < 1 || fs.NArg() > 2 {
			return fmt.Errorf("usage: engine saga start [flags] <saga> ['<input JSON>']")
		}
		req := StartRequest{SagaID: *id, Initiator: *initiator}
		if fs.NArg() == 2 {
			if err := json.Unmarshal([]byte(fs.Arg(1)), &req.Input); err != nil {
				return fmt.Errorf("input JSON: %w", err)
			}
		}
		resp, err := cl.Request(ctx, fs.Arg(0), "start", CommandData{SagaID: req.SagaID, Input: req.Input, Initiator: req.Initiator})
		if err != nil {
			return err
		}
		if !resp.Success {
			return fmt.Errorf("start saga %s: %s", fs.Arg(0), resp.Error)
		}
		if !*wait {
			in, err := cl.Get(ctx, fs.Arg(0), resp.SagaID)
			return printInstance(enc, in, err, false)
		}
		in, err := cl.Wait(ctx, fs.Arg(0), resp.SagaID, done)
		return printInstance(enc, in, err, true)
	case "status":
		if err := need(2, "<saga> <sagaId>"); err != nil {
			return err
		}
		in, err := cl.Get(ctx, fs.Arg(0), fs.Arg(1))
		if err != nil {
			return err
		}
		return enc.Encode(in)
	case "wait":
		if err := need(2, "[--timeout 30s] <saga> <sagaId>"); err != nil {
			return err
		}
		in, err := cl.Wait(ctx, fs.Arg(0), fs.Arg(1), done)
		return printInstance(enc, in, err, true)
	case "resume", "cancel":
		if err := need(2, "<saga> <sagaId>"); err != nil {
			return err
		}
		resp, err := cl.Request(ctx, fs.Arg(0), args[0], CommandData{SagaID: fs.Arg(1), Reason: *reason, Initiator: *initiator})
		if err != nil {
			return err
		}
		if perr := enc.Encode(resp); perr != nil {
			return perr
		}
		if !resp.Success {
			return fmt.Errorf("%s saga %s/%s: %s", args[0], fs.Arg(0), fs.Arg(1), resp.Error)
		}
		return nil
	case "list":
		if err := need(1, "<saga>"); err != nil {
			return err
		}
		ids, err := cl.List(ctx, fs.Arg(0))
		if err != nil {
			return err
		}
		if ids == nil {
			ids = []string{}
		}
		return enc.Encode(ids)
	case "-h", "--help", "help":
		fmt.Fprintln(stdout, CLIUsage)
		return nil
	}
	fmt.Fprintln(stderr, CLIUsage)
	return fmt.Errorf("unknown saga command %q", args[0])
}

// printer writes the CLI's answers: with the Print hook, else as indented
// JSON.
type printer struct {
	w     io.Writer
	print func(io.Writer, any) error
}

func (p printer) Encode(v any) error {
	if p.print != nil {
		return p.print(p.w, v)
	}
	enc := json.NewEncoder(p.w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func printInstance(enc printer, in *Instance, err error, mustComplete bool) error {
	if in != nil {
		if perr := enc.Encode(in.Public()); perr != nil {
			return perr
		}
	}
	switch {
	case err != nil:
		return err
	case mustComplete && in.Status != StatusCompleted:
		return fmt.Errorf("saga %s/%s ended %s: %s", in.Saga, in.SagaID, in.Status, firstNonEmpty(in.CompError, in.Error))
	}
	return nil
}
