package saga

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/jobs"
)

// handleEvent takes one terminal job event. Events without a sagaid, or of
// a saga this coordinator does not run, are acknowledged and ignored.
func (c *Coordinator) handleEvent(ctx context.Context, msg jetstream.Msg) error {
	ev, err := bus.Decode(msg.Headers(), msg.Data())
	if err != nil {
		return fmt.Errorf("%w: %v", errTerm, err)
	}
	var data jobs.EventData
	if err := json.Unmarshal(ev.Data(), &data); err != nil {
		return fmt.Errorf("%w: event data: %v", errTerm, err)
	}
	sagaID := firstNonEmpty(extString(&ev, "sagaid"), data.SagaID)
	if sagaID == "" || ValidateSagaID(sagaID) != nil {
		return nil
	}
	data.EventType = firstNonEmpty(data.EventType, ev.Type())
	// The saga is found from the job type: few sagas share a job type,
	// and the sagaid alone does not name the saga.
	for _, saga := range c.byJob[data.JobType] {
		in, _, err := c.store.get(ctx, saga, sagaID)
		if errors.Is(err, jobs.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		step, comp, r := in.findExecution(data.ExecutionID)
		if r == nil {
			continue
		}
		return c.onJobEvent(ctx, c.defs[saga], in, step, comp, *r, data)
	}
	return nil
}

func (c *Coordinator) onJobEvent(ctx context.Context, d *Definition, in *Instance, step string, comp bool, r Run, data jobs.EventData) error {
	// Sync runs are settled by their EXECUTE answer, which has the result
	// and comes after the event; a stale event changes nothing. Both still drive, which finishes what
	// a coordinator that died earlier left undone.
	if r.Status != RunRunning || r.Mode == ModeSync {
		return c.drive(ctx, d, in.Saga, in.SagaID)
	}
	var o outcome
	switch data.EventType {
	case jobs.EventCompleted:
		o = outcome{ok: true, result: data.Data}
		if !comp && len(data.Data) == 0 {
			var err error
			if o, err = c.fetchResult(ctx, in, step, r); err != nil {
				return err
			}
		}
	case jobs.EventStopped:
		o = outcome{err: "job stopped: " + firstNonEmpty(data.Message, "by request")}
	default:
		errText := "job failed"
		if data.Error != nil {
			errText = *data.Error
		}
		if data.Status == jobs.StatusTimedOut {
			errText = "job timed out: " + errText
		}
		o = outcome{err: errText}
	}
	if err := c.settle(ctx, d, in, step, comp, r.ExecutionID, o); err != nil {
		return err
	}
	if h := c.hooks.afterEvent; h != nil {
		if err := h(in, step); err != nil {
			return err
		}
	}
	return c.drive(ctx, d, in.Saga, in.SagaID)
}

// fetchResult asks the engine for a completed step's result: the data
// later steps are built from. JOB_COMPLETED carries it only when the engine
// persists results and it is small (64 KiB).
func (c *Coordinator) fetchResult(ctx context.Context, in *Instance, step string, r Run) (outcome, error) {
	callCtx, cancel := context.WithTimeout(traceContext(ctx, in.Trace), c.cfg.CallTimeout)
	defer cancel()
	resp, err := c.client.Call(callCtx, r.Job, jobs.StageResult, &jobs.Request{ExecutionID: r.ExecutionID},
		bus.SendOptions{SagaID: in.SagaID})
	switch {
	case err != nil:
		return outcome{}, fmt.Errorf("result of step %s: %w", step, err)
	case resp.Success:
		return outcome{ok: true, result: resp.Data}, nil
	case transient(resp.Code) || resp.Code == jobs.CodeNotReady:
		return outcome{}, fmt.Errorf("result of step %s: %s", step, resp.ErrorText())
	}
	// The job completed but cannot hand over its result: later steps
	// cannot be built, so the step counts as failed.
	return outcome{err: "result unavailable: " + resp.ErrorText()}, nil
}

// Timer kinds.
const (
	timerTimeout = "timeout" // an attempt ran too long
	timerRetry   = "retry"   // a WAITING run's backoff is over
)

// timer is the body of a message in SAGA_TIMERS.
type timer struct {
	Kind        string `json:"kind"`
	Saga        string `json:"saga"`
	SagaID      string `json:"sagaId"`
	Step        string `json:"step"`
	Comp        bool   `json:"compensation,omitempty"`
	Attempt     int    `json:"attempt"`
	ExecutionID string `json:"executionId,omitempty"`
}

// headerDue holds when a timer fires (Unix nanoseconds).
const headerDue = "Saga-Due"

// armTimer stores a timer message; its dedup id makes arming twice (a
// coordinator redoing an effect) store it once. A timer that fires late or
// for a run that moved on finds nothing to do.
func (c *Coordinator) armTimer(ctx context.Context, t timer, due time.Time) error {
	body, err := json.Marshal(t)
	if err != nil {
		return err
	}
	id := fmt.Sprintf("sagatimer.%s.%s.%s.%s.%t.%d", t.Saga, t.SagaID, t.Kind, t.Step, t.Comp, t.Attempt)
	m := natsMsg(c.subj.Prefix+".sagatimer."+t.Saga+"."+t.SagaID, body)
	m.Header.Set(headerDue, fmt.Sprint(due.UnixNano()))
	m.Header.Set("Nats-Msg-Id", id)
	if _, err := c.js.PublishMsg(ctx, m); err != nil {
		return &jobs.Error{Code: jobs.CodeUnavailable, Msg: "arm saga timer", Err: err}
	}
	return nil
}

func (c *Coordinator) armRetry(ctx context.Context, in *Instance, step string, comp bool, r Run) error {
	due := time.Now()
	if r.RetryAt != nil {
		due = *r.RetryAt
	}
	t := timer{Kind: timerRetry, Saga: in.Saga, SagaID: in.SagaID, Step: step, Comp: comp, Attempt: r.Attempt}
	if err := c.armTimer(ctx, t, due); err != nil {
		return err
	}
	_, err := c.store.modify(ctx, in.Saga, in.SagaID, func(in *Instance) (bool, error) {
		cur := in.run(step, comp)
		if cur == nil || cur.Status != RunWaiting || cur.Attempt != r.Attempt || cur.TimerArmed {
			return false, nil
		}
		cur.TimerArmed = true
		return true, nil
	})
	return err
}

// handleTimer fires a timer once it is due; until then the message is
// handed back with a delay, so timers live in JetStream and survive any
// coordinator.
func (c *Coordinator) handleTimer(ctx context.Context, msg jetstream.Msg) error {
	var t timer
	if err := json.Unmarshal(msg.Data(), &t); err != nil {
		return fmt.Errorf("%w: timer: %v", errTerm, err)
	}
	var nanos int64
	if _, err := fmt.Sscan(msg.Headers().Get(headerDue), &nanos); err == nil {
		if wait := time.Until(time.Unix(0, nanos)); wait > 0 {
			_ = msg.NakWithDelay(wait)
			return errSettled
		}
	}
	d, ok := c.defs[t.Saga]
	if !ok {
		return nil
	}
	switch t.Kind {
	case timerRetry:
		_, err := c.store.modify(ctx, t.Saga, t.SagaID, func(in *Instance) (bool, error) {
			return retryDue(d, in, t.Step, t.Comp, t.Attempt, time.Now().UTC()), nil
		})
		if errors.Is(err, jobs.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
	case timerTimeout:
		if err := c.timeOut(ctx, d, t); err != nil {
			return err
		}
	default:
		return fmt.Errorf("%w: unknown timer kind %q", errTerm, t.Kind)
	}
	return c.drive(ctx, d, t.Saga, t.SagaID)
}

// timeOut ends an attempt that outlived its timeout: an async job is
// stopped first, and if it turns out to have completed in the meantime its
// JOB_COMPLETED wins. The attempt then counts as failed.
func (c *Coordinator) timeOut(ctx context.Context, d *Definition, t timer) error {
	in, _, err := c.store.get(ctx, t.Saga, t.SagaID)
	if errors.Is(err, jobs.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	r := in.run(t.Step, t.Comp)
	if r == nil || r.Status != RunRunning || r.ExecutionID != t.ExecutionID {
		return nil
	}
	why := fmt.Sprintf("timed out after %s", timeoutOf(d, t.Step, t.Comp))
	if r.Mode == ModeAsync {
		callCtx, cancel := context.WithTimeout(traceContext(ctx, in.Trace), c.cfg.CallTimeout)
		defer cancel()
		resp, err := c.client.Call(callCtx, r.Job, jobs.StageStop,
			&jobs.Request{ExecutionID: r.ExecutionID, Reason: "saga step " + why}, bus.SendOptions{SagaID: in.SagaID})
		switch {
		case err != nil:
			return fmt.Errorf("stop timed-out step %s: %w", t.Step, err)
		case !resp.Success && transient(resp.Code):
			return fmt.Errorf("stop timed-out step %s: %s", t.Step, resp.ErrorText())
		case !resp.Success && resp.Status == jobs.StatusCompleted:
			return nil // it made it after all: JOB_COMPLETED settles it
		}
	}
	return c.settle(ctx, d, in, t.Step, t.Comp, t.ExecutionID, outcome{err: why})
}
