package saga

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jetjobs/jetjobs/jobs"
)

// The rules of a saga, as pure functions on an Instance: no I/O, so the
// coordinator can apply them inside a compare-and-set loop and tests can
// check them without a server. Each returns whether it changed anything.

// newInstance builds a saga instance and starts its root steps. modeOf
// resolves a job's mode when the definition leaves it empty.
func newInstance(d *Definition, sagaID string, input map[string]any, modeOf func(job string, m Mode) Mode, now time.Time) *Instance {
	in := &Instance{Saga: d.Name, SagaID: sagaID, Status: StatusRunning, Input: input, CreatedAt: now, UpdatedAt: now}
	for _, s := range d.Steps {
		st := &StepState{Name: s.Name, Run: Run{Job: s.Job, Mode: modeOf(s.Job, s.Mode), Status: RunPending,
			MaxAttempts: s.Retry.MaxAttempts}}
		if c := s.Compensate; c != nil {
			st.Comp = &Run{Job: c.Job, Mode: modeOf(c.Job, c.Mode), Status: RunPending, MaxAttempts: c.Retry.MaxAttempts}
		}
		in.Steps = append(in.Steps, st)
	}
	in.emit(EventStarted, now, EventData{Data: input})
	advance(d, in, now)
	return in
}

// outcome is how an attempt ended.
type outcome struct {
	ok        bool
	result    map[string]any
	err       string
	permanent bool // no retry can help (bad parameters)
}

// endRun records the end of the current attempt of a run. An outcome for an
// older attempt, or for a run that is not running, changes nothing: that is
// what makes a redelivered event harmless.
func endRun(d *Definition, in *Instance, step string, comp bool, executionID string, o outcome, now time.Time) bool {
	r := in.run(step, comp)
	if r == nil || r.ExecutionID != executionID || r.Status != RunRunning {
		return false
	}
	if o.ok {
		r.Status, r.Result, r.Error, r.EndedAt = RunCompleted, o.result, "", &now
		r.Claim, r.ClaimUntil = "", nil
		if !comp {
			in.Completed = append(in.Completed, step)
			in.emit(EventStepCompleted, now, EventData{Step: step, JobType: r.Job, ExecutionID: r.ExecutionID, Data: o.result})
		}
	} else {
		r.Error, r.Claim, r.ClaimUntil = o.err, "", nil
		// A step is retried only while the saga still goes forward; a
		// compensation always, since it must happen.
		if !o.permanent && r.Attempt < r.MaxAttempts && (comp || in.Status == StatusRunning) {
			at := now.Add(retryOf(d, step, comp).Delay(r.Attempt))
			r.Status, r.RetryAt, r.TimerArmed = RunWaiting, &at, false
		} else {
			r.Status, r.EndedAt = RunFailed, &now
		}
	}
	advance(d, in, now)
	return true
}

// retryDue starts the next attempt of a WAITING run when its retry timer
// for attempt fires.
func retryDue(d *Definition, in *Instance, step string, comp bool, attempt int, now time.Time) bool {
	r := in.run(step, comp)
	if r == nil || r.Status != RunWaiting || r.Attempt != attempt {
		return false
	}
	startRun(in, step, comp, r, now)
	advance(d, in, now)
	return true
}

// advance moves the instance as far as it can without outside help: start
// the steps whose dependencies are done, complete the saga, or turn to
// compensation and start the compensations whose turn it is. Idempotent.
func advance(d *Definition, in *Instance, now time.Time) {
	if in.Status == StatusRunning {
		failed := failedStep(in)
		if failed == nil && !in.Cancel {
			startReady(d, in, now)
			if allCompleted(in) {
				in.Status, in.EndedAt = StatusCompleted, &now
				for _, s := range in.Steps {
					if s.Comp != nil {
						s.Comp.Status = RunSkipped
					}
				}
				in.emit(EventCompleted, now, EventData{Data: in.results()})
			}
			return
		}
		in.Status = StatusCompensating
		ev := EventData{Error: in.Error}
		if failed != nil {
			in.Failed = failed.Name
			in.Error = fmt.Sprintf("step %s failed: %s", failed.Name, failed.Run.Error)
			ev = EventData{Step: failed.Name, JobType: failed.Run.Job, ExecutionID: failed.Run.ExecutionID, Error: in.Error}
		}
		in.emit(EventCompensating, now, ev)
	}
	if in.Status == StatusCompensating {
		compensate(d, in, now)
	}
}

func startReady(d *Definition, in *Instance, now time.Time) {
	for _, s := range in.Steps {
		def := d.step(s.Name)
		if s.Run.Status != RunPending || def == nil {
			continue
		}
		ready := true
		for _, dep := range def.DependsOn {
			if st := in.step(dep); st == nil || st.Run.Status != RunCompleted {
				ready = false
			}
		}
		if ready {
			startRun(in, s.Name, false, &s.Run, now)
		}
	}
}

func startRun(in *Instance, step string, comp bool, r *Run, now time.Time) {
	r.Attempt++
	r.ExecutionID = executionID(in.SagaID, step, comp, r.Attempt)
	r.Status, r.Dispatched, r.StopSent, r.TimerArmed, r.RetryAt = RunRunning, false, false, false, nil
	r.Claim, r.ClaimUntil = "", nil
	r.StartedAt, r.EndedAt = &now, nil
}

func failedStep(in *Instance) *StepState {
	for _, s := range in.Steps {
		if s.Run.Status == RunFailed {
			return s
		}
	}
	return nil
}

func allCompleted(in *Instance) bool {
	for _, s := range in.Steps {
		if s.Run.Status != RunCompleted {
			return false
		}
	}
	return true
}

// compensate runs the compensation policy. Steps still running are waited
// for (the coordinator stops them), so that one completing late is undone
// too; then the completed steps are undone in reverse completion order,
// one at a time or by groups.
func compensate(d *Definition, in *Instance, now time.Time) {
	running := false
	for _, s := range in.Steps {
		switch s.Run.Status {
		case RunPending:
			s.Run.Status = RunSkipped
		case RunWaiting:
			s.Run.Status, s.Run.EndedAt = RunFailed, &now
			s.Run.Error = "abandoned while waiting for a retry: " + s.Run.Error
		case RunRunning:
			running = true
		}
	}
	if running {
		return
	}
	for _, group := range compensationPlan(d, in) {
		busy := false
		for _, name := range group {
			r := in.step(name).Comp
			switch r.Status {
			case RunPending:
				if !in.Halted {
					startRun(in, name, true, r, now)
					busy = true
				}
			case RunRunning, RunWaiting:
				busy = true
			case RunFailed:
				if s := d.step(name); s != nil && s.Compensate != nil && s.Compensate.Critical {
					in.Halted = true
				}
			}
		}
		if busy {
			return
		}
		if in.Halted {
			break
		}
	}
	finishCompensation(in, now)
}

// compensationPlan lists the steps to undo, in groups that run together:
// the completed steps that have a compensation, latest completion first.
func compensationPlan(d *Definition, in *Instance) [][]string {
	var order []string
	for i := len(in.Completed) - 1; i >= 0; i-- {
		if s := in.step(in.Completed[i]); s != nil && s.Comp != nil && s.Run.Status == RunCompleted {
			order = append(order, s.Name)
		}
	}
	switch d.Compensation {
	case BestEffortParallel:
		return [][]string{order}
	case GroupedParallel:
		// Deepest DAG layer first; the sort is stable, so a layer keeps
		// reverse completion order.
		slices.SortStableFunc(order, func(a, b string) int { return cmp.Compare(d.layer(b), d.layer(a)) })
		var groups [][]string
		for i, name := range order {
			if i == 0 || d.layer(name) != d.layer(order[i-1]) {
				groups = append(groups, nil)
			}
			groups[len(groups)-1] = append(groups[len(groups)-1], name)
		}
		return groups
	}
	groups := make([][]string, len(order))
	for i, name := range order {
		groups[i] = []string{name}
	}
	return groups
}

func finishCompensation(in *Instance, now time.Time) {
	var failures []string
	for _, s := range in.Steps {
		if s.Comp == nil {
			continue
		}
		switch {
		case s.Comp.Status == RunFailed:
			failures = append(failures, fmt.Sprintf("compensation of step %s failed: %s", s.Name, s.Comp.Error))
		case s.Comp.Status == RunPending && s.Run.Status != RunCompleted:
			s.Comp.Status = RunSkipped // nothing to undo
		}
	}
	in.EndedAt = &now
	switch {
	case len(failures) > 0:
		in.Status = StatusFailed
		in.CompError = strings.Join(failures, "; ")
		if in.Halted {
			in.CompError += " (critical: the remaining compensations were not started)"
		}
		in.emit(EventFailed, now, EventData{Step: in.Failed, Error: in.CompError})
	case in.Cancel && in.Failed == "":
		in.Status = StatusCancelled
		in.emit(EventCompensated, now, EventData{Error: in.Error})
	default:
		in.Status = StatusCompensated
		in.emit(EventCompensated, now, EventData{Step: in.Failed, Error: in.Error})
	}
}

// resume retries the failed compensations of a FAILED saga (and those a
// critical failure held back), each with a fresh attempt budget.
func resume(d *Definition, in *Instance, now time.Time) error {
	if in.Status != StatusFailed {
		return jobs.Errorf(jobs.CodeConflict, "saga %s/%s is %s: only a FAILED saga can be resumed", in.Saga, in.SagaID, in.Status)
	}
	for _, s := range in.Steps {
		if s.Comp != nil && s.Comp.Status == RunFailed {
			s.Comp.Status = RunPending
			s.Comp.MaxAttempts = s.Comp.Attempt + retryOf(d, s.Name, true).MaxAttempts
		}
	}
	in.Status, in.Halted, in.CompError, in.EndedAt = StatusCompensating, false, "", nil
	in.emit(EventCompensating, now, EventData{Step: in.Failed, Error: in.Error, Data: map[string]any{"resumed": true}})
	advance(d, in, now)
	return nil
}

// cancel turns a running saga to compensation; it ends CANCELLED once every
// completed step is undone.
func cancel(d *Definition, in *Instance, reason string, now time.Time) error {
	if in.Status != StatusRunning {
		return jobs.Errorf(jobs.CodeConflict, "saga %s/%s is %s: only a RUNNING saga can be cancelled", in.Saga, in.SagaID, in.Status)
	}
	in.Cancel = true
	in.Error = "cancelled: " + cmp.Or(reason, "by request")
	advance(d, in, now)
	return nil
}

func retryOf(d *Definition, step string, comp bool) Retry {
	s := d.step(step)
	switch {
	case s == nil:
		return Retry{}.withDefaults(1)
	case comp && s.Compensate != nil:
		return s.Compensate.Retry
	}
	return s.Retry
}

func timeoutOf(d *Definition, step string, comp bool) time.Duration {
	s := d.step(step)
	switch {
	case s == nil:
		return 0
	case comp && s.Compensate != nil:
		return s.Compensate.Timeout
	}
	return s.Timeout
}
