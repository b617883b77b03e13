package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetjobs/jetjobs"
	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/jobs"
	"github.com/jetjobs/jetjobs/kv"
)

const jobsUsage = `usage: engine jobs ls [--output text|json]

  ls   the job types the engines serve or have executions of, their mode
       and their executions counted by status

Takes the connection flags of engine call (--config, --nats-url, --data-dir).`

const executionsUsage = `usage: engine executions <command> [flags]

  ls    list executions, the most recently updated first:
        engine executions ls [--job J] [--status S] [--since 1h] [--limit 50] [--cursor C]
  show  one execution: its record, its timeline from the audit trail and its result:
        engine executions show <job> <executionId>

Every command takes --output text|json and the connection flags of engine
call (--config, --nats-url, --data-dir). Listing reads the whole state
bucket (JOBS_STATE): fine from a terminal, not for a dashboard polling it.`

// jobsCommand: engine jobs [ls].
func jobsCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
		fmt.Fprintln(stdout, jobsUsage)
		return nil
	}
	if len(args) > 0 && args[0] == "ls" {
		args = args[1:]
	}
	fs, c, out := clientFlags("jobs ls", stderr)
	if err := fs.Parse(interleaved(fs, args)); err != nil {
		return err
	}
	if err := out.check(); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintln(stderr, jobsUsage)
		return fmt.Errorf("unknown jobs command %q", fs.Arg(0))
	}
	nc, js, _, err := c.dial("jetjobs-jobs")
	if err != nil {
		return err
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	list, err := listJobTypes(ctx, js)
	if err != nil {
		return err
	}
	if out.json(stdout, false) {
		return writeJSON(stdout, list)
	}
	p := newPainter(stdout)
	header := []string{"JOB", "MODE", "SERVED", "QUEUED"}
	for _, s := range statusOrder {
		header = append(header, string(s))
	}
	t := newTable(p, append(header, "TOTAL")...)
	for _, j := range list {
		served := "no"
		if j.Served {
			served = "yes"
		}
		row := []string{j.JobType, dash(j.Mode), served, strconv.FormatUint(j.QueuedCommands, 10)}
		for _, s := range statusOrder {
			n := strconv.Itoa(j.Counts[s])
			if j.Counts[s] > 0 {
				n = p.paint(statusColour(string(s)), n)
			}
			row = append(row, n)
		}
		t.row(append(row, strconv.Itoa(j.Total))...)
	}
	if err := t.write(stdout); err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%d job types\n", len(list))
	return err
}

// statusOrder is the order of the status columns.
var statusOrder = []jobs.Status{jobs.StatusStarted, jobs.StatusRunning, jobs.StatusCompleted, jobs.StatusFailed,
	jobs.StatusStopped, jobs.StatusTimedOut}

// jobType is one line of engine jobs ls.
type jobType struct {
	JobType string `json:"jobType"`
	// Mode is async when the job has a CHECK timer consumer, sync when it
	// has only a command consumer, else the mode its records say.
	Mode string `json:"mode,omitempty"`
	// Served: an engine created the job's command consumer (cmd-<job> on
	// JOBS_COMMANDS), so commands sent to it are taken.
	Served bool `json:"served"`
	// QueuedCommands waits in the command consumer, not yet delivered.
	QueuedCommands uint64              `json:"queuedCommands"`
	Counts         map[jobs.Status]int `json:"counts"`
	Total          int                 `json:"total"`
}

// listJobTypes reads the job types from where the engines leave them: the
// command consumers they create per registered job (bus.CommandConsumer),
// the timer consumers of the async ones (bus.TimerConsumer), the work
// consumers of the worker ones (bus.WorkConsumer), and the keys of the
// state bucket.
func listJobTypes(ctx context.Context, js jetstream.JetStream) ([]jobType, error) {
	byName := map[string]*jobType{}
	get := func(name string) *jobType {
		if j, ok := byName[name]; ok {
			return j
		}
		j := &jobType{JobType: name, Counts: map[jobs.Status]int{}}
		byName[name] = j
		return j
	}
	if err := consumers(ctx, js, bus.StreamCommands, func(ci *jetstream.ConsumerInfo) {
		if name, ok := strings.CutPrefix(ci.Name, bus.CommandConsumer("")); ok && name != "" {
			j := get(name)
			j.Served, j.QueuedCommands = true, ci.NumPending
			if j.Mode == "" {
				j.Mode = "sync"
			}
		}
	}); err != nil {
		return nil, err
	}
	if err := consumers(ctx, js, bus.StreamTimers, func(ci *jetstream.ConsumerInfo) {
		if name, ok := strings.CutPrefix(ci.Name, bus.TimerConsumer("")); ok && name != "" {
			get(name).Mode = "async"
		}
	}); err != nil {
		return nil, err
	}
	if err := consumers(ctx, js, bus.StreamWork, func(ci *jetstream.ConsumerInfo) {
		if name, ok := strings.CutPrefix(ci.Name, bus.WorkConsumer("")); ok && name != "" {
			get(name).Mode = "worker"
		}
	}); err != nil {
		return nil, err
	}
	err := kv.NewScanLister(js, "").Scan(ctx, "", func(e *jobs.Execution) {
		j := get(e.JobType)
		j.Counts[e.Status]++
		j.Total++
		if j.Mode == "" {
			j.Mode = e.Mode
		}
	})
	if err != nil && !errors.Is(err, jobs.ErrNotFound) {
		return nil, err
	}
	list := make([]jobType, 0, len(byName))
	for _, j := range byName {
		list = append(list, *j)
	}
	slices.SortFunc(list, func(a, b jobType) int { return strings.Compare(a.JobType, b.JobType) })
	return list, nil
}

// consumers calls fn with each consumer of a stream; a missing stream has
// none.
func consumers(ctx context.Context, js jetstream.JetStream, stream string, fn func(*jetstream.ConsumerInfo)) error {
	s, err := js.Stream(ctx, stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("stream %s: %w", stream, err)
	}
	l := s.ListConsumers(ctx)
	for ci := range l.Info() {
		fn(ci)
	}
	if err := l.Err(); err != nil {
		return fmt.Errorf("consumers of %s: %w", stream, err)
	}
	return nil
}

// executionsCommand: engine executions ls|show.
func executionsCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(stdout, executionsUsage)
		return nil
	}
	sub := args[0]
	fs, c, out := clientFlags("executions "+sub, stderr)
	job := fs.String("job", "", "only this job type (ls)")
	status := fs.String("status", "", "only this status: STARTED, RUNNING, COMPLETED, FAILED, STOPPED, TIMED_OUT (ls)")
	since := fs.Duration("since", 0, "only executions updated in this last while, e.g. 1h (ls)")
	limit := fs.Int("limit", kv.ScanDefaultLimit, fmt.Sprintf("executions per page (ls; at most %d)", kv.ScanMaxLimit))
	cursor := fs.String("cursor", "", "the next page: the cursor the previous page printed (ls)")
	if err := fs.Parse(interleaved(fs, args[1:])); err != nil {
		return err
	}
	if err := out.check(); err != nil {
		return err
	}
	q := jobs.ExecutionQuery{JobType: *job, Status: jobs.Status(strings.ToUpper(*status)), Limit: *limit, Cursor: *cursor}
	switch sub {
	case "ls", "list":
		if fs.NArg() > 0 {
			return errors.New("usage: engine executions ls [--job J] [--status S] [--since 1h] [--limit 50] [--cursor C]")
		}
		if q.Status != "" && !q.Status.Valid() {
			return fmt.Errorf("--status %q: want one of STARTED, RUNNING, COMPLETED, FAILED, STOPPED, TIMED_OUT", *status)
		}
		if *since < 0 {
			return fmt.Errorf("--since %s: want a positive duration", *since)
		}
		if *since > 0 {
			q.Since = time.Now().Add(-*since)
		}
	case "show", "get":
		if fs.NArg() != 2 {
			return errors.New("usage: engine executions show <job> <executionId>")
		}
	default:
		fmt.Fprintln(stderr, executionsUsage)
		return fmt.Errorf("unknown executions command %q", sub)
	}
	nc, js, cfg, err := c.dial("jetjobs-executions")
	if err != nil {
		return err
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	l := kv.NewScanLister(js, "")
	if sub == "ls" || sub == "list" {
		page, err := l.ListExecutions(ctx, q)
		if err != nil {
			return err
		}
		if out.json(stdout, false) {
			return writeJSON(stdout, page)
		}
		return printExecutions(stdout, page)
	}
	d, err := describeExecution(ctx, js, cfg, l, fs.Arg(0), fs.Arg(1))
	if err != nil {
		return err
	}
	if out.json(stdout, false) {
		return writeJSON(stdout, d)
	}
	return d.print(stdout)
}

func printExecutions(w io.Writer, page jobs.ExecutionPage) error {
	p := newPainter(w)
	t := newTable(p, "JOB", "EXECUTION", "STATUS", "PROGRESS", "CREATED", "UPDATED", "ERROR")
	for _, s := range page.Items {
		t.row(s.JobType, s.ExecutionID, p.status(string(s.Status)), strconv.Itoa(s.ProgressPercentage)+"%",
			s.CreatedAt.Local().Format(time.DateTime), s.UpdatedAt.Local().Format(time.DateTime), dash(oneLine(s.Error, 60)))
	}
	if err := t.write(w); err != nil {
		return err
	}
	more := ""
	if page.Next != "" {
		more = "; next page: --cursor " + page.Next
	}
	_, err := fmt.Fprintf(w, "%d executions%s\n", len(page.Items), more)
	return err
}

// execution is what engine executions show prints.
type execution struct {
	Execution *jobs.Execution   `json:"execution"`
	Timeline  []jobs.AuditEntry `json:"timeline"`
	Result    *jobs.Result      `json:"result,omitempty"`
}

// describeExecution gathers the record, its audit trail and its result
// (each of the last two may be missing: not audited, nothing stored yet).
func describeExecution(ctx context.Context, js jetstream.JetStream, cfg jetjobs.Config, l *kv.ScanLister, job, id string) (*execution, error) {
	if err := jobs.ValidateJobName(job); err != nil {
		return nil, err
	}
	if err := jobs.ValidateExecutionID(id); err != nil {
		return nil, err
	}
	rec, err := l.Get(ctx, job, id)
	if errors.Is(err, jobs.ErrNotFound) {
		return nil, fmt.Errorf("no execution %q of job %q", id, job)
	}
	if err != nil {
		return nil, err
	}
	// Parameters are masked as the engine masks them in logs and the audit
	// trail: a record keeps them as they were sent.
	rec.Parameters = jetjobs.SanitizerOf(cfg).Map(rec.Parameters)
	d := &execution{Execution: rec, Timeline: []jobs.AuditEntry{}}
	entries, err := bus.NewAuditLog(js, cfg.NATS.SubjectPrefix).Entries(ctx, job, id)
	if err != nil && !errors.Is(err, jobs.ErrNotFound) {
		return nil, err
	}
	if entries != nil {
		d.Timeline = entries
	}
	if d.Result, err = kv.ReadResult(ctx, js, job, id); err != nil && !errors.Is(err, jobs.ErrNotFound) {
		return nil, err
	}
	return d, nil
}

func (d *execution) print(w io.Writer) error {
	p := newPainter(w)
	e := d.Execution
	t := newTable(p)
	field := func(k, v string) {
		if v != "" {
			t.row(k+":", v)
		}
	}
	field("job", e.JobType+" ("+e.Mode+")")
	field("execution", e.ExecutionID)
	field("status", p.status(string(e.Status))+fmt.Sprintf("  %d%%", e.ProgressPercentage))
	field("message", e.Message)
	field("error", p.paint(ansiRed, e.Error))
	field("last stage", string(e.LastStage))
	field("created", e.CreatedAt.Local().Format(time.RFC3339))
	field("updated", e.UpdatedAt.Local().Format(time.RFC3339))
	if e.EndedAt != nil {
		field("ended", e.EndedAt.Local().Format(time.RFC3339)+" (took "+e.EndedAt.Sub(e.CreatedAt).Round(time.Millisecond).String()+")")
	}
	field("deadline", e.Deadline.Local().Format(time.RFC3339))
	field("attempts", fmt.Sprintf("%d (checks %d)", e.Attempts, e.Checks))
	field("saga", e.SagaID)
	field("initiator", e.Initiator)
	field("request id", e.RequestID)
	if len(e.Parameters) > 0 {
		b, _ := json.Marshal(e.Parameters)
		field("parameters", string(b))
	}
	if err := t.write(w); err != nil {
		return err
	}
	fmt.Fprintln(w, "\ntimeline:")
	if len(d.Timeline) == 0 {
		fmt.Fprintln(w, "  (no audit entries: orchestration.persistence audit off, or none written yet)")
	} else {
		if err := printTimeline(w, p, d.Timeline, "  "); err != nil {
			return err
		}
	}
	fmt.Fprintln(w, "\nresult:")
	if d.Result == nil {
		_, err := fmt.Fprintln(w, "  (none stored)")
		return err
	}
	r := d.Result
	fmt.Fprintf(w, "  %s at %s: %s\n", p.status(string(r.Status)), r.CompletedAt.Local().Format(time.RFC3339), r.Message)
	if r.Refused != "" {
		fmt.Fprintf(w, "  %s\n", r.Refused)
	}
	for _, out := range []struct {
		name string
		v    any
	}{{"output", r.TransformedOutput}, {"raw output", r.RawOutput}} {
		if out.v == nil || (out.name == "output" && len(r.TransformedOutput) == 0) {
			continue
		}
		b, err := json.MarshalIndent(out.v, "  ", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "  %s: %s\n", out.name, b)
	}
	return nil
}
