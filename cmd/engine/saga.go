package main

import (
	"flag"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/jetjobs/jetjobs/saga"
)

// sagaHooks present engine saga: --output text|json (JSON when piped, as
// it always printed), and with start --wait or wait a line per step change
// (a bar of the steps done on a terminal).
func sagaHooks(stdout io.Writer) saga.CLIHooks {
	var out outputFlag
	var steps *sagaSteps
	return saga.CLIHooks{
		Flags: func(fs *flag.FlagSet) { out.register(fs) },
		Print: func(w io.Writer, v any) error {
			if err := out.check(); err != nil {
				return err
			}
			if steps != nil {
				steps.end()
			}
			if out.json(w, true) {
				return writeJSON(w, v)
			}
			return printSagaAnswer(w, v)
		},
		Progress: func(in *saga.Instance) {
			if out.check() != nil || out.json(stdout, true) {
				return
			}
			if steps == nil {
				steps = newSagaSteps(stdout, in)
			}
			steps.update(in)
		},
	}
}

// sagaSteps shows a running saga: a line per change of the saga's or a
// step's status, or a bar of the steps done.
type sagaSteps struct {
	w    io.Writer
	p    painter
	bar  *progressbar.ProgressBar // on a terminal
	last map[string]string        // step (or "" for the saga) -> what was shown
}

func newSagaSteps(w io.Writer, in *saga.Instance) *sagaSteps {
	s := &sagaSteps{w: w, p: newPainter(w), last: map[string]string{}}
	fmt.Fprintf(w, "saga %s %s: %d steps\n", in.Saga, in.SagaID, len(in.Steps))
	if isTerminal(w) {
		s.bar = progressbar.NewOptions(len(in.Steps), progressbar.OptionSetWriter(w), progressbar.OptionSetWidth(30),
			progressbar.OptionSetElapsedTime(true), progressbar.OptionSetPredictTime(false), progressbar.OptionShowCount(),
			progressbar.OptionShowDescriptionAtLineEnd(), progressbar.OptionSetRenderBlankState(true))
	}
	return s
}

func (s *sagaSteps) update(in *saga.Instance) {
	now := time.Now().Local().Format(time.TimeOnly)
	sagaLine := func() {
		if s.last[""] != string(in.Status) {
			s.last[""] = string(in.Status)
			if s.bar == nil {
				fmt.Fprintf(s.w, "%s saga %s\n", now, s.p.status(string(in.Status)))
			}
		}
	}
	if !in.Status.Terminal() {
		sagaLine()
	}
	defer sagaLine()
	done := 0
	current := ""
	for _, st := range in.Steps {
		r := st.Run
		what := string(r.Status)
		if st.Comp != nil && st.Comp.Status != saga.RunPending && st.Comp.Status != saga.RunSkipped {
			r = *st.Comp
			what = "compensation " + string(r.Status)
		}
		if st.Run.Status == saga.RunCompleted {
			done++
		}
		if s.last[st.Name] == what {
			continue
		}
		s.last[st.Name] = what
		if r.Status == saga.RunPending {
			continue
		}
		current = fmt.Sprintf("%s %s", st.Name, s.p.status(string(r.Status)))
		if s.bar == nil {
			attempt := ""
			if r.Attempt > 1 {
				attempt = " attempt " + strconv.Itoa(r.Attempt)
			}
			fmt.Fprintf(s.w, "%s step %s (%s) %s%s %s\n", now, st.Name, r.Job, s.p.status(what), attempt, dash(r.ExecutionID))
		}
	}
	if s.bar != nil {
		if current != "" {
			s.bar.Describe(current)
		}
		_ = s.bar.Set(done)
	}
}

// end closes the bar before the answer is printed.
func (s *sagaSteps) end() {
	if s.bar != nil && !s.bar.IsFinished() {
		_ = s.bar.Exit()
		fmt.Fprintln(s.w)
	}
	s.bar = nil
}

// printSagaAnswer writes what engine saga answers, for people.
func printSagaAnswer(w io.Writer, v any) error {
	p := newPainter(w)
	switch v := v.(type) {
	case *saga.Instance:
		t := newTable(p)
		t.row("saga:", v.Saga+" "+v.SagaID)
		t.row("status:", p.status(string(v.Status)))
		for _, kv := range [][2]string{{"error", v.Error}, {"compensation error", v.CompError}, {"failed step", v.Failed},
			{"initiator", v.Initiator}} {
			if kv[1] != "" {
				t.row(kv[0]+":", kv[1])
			}
		}
		t.row("created:", v.CreatedAt.Local().Format(time.RFC3339))
		if v.EndedAt != nil {
			t.row("ended:", v.EndedAt.Local().Format(time.RFC3339)+" (took "+v.EndedAt.Sub(v.CreatedAt).Round(time.Millisecond).String()+")")
		}
		if err := t.write(w); err != nil {
			return err
		}
		st := newTable(p, "  STEP", "JOB", "STATUS", "ATTEMPT", "EXECUTION", "COMPENSATION")
		for _, s := range v.Steps {
			comp := "-"
			if s.Comp != nil {
				comp = p.status(string(s.Comp.Status))
			}
			st.row("  "+s.Name, s.Run.Job, p.status(string(s.Run.Status)), strconv.Itoa(s.Run.Attempt), dash(s.Run.ExecutionID), comp)
		}
		return st.write(w)
	case *saga.Response:
		if v.Success {
			_, err := fmt.Fprintf(w, "%s %s: %s\n", v.Saga, v.SagaID, p.status(string(v.Status)))
			return err
		}
		_, err := fmt.Fprintf(w, "%s %s: %s (%s)\n", v.Saga, v.SagaID, p.paint(ansiRed, v.Error), v.Code)
		return err
	case []string:
		for _, id := range v {
			if _, err := fmt.Fprintln(w, id); err != nil {
				return err
			}
		}
		return nil
	}
	return writeJSON(w, v)
}
