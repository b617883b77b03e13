package saga

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/jobs"
)

// drive carries out what an instance's state asks for: publish the outbox,
// send START/EXECUTE for runs not yet accepted by the engine, STOP steps
// still running while the saga compensates, arm retry timers. Each effect
// is idempotent (deterministic execution ids, dedup ids) and is recorded by
// a compare-and-set once done, so a coordinator that dies half-way leaves
// work that the next one, driving the same instance, finishes.
func (c *Coordinator) drive(ctx context.Context, d *Definition, saga, sagaID string) error {
	for range 128 {
		in, _, err := c.store.get(ctx, saga, sagaID)
		if err != nil {
			return err
		}
		flushBusy := false
		if len(in.Outbox) > 0 {
			switch err := c.flush(ctx, in); {
			case errors.Is(err, errFlushBusy):
				// Another drive publishes the outbox; this one does the
				// rest of the work and, if events are left at the end,
				// comes back for them (the claim is gone by then).
				flushBusy = true
			case err != nil:
				return err
			}
		}
		effects := c.effects(d, in)
		if len(effects) == 0 {
			if flushBusy {
				return errBusy
			}
			return nil
		}
		// Independent runs go out together: parallel steps start in
		// parallel, and one slow sync job does not hold the others.
		errs := make([]error, len(effects))
		var wg sync.WaitGroup
		for i, f := range effects {
			wg.Add(1)
			go func() { defer wg.Done(); errs[i] = f(ctx) }()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return err
		}
	}
	return fmt.Errorf("saga %s/%s: state did not settle", saga, sagaID)
}

// effects lists what is left to do for an instance.
func (c *Coordinator) effects(d *Definition, in *Instance) []func(context.Context) error {
	var out []func(context.Context) error
	for _, s := range in.Steps {
		runs := []*Run{&s.Run}
		if s.Comp != nil {
			runs = append(runs, s.Comp)
		}
		for i, r := range runs {
			step, comp, r := s.Name, i == 1, *r
			switch {
			case r.Status == RunRunning && !r.Dispatched:
				out = append(out, func(ctx context.Context) error { return c.dispatch(ctx, d, in, step, comp, r) })
			case r.Status == RunRunning && !comp && in.Status == StatusCompensating && r.Mode == ModeAsync && !r.StopSent:
				out = append(out, func(ctx context.Context) error { return c.stopRun(ctx, d, in, step, r) })
			case r.Status == RunWaiting && !r.TimerArmed:
				out = append(out, func(ctx context.Context) error { return c.armRetry(ctx, in, step, comp, r) })
			}
		}
	}
	return out
}

// dispatch sends one attempt to the engine. An async job gets START and
// ends with an event; a sync job gets EXECUTE, whose answer settles it (the
// answer carries the result, which the job's events do not).
func (c *Coordinator) dispatch(ctx context.Context, d *Definition, in *Instance, step string, comp bool, r Run) error {
	if limit := timeoutOf(d, step, comp); limit > 0 && r.StartedAt != nil {
		due := r.StartedAt.Add(limit)
		if err := c.armTimer(ctx, timer{Kind: timerTimeout, Saga: in.Saga, SagaID: in.SagaID, Step: step, Comp: comp,
			Attempt: r.Attempt, ExecutionID: r.ExecutionID}, due); err != nil {
			return err
		}
	}
	in, claimed, err := c.claim(ctx, in, step, comp, r.ExecutionID)
	if err != nil || !claimed {
		return err
	}
	params, err := c.params(d, in, step, comp)
	if err != nil {
		return c.settle(ctx, d, in, step, comp, r.ExecutionID, outcome{err: "parameters: " + err.Error(), permanent: true})
	}
	req := &jobs.Request{ExecutionID: r.ExecutionID, Parameters: params, Initiator: "saga:" + in.Saga,
		RequestID: in.SagaID, Metadata: map[string]string{"saga": in.Saga, "sagaId": in.SagaID, "step": step}}
	ctx = traceContext(ctx, in.Trace)
	callCtx, cancel := context.WithTimeout(ctx, c.cfg.CallTimeout)
	defer cancel()
	stage := jobs.StageStart
	if r.Mode == ModeSync {
		stage = jobs.StageExecute
	}
	// Call, not Send: its answer tells a job that cannot start (unknown,
	// bad parameters) at once. Its command id is random on purpose, so
	// that a retried call is not dropped as a duplicate and gets an answer;
	// the execution id keeps the job from running twice.
	resp, err := c.client.Call(callCtx, r.Job, stage, req, bus.SendOptions{SagaID: in.SagaID})
	if err != nil {
		// No answer: the command may still reach the engine, so the claim
		// is kept until it expires rather than racing a second command.
		return fmt.Errorf("%s %s of step %s: %w", r.Job, stage, step, err)
	}
	if !resp.Success && transient(resp.Code) {
		// Refused before it ran (breaker, limiter): nothing was created,
		// anyone may try again.
		c.release(ctx, in, step, comp, in.run(step, comp).Claim)
		return fmt.Errorf("%s %s of step %s refused: %s", r.Job, stage, step, resp.ErrorText())
	}
	if h := c.hooks.afterDispatch; h != nil && resp.Success {
		if err := h(in, step); err != nil {
			return err
		}
	}
	if resp.Success && r.Mode == ModeSync && !comp && len(resp.Data) == 0 {
		// "Execution already exists" (a coordinator died after sending
		// it) has no data: the engine's result store may have it.
		resp.Data = c.storedResult(ctx, in, r)
	}
	if !resp.Success || r.Mode == ModeSync {
		o := outcome{ok: resp.Success, result: resp.Data, err: firstNonEmpty(resp.ErrorText(), resp.Message, "failed")}
		o.permanent = !resp.Success && permanent(resp.Code)
		return c.settle(ctx, d, in, step, comp, r.ExecutionID, o)
	}
	_, err = c.store.modify(ctx, in.Saga, in.SagaID, func(in *Instance) (bool, error) {
		cur := in.run(step, comp)
		if cur == nil || cur.ExecutionID != r.ExecutionID || cur.Status != RunRunning || cur.Dispatched {
			return false, nil
		}
		cur.Dispatched, cur.Claim, cur.ClaimUntil = true, "", nil
		return true, nil
	})
	return err
}

// errBusy: another coordinator is sending a run's command; the message is
// tried again shortly, by when that one has recorded the outcome (or its
// claim has expired because it died).
var errBusy = errors.New("saga: another coordinator is dispatching this run")

// claim takes the right to send a run's START/EXECUTE. It returns the
// instance as claimed, or claimed=false when there is nothing to send
// any more.
func (c *Coordinator) claim(ctx context.Context, in *Instance, step string, comp bool, executionID string) (*Instance, bool, error) {
	token := jobs.NewExecutionID()
	busy := false
	in, err := c.store.modify(ctx, in.Saga, in.SagaID, func(in *Instance) (bool, error) {
		cur, now := in.run(step, comp), time.Now().UTC()
		busy = false
		if cur == nil || cur.ExecutionID != executionID || cur.Status != RunRunning || cur.Dispatched {
			return false, nil
		}
		if cur.Claim != "" && cur.ClaimUntil != nil && now.Before(*cur.ClaimUntil) {
			busy = true
			return false, nil
		}
		until := now.Add(c.cfg.CallTimeout + c.cfg.AckWait)
		cur.Claim, cur.ClaimUntil = token, &until
		return true, nil
	})
	switch {
	case err != nil:
		return nil, false, err
	case busy:
		return nil, false, errBusy
	}
	cur := in.run(step, comp)
	return in, cur != nil && cur.Claim == token, nil
}

// stopRun stops a step still running while the saga compensates, so that
// compensation does not wait for it to end on its own.
func (c *Coordinator) stopRun(ctx context.Context, d *Definition, in *Instance, step string, r Run) error {
	callCtx, cancel := context.WithTimeout(traceContext(ctx, in.Trace), c.cfg.CallTimeout)
	defer cancel()
	reason := fmt.Sprintf("saga %s/%s is compensating: %s", in.Saga, in.SagaID, in.Error)
	resp, err := c.client.Call(callCtx, r.Job, jobs.StageStop, &jobs.Request{ExecutionID: r.ExecutionID, Reason: reason},
		bus.SendOptions{SagaID: in.SagaID})
	if err != nil {
		return fmt.Errorf("stop step %s: %w", step, err)
	}
	switch {
	case resp.Success, resp.Code == jobs.CodeConflict: // stopped, or already over: its event will come
	case resp.Code == jobs.CodeNotFound || transient(resp.Code):
		// The START may still be on its way to the engine: try again.
		return fmt.Errorf("stop step %s: %s", step, resp.ErrorText())
	default:
		c.log.Warn().Str("saga", in.Saga).Str("sagaId", in.SagaID).Str("step", step).Str("error", resp.ErrorText()).
			Msg("job refused to stop; waiting for it to end")
	}
	_, err = c.store.modify(ctx, in.Saga, in.SagaID, func(in *Instance) (bool, error) {
		cur := in.run(step, false)
		if cur == nil || cur.ExecutionID != r.ExecutionID || cur.Status != RunRunning || cur.StopSent {
			return false, nil
		}
		cur.StopSent = true
		return true, nil
	})
	return err
}

// settle records how an attempt ended.
func (c *Coordinator) settle(ctx context.Context, d *Definition, in *Instance, step string, comp bool, executionID string, o outcome) error {
	_, err := c.store.modify(ctx, in.Saga, in.SagaID, func(in *Instance) (bool, error) {
		return endRun(d, in, step, comp, executionID, o, time.Now().UTC()), nil
	})
	return err
}

// params builds a run's parameters from the input and the completed steps.
func (c *Coordinator) params(d *Definition, in *Instance, step string, comp bool) (map[string]any, error) {
	s := d.step(step)
	if s == nil {
		return nil, fmt.Errorf("step %q is no longer in saga %q", step, d.Name)
	}
	params, fn := s.Parameters, s.Params
	if comp && s.Compensate != nil {
		params, fn = s.Compensate.Parameters, s.Compensate.Params
	}
	if fn != nil {
		return fn(in.scope())
	}
	return render(params, in.scope())
}

// storedResult asks RESULT for a sync run's result; nil when there is none
// (result persistence off).
func (c *Coordinator) storedResult(ctx context.Context, in *Instance, r Run) map[string]any {
	callCtx, cancel := context.WithTimeout(ctx, c.cfg.CallTimeout)
	defer cancel()
	resp, err := c.client.Call(callCtx, r.Job, jobs.StageResult, &jobs.Request{ExecutionID: r.ExecutionID},
		bus.SendOptions{SagaID: in.SagaID})
	if err != nil || !resp.Success {
		return nil
	}
	return resp.Data
}

// release gives a claim up (best effort: it expires anyway).
func (c *Coordinator) release(ctx context.Context, in *Instance, step string, comp bool, token string) {
	_, _ = c.store.modify(ctx, in.Saga, in.SagaID, func(in *Instance) (bool, error) {
		cur := in.run(step, comp)
		if cur == nil || token == "" || cur.Claim != token {
			return false, nil
		}
		cur.Claim, cur.ClaimUntil = "", nil
		return true, nil
	})
}

// transient reports whether an answer means "try again later".
func transient(code jobs.Code) bool { return code.Refusal() || code == jobs.CodeTimeout }

// permanent reports whether no retry of the attempt can succeed.
func permanent(code jobs.Code) bool {
	return code == jobs.CodeInvalidArgument || code == jobs.CodeInvalidParameter || code == jobs.CodeNotFound
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
