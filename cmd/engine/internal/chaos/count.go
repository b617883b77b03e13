package chaos

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetjobs/jetjobs"
	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/jobs"
	"github.com/jetjobs/jetjobs/saga"
)

// ErrUnsafe is returned by a run that lost or doubled work.
var ErrUnsafe = errors.New("chaos: work was lost or doubled")

// Summary is what a run counted. An execution is one accepted START or
// EXECUTE; a saga one accepted SAGA_START.
type Summary struct {
	Seed     int64          `json:"seed"`
	Faults   map[string]int `json:"faults"`
	Refused  int            `json:"refused"`  // STARTs the cluster did not acknowledge (the client saw an error)
	Accepted int            `json:"accepted"` // executions and sagas the cluster acknowledged
	// CompletedOnce: executions that ended COMPLETED with exactly one
	// terminal event, and sagas that ended as asked (COMPLETED, or
	// COMPENSATED when told to fail).
	CompletedOnce int `json:"completedOnce"`
	// Lost: accepted but not ended (or ended without a terminal event)
	// after the drain; a saga that ended otherwise than asked counts too.
	Lost int `json:"lost"`
	// Doubled: executions (the accepted ones and the sagas' steps) with
	// more than one terminal event, or whose handler ran to completion
	// more than once other than after its instance was killed.
	Doubled int `json:"doubled"`
	// RerunAfterKill: executions whose handler ran to completion again
	// because the instance that ran it first was killed before recording
	// it (at-least-once, docs/architecture.md "What a crash does").
	RerunAfterKill int      `json:"rerunAfterKill"`
	DeadLettered   int      `json:"deadLettered"` // messages in JOBS_DLQ
	Examples       []string `json:"examples,omitempty"`
	Took           float64  `json:"tookSeconds"`
}

// Safe reports whether nothing was lost or doubled.
func (s *Summary) Safe() bool { return s.Lost == 0 && s.Doubled == 0 }

// Line is the summary line: `chaos: accepted=N completed-once=N lost=N
// doubled=N dead-lettered=N ...`.
func (s *Summary) Line() string {
	return fmt.Sprintf("chaos: accepted=%d completed-once=%d lost=%d doubled=%d dead-lettered=%d refused=%d rerun-after-kill=%d faults=%d",
		s.Accepted, s.CompletedOnce, s.Lost, s.Doubled, s.DeadLettered, s.Refused, s.RerunAfterKill, s.faultCount())
}

func (s *Summary) faultCount() int {
	n := 0
	for _, c := range s.Faults {
		n += c
	}
	return n
}

// Print writes the fault counts, the examples of what went wrong and the
// summary line.
func (s *Summary) Print(w io.Writer) {
	var kinds []string
	for k, n := range s.Faults {
		kinds = append(kinds, fmt.Sprintf("%s=%d", k, n))
	}
	sort.Strings(kinds)
	fmt.Fprintf(w, "faults: %s (seed %d, %.0fs)\n", strings.Join(kinds, " "), s.Seed, s.Took)
	for _, e := range s.Examples {
		fmt.Fprintln(w, "  "+e)
	}
	fmt.Fprintln(w, s.Line())
}

// maxExamples bounds the lost or doubled executions named in the report.
const maxExamples = 20

// count waits up to Drain for the accepted work to end, then counts.
func (r *runner) count(ctx context.Context, seed int64) (*Summary, error) {
	r.mu.Lock()
	sum := &Summary{Seed: seed, Faults: map[string]int{}, Refused: r.refused, Accepted: len(r.sent)}
	for k, n := range r.faults {
		sum.Faults[k] = n
	}
	all := append([]sent(nil), r.sent...)
	r.mu.Unlock()
	r.say("chaos: load stopped; draining %d accepted (up to %s)", len(all), r.cfg.Drain)
	example := func(format string, a ...any) {
		if len(sum.Examples) < maxExamples {
			sum.Examples = append(sum.Examples, fmt.Sprintf(format, a...))
		}
	}
	dctx, cancel := context.WithTimeout(ctx, r.cfg.Drain)
	defer cancel()
	ended := r.drain(dctx, all)
	events, err := r.terminalEvents(ctx, all, ended)
	if err != nil {
		return nil, err
	}
	for _, s := range all {
		got, ok := ended[s.id]
		switch {
		case !ok:
			sum.Lost++
			example("lost: %s %s (fail=%v) accepted at %s: %s", s.kind, s.id, s.fail, r.since(s.at), r.lastSeen(ctx, s))
		case s.kind == kindSaga:
			want := saga.StatusCompleted
			if s.fail {
				want = saga.StatusCompensated
			}
			if got != string(want) {
				sum.Lost++
				example("saga %s accepted at %s ended %s, want %s", s.id, r.since(s.at), got, want)
			} else {
				sum.CompletedOnce++
			}
		case events[s.id] == 0:
			sum.Lost++
			example("no terminal event: %s %s accepted at %s ended %s", s.kind, s.id, r.since(s.at), got)
		case got == string(jobs.StatusCompleted) && events[s.id] == 1:
			sum.CompletedOnce++
		}
	}
	for id, n := range events {
		if n > 1 {
			sum.Doubled++
			example("doubled: %s has %d terminal events", id, n)
		}
	}
	r.ledger.mu.Lock()
	runs := make(map[string][]run, len(r.ledger.runs))
	for id, rs := range r.ledger.runs {
		runs[id] = rs
	}
	r.ledger.mu.Unlock()
	r.mu.Lock()
	killed := make(map[run]bool, len(r.killed))
	for k, v := range r.killed {
		killed[k] = v
	}
	r.mu.Unlock()
	for id, rs := range runs {
		if len(rs) < 2 || events[id] > 1 {
			continue
		}
		excused := false
		for _, x := range rs[:len(rs)-1] {
			excused = excused || killed[x]
		}
		if excused {
			sum.RerunAfterKill++
			continue
		}
		sum.Doubled++
		example("doubled: %s ran to completion %d times (instance.life %v)", id, len(rs), rs)
	}
	if st, err := r.js.Stream(ctx, bus.StreamDLQ); err == nil {
		sum.DeadLettered = int(st.CachedInfo().State.Msgs)
	}
	sum.Took = time.Since(r.began).Seconds()
	return sum, nil
}

// drain waits until every accepted execution and saga has ended (or ctx
// ends) and returns how each ended.
func (r *runner) drain(ctx context.Context, all []sent) map[string]string {
	ended := map[string]string{}
	for {
		for _, s := range all {
			if _, ok := ended[s.id]; ok {
				continue
			}
			if st := r.status(ctx, s); st != "" {
				ended[s.id] = st
			}
		}
		if len(ended) == len(all) || ctx.Err() != nil {
			return ended
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// status is how s ended, "" while it has not.
func (r *runner) status(ctx context.Context, s sent) string {
	gctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if s.kind == kindSaga {
		in, err := r.sagas.Get(gctx, Saga, s.id)
		if err != nil || in.EndedAt == nil {
			return ""
		}
		return string(in.Status)
	}
	job := JobAsync
	if s.kind == kindSync {
		job = JobSync
	}
	eng := r.anyEngine()
	if eng == nil {
		return ""
	}
	exec, _, err := eng.State().Get(gctx, job, s.id)
	if err != nil || !exec.Status.Terminal() {
		return ""
	}
	return string(exec.Status)
}

// lastSeen describes a lost execution's record.
func (r *runner) lastSeen(ctx context.Context, s sent) string {
	gctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if s.kind == kindSaga {
		in, err := r.sagas.Get(gctx, Saga, s.id)
		if err != nil {
			return err.Error()
		}
		steps := ""
		for _, st := range in.Steps {
			steps += fmt.Sprintf(" %s=%s(%s", st.Name, st.Run.Status, st.Run.ExecutionID)
			if st.Run.ExecutionID != "" {
				if eng := r.anyEngine(); eng != nil {
					if exec, _, err := eng.State().Get(gctx, st.Run.Job, st.Run.ExecutionID); err == nil {
						steps += " " + string(exec.Status)
					} else {
						steps += " " + err.Error()
					}
				}
			}
			steps += ")"
		}
		return fmt.Sprintf("%s since %s;%s", in.Status, r.since(in.UpdatedAt), steps)
	}
	job := JobAsync
	if s.kind == kindSync {
		job = JobSync
	}
	eng := r.anyEngine()
	if eng == nil {
		return "no engine"
	}
	exec, _, err := eng.State().Get(gctx, job, s.id)
	if err != nil {
		return "record: " + err.Error()
	}
	return fmt.Sprintf("%s since %s", exec.Status, r.since(exec.UpdatedAt))
}

// terminalEvents counts the terminal events stored per execution id for
// the chaos job types, waiting (up to 30s) until every ended execution
// has one: events are written after the record.
func (r *runner) terminalEvents(ctx context.Context, all []sent, ended map[string]string) (map[string]int, error) {
	var counts map[string]int
	for deadline := time.Now().Add(30 * time.Second); ; {
		var err error
		if counts, err = r.readTerminalEvents(ctx); err != nil && time.Now().After(deadline) {
			return nil, err
		}
		missing := 0
		for _, s := range all {
			if _, ok := ended[s.id]; ok && s.kind != kindSaga && counts[s.id] == 0 {
				missing++
			}
		}
		if err == nil && (missing == 0 || time.Now().After(deadline)) {
			return counts, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

func (r *runner) readTerminalEvents(ctx context.Context) (map[string]int, error) {
	var filters []string
	for _, typ := range []string{jobs.EventCompleted, jobs.EventFailed, jobs.EventStopped} {
		filters = append(filters, bus.Subjects{Prefix: r.prefix}.Event("*", typ))
	}
	cons, err := r.js.OrderedConsumer(ctx, bus.StreamEvents, jetstream.OrderedConsumerConfig{FilterSubjects: filters})
	if err != nil {
		return nil, err
	}
	info, err := cons.Info(ctx)
	if err != nil {
		return nil, err
	}
	counts := map[string]int{}
	for left := info.NumPending; left > 0; {
		batch, err := cons.FetchNoWait(int(min(left, 1000)))
		if err != nil {
			return nil, err
		}
		n := 0
		for m := range batch.Messages() {
			counts[m.Headers().Get("ce-executionid")]++
			n++
		}
		if batch.Error() != nil {
			return nil, batch.Error()
		}
		if n == 0 {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			time.Sleep(50 * time.Millisecond)
			continue
		}
		left -= uint64(n)
	}
	return counts, nil
}

// anyEngine is a running instance's engine, nil if none runs.
func (r *runner) anyEngine() *jetjobs.Engine {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, in := range r.inst {
		if in != nil && in.eng != nil {
			return in.eng
		}
	}
	return nil
}
