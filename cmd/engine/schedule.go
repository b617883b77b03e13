package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jetjobs/jetjobs"
	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/httpadapter"
	"github.com/jetjobs/jetjobs/jobs"
)

const scheduleUsage = `usage: engine schedule <command> [flags]

  add      create or replace a schedule: engine schedule add <job> <name> --cron '0 0 2 * * *' [--time-zone Europe/Paris]
           | --every 15m | --at 2027-01-01T00:00:00Z, [--params '{"k":"v"}'] [--metadata k=v,k2=v2] [--paused]
  ls       list schedules and their next runs: engine schedule ls [job]
  rm       delete a schedule; its ticks stop: engine schedule rm <job> <name>
  pause    keep a schedule but stop its ticks: engine schedule pause <job> <name>
  resume   start its ticks again: engine schedule resume <job> <name>

Every command takes --output text|json (-o) and the connection flags of
engine call (--config, --nats-url, --data-dir). Cron has six fields,
seconds first. See docs/schedules.md.`

// scheduleCommand: engine schedule add|ls|rm|pause|resume.
func scheduleCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(stdout, scheduleUsage)
		return nil
	}
	sub := args[0]
	fs, c, out := clientFlags("schedule "+sub, stderr)
	var sc jobs.Schedule
	fs.StringVar(&sc.Cron, "cron", "", "cron expression, six fields with seconds (add)")
	fs.StringVar(&sc.Every, "every", "", "interval, a Go duration >= 1s (add)")
	fs.StringVar(&sc.At, "at", "", "one RFC 3339 time (add)")
	fs.StringVar(&sc.TimeZone, "time-zone", "", "IANA time zone of --cron (add)")
	params := fs.String("params", "", "the START's parameters, a JSON object (add)")
	metadata := fs.String("metadata", "", "the START's metadata, k=v,k2=v2 (add)")
	fs.BoolVar(&sc.Paused, "paused", false, "create it paused (add)")
	// <job> <name> may come before or after the flags: engine schedule add export nightly --every 1h.
	if err := fs.Parse(interleaved(fs, args[1:])); err != nil {
		return err
	}
	if err := out.check(); err != nil {
		return err
	}
	pos := fs.Args()
	switch sub {
	case "ls", "list":
		if len(pos) > 1 {
			return errors.New("usage: engine schedule ls [job]")
		}
	case "add", "rm", "pause", "resume":
		if len(pos) != 2 {
			return fmt.Errorf("usage: engine schedule %s <job> <name>", sub)
		}
		sc.Job, sc.Name, sc.Origin = pos[0], pos[1], jobs.OriginAPI
	default:
		fmt.Fprintln(stderr, scheduleUsage)
		return fmt.Errorf("unknown schedule command %q", sub)
	}
	if sub == "add" {
		if err := scheduleInputs(&sc, *params, *metadata); err != nil {
			return err
		}
		if err := sc.Validate(); err != nil {
			return err
		}
	}
	nc, js, cfg, err := c.dial("jetjobs-schedule")
	if err != nil {
		return err
	}
	defer nc.Close()
	store := bus.NewSchedules(js, cfg.NATS.SubjectPrefix).WithSanitizer(jetjobs.SanitizerOf(cfg))
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	p := schedulePrinter{w: stdout, json: out.json(stdout, false), now: time.Now(), shown: store.Shown}
	switch sub {
	case "ls", "list":
		job := ""
		if len(pos) == 1 {
			job = pos[0]
		}
		list, err := store.List(ctx, job)
		if err != nil {
			return err
		}
		if err := p.list(list); err != nil || p.json {
			return err
		}
		noun := "schedules"
		if len(list) == 1 {
			noun = "schedule"
		}
		_, err = fmt.Fprintf(stdout, "%d %s\n", len(list), noun)
		return err
	case "add":
		if err := store.Put(ctx, sc); err != nil {
			return err
		}
	case "rm":
		if err := store.Delete(ctx, sc.Job, sc.Name); err != nil {
			return err
		}
		return p.removed(sc.Job, sc.Name)
	case "pause":
		err = store.Pause(ctx, sc.Job, sc.Name)
	case "resume":
		err = store.Resume(ctx, sc.Job, sc.Name)
	}
	if err != nil {
		return err
	}
	got, err := store.Get(ctx, sc.Job, sc.Name)
	if err != nil {
		return err
	}
	return p.list([]jobs.Schedule{*got})
}

// scheduleInputs reads --params and --metadata into sc.
func scheduleInputs(sc *jobs.Schedule, params, metadata string) error {
	if params != "" {
		if err := json.Unmarshal([]byte(params), &sc.Parameters); err != nil {
			return fmt.Errorf("--params: want a JSON object: %v", err)
		}
	}
	if metadata != "" {
		sc.Metadata = map[string]string{}
		for _, kv := range strings.Split(metadata, ",") {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || strings.TrimSpace(k) == "" {
				return fmt.Errorf("--metadata: %q is not k=v", kv)
			}
			sc.Metadata[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return nil
}

// schedulePrinter writes schedules with the CLI's shared output
// (output.go): an aligned table, the state coloured on a terminal, or JSON
// (the REST answer's shape: httpadapter.ScheduleView).
type schedulePrinter struct {
	w     io.Writer
	json  bool
	now   time.Time
	shown func(jobs.Schedule) jobs.Schedule // sensitive values masked
}

func (p schedulePrinter) list(list []jobs.Schedule) error {
	views := make([]httpadapter.ScheduleView, 0, len(list))
	for _, sc := range list {
		views = append(views, httpadapter.View(p.shown(sc), p.now))
	}
	if p.json {
		return writeJSON(p.w, httpadapter.ScheduleList{Items: views})
	}
	pt := newPainter(p.w)
	t := newTable(pt, "JOB", "NAME", "SCHEDULE", "TIME ZONE", "STATE", "ORIGIN", "NEXT RUN")
	for _, v := range views {
		state, next := pt.paint(ansiGreen, "active"), "-"
		if v.Paused {
			state = pt.paint(ansiYellow, "paused")
		}
		if len(v.NextRuns) > 0 {
			next = v.NextRuns[0].UTC().Format(time.RFC3339)
		}
		tz := v.TimeZone
		if tz == "" {
			tz = "UTC"
		}
		t.row(v.Job, v.Name, v.Pattern(), tz, state, dash(v.Origin), next)
	}
	return t.write(p.w)
}

func (p schedulePrinter) removed(job, name string) error {
	if p.json {
		return writeJSON(p.w, map[string]any{"job": job, "name": name, "deleted": true})
	}
	_, err := fmt.Fprintf(p.w, "schedule %s/%s deleted\n", job, name)
	return err
}
