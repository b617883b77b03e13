package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jetjobs/jetjobs"
	"github.com/jetjobs/jetjobs/bus"
)

const dlqUsage = `usage: engine dlq <command> [flags]

  list     list dead letters: engine dlq list [--job J] [--stage S] [--after SEQ] [--limit N]
  show     one dead letter with its reason and original command: engine dlq show <seq>
  replay   publish the original command again (new id) and remove the entry: engine dlq replay <seq>...
  purge    remove dead letters: engine dlq purge <seq>... | --job J | --all

Every command takes --output table|json (-o json) and the connection flags of
engine call (--config, --nats-url, --data-dir). See docs/operations.md,
"Dead letters".`

// dlqCommand: engine dlq list|show|replay|purge.
func dlqCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(stdout, dlqUsage)
		return nil
	}
	sub := args[0]
	fs, c, output := clientFlags("dlq "+sub, stderr)
	job := fs.String("job", "", "only this job type (list, purge)")
	stage := fs.String("stage", "", "only this stage: start, check, collect, result, stop, execute (list)")
	after := fs.Uint64("after", 0, "only entries after this sequence number (list: the next page)")
	limit := fs.Int("limit", 50, "entries per page (list; at most 1000)")
	all := fs.Bool("all", false, "purge every dead letter")
	by := fs.String("by", defaultReplayer(), "who replays, for the audit trail (replay)")
	if err := fs.Parse(interleaved(fs, args[1:])); err != nil {
		return err
	}
	if err := output.check(); err != nil {
		return err
	}
	seqs, err := parseSeqs(fs.Args())
	if err != nil {
		return err
	}
	switch sub {
	case "list":
		if len(seqs) > 0 {
			return errors.New("usage: engine dlq list [--job J] [--stage S] [--after SEQ] [--limit N]")
		}
	case "show":
		if len(seqs) != 1 {
			return errors.New("usage: engine dlq show <seq>")
		}
	case "replay":
		if len(seqs) == 0 {
			return errors.New("usage: engine dlq replay <seq>...")
		}
	case "purge":
		if (len(seqs) > 0) == (*job != "" || *all) || (*job != "" && *all) {
			return errors.New("usage: engine dlq purge <seq>... | --job J | --all")
		}
	default:
		fmt.Fprintln(stderr, dlqUsage)
		return fmt.Errorf("unknown dlq command %q", sub)
	}
	nc, js, cfg, err := c.dial("jetjobs-dlq")
	if err != nil {
		return err
	}
	defer nc.Close()
	d := bus.NewDLQ(js, cfg.NATS.SubjectPrefix, jetjobs.SanitizerOf(cfg))
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	p := dlqPrinter{w: stdout, json: output.json(stdout, false)}
	switch sub {
	case "list":
		page, err := d.List(ctx, bus.DLQFilter{JobType: *job, Stage: *stage, After: *after, Limit: *limit})
		if err != nil {
			return err
		}
		return p.list(page)
	case "show":
		e, err := d.Show(ctx, seqs[0])
		if err != nil {
			return err
		}
		return p.show(e)
	case "replay":
		var done []*bus.DLQReplay
		for _, seq := range seqs {
			r, err := d.Replay(ctx, seq, *by)
			if err != nil {
				_ = p.replays(done)
				return err
			}
			done = append(done, r)
		}
		return p.replays(done)
	}
	var n uint64
	if len(seqs) > 0 {
		for _, seq := range seqs {
			if err := d.Delete(ctx, seq); err != nil {
				_ = p.deleted(n)
				return err
			}
			n++
		}
	} else if n, err = d.Purge(ctx, *job); err != nil {
		return err
	}
	return p.deleted(n)
}

// defaultReplayer names the replayer in the audit trail: cli:<OS user>.
func defaultReplayer() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return "cli:" + u.Username
	}
	if u := os.Getenv("USER"); u != "" {
		return "cli:" + u
	}
	return "cli"
}

func parseSeqs(args []string) ([]uint64, error) {
	out := make([]uint64, 0, len(args))
	for _, a := range args {
		n, err := strconv.ParseUint(a, 10, 64)
		if err != nil || n == 0 {
			return nil, fmt.Errorf("%q is not a dead letter's sequence number", a)
		}
		out = append(out, n)
	}
	return out, nil
}

// dlqPrinter writes answers as aligned tables or as JSON.
type dlqPrinter struct {
	w    io.Writer
	json bool
}

func (p dlqPrinter) encode(v any) error {
	enc := json.NewEncoder(p.w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func (p dlqPrinter) table(write func(tw *tabwriter.Writer)) error {
	tw := tabwriter.NewWriter(p.w, 0, 0, 2, ' ', 0)
	write(tw)
	return tw.Flush()
}

func (p dlqPrinter) list(page *bus.DLQPage) error {
	if p.json {
		return p.encode(page)
	}
	err := p.table(func(tw *tabwriter.Writer) {
		fmt.Fprintln(tw, "SEQ\tJOB\tSTAGE\tEXECUTION\tDELIVERIES\tDEAD-LETTERED\tREASON")
		for _, e := range page.Entries {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\t%s\n", e.Seq, e.JobType, e.Stage, dash(e.ExecutionID), e.Deliveries,
				e.DeadLetteredAt.Format(time.RFC3339), oneLine(e.Reason, 80))
		}
	})
	if err != nil {
		return err
	}
	more := ""
	if page.Next > 0 {
		more = fmt.Sprintf("; next page: --after %d", page.Next)
	}
	_, err = fmt.Fprintf(p.w, "%d of %d dead letters%s\n", len(page.Entries), page.Total, more)
	return err
}

func (p dlqPrinter) show(e *bus.DLQEntry) error {
	if p.json {
		return p.encode(e)
	}
	err := p.table(func(tw *tabwriter.Writer) {
		for _, row := range [][2]string{
			{"seq", strconv.FormatUint(e.Seq, 10)}, {"job", e.JobType}, {"stage", e.Stage},
			{"execution", dash(e.ExecutionID)}, {"command id", dash(e.CommandID)}, {"subject", e.Subject},
			{"deliveries", strconv.FormatUint(e.Deliveries, 10)}, {"dead-lettered", e.DeadLetteredAt.Format(time.RFC3339Nano)},
			{"reason", e.Reason},
		} {
			fmt.Fprintf(tw, "%s:\t%s\n", row[0], row[1])
		}
	})
	if err != nil || e.Command == nil {
		return err
	}
	fmt.Fprintln(p.w, "command:")
	err = p.table(func(tw *tabwriter.Writer) {
		for k, v := range e.Command.Headers {
			fmt.Fprintf(tw, "  %s:\t%s\n", k, v)
		}
	})
	if err != nil {
		return err
	}
	body := e.Command.Text
	if len(e.Command.Data) > 0 {
		body = string(e.Command.Data)
	}
	_, err = fmt.Fprintf(p.w, "  data: %s\n", body)
	return err
}

func (p dlqPrinter) replays(rs []*bus.DLQReplay) error {
	if p.json {
		if rs == nil {
			rs = []*bus.DLQReplay{}
		}
		return p.encode(rs)
	}
	if len(rs) == 0 {
		return nil
	}
	return p.table(func(tw *tabwriter.Writer) {
		fmt.Fprintln(tw, "SEQ\tJOB\tSTAGE\tEXECUTION\tNEW COMMAND ID\tREPLAYED BY")
		for _, r := range rs {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", r.Seq, r.JobType, r.Stage, dash(r.ExecutionID), r.CommandID, r.ReplayedBy)
		}
	})
}

func (p dlqPrinter) deleted(n uint64) error {
	if p.json {
		return p.encode(map[string]uint64{"deleted": n})
	}
	_, err := fmt.Fprintf(p.w, "%d dead letters removed\n", n)
	return err
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// oneLine keeps a reason on one table row.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
