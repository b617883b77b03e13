package jobs

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// LiveExecutions lists the records of a job type that are not terminal
// (STARTED or RUNNING, claims included), calling fn for each; an error of
// fn stops the listing and is returned.
type LiveExecutions interface {
	Live(ctx context.Context, jobType string, fn func(*Execution) error) error
}

// LiveSummary is what a reconciliation pass reads of a live execution to
// decide whether to look at it at all: it reads the record again before
// it changes anything.
type LiveSummary struct {
	ExecutionID string
	Status      Status
	Pending     bool // a claim (Execution.Pending)
	Deadline    time.Time
}

// LiveSummaries is the lean form of LiveExecutions, which a
// LiveExecutions may have: the same listing, giving only each record's
// LiveSummary, so that a pass over 100,000 live executions neither
// decodes nor holds their whole records.
type LiveSummaries interface {
	// LiveSummary calls fn for every record of jobType that is not
	// terminal (claims included), as Live does; an error of fn stops the
	// listing and is returned. A summary may be stale by the time fn
	// sees it (the record ended or went since it was listed).
	LiveSummary(ctx context.Context, jobType string, fn func(LiveSummary) error) error
}

// TimerRepair finds and mends lost CHECK timers.
type TimerRepair interface {
	// Armed says whether an execution's CHECK timer is armed (stored).
	Armed(ctx context.Context, jobType, executionID string) (bool, error)
	// Rearm arms it again, even where Timers.Arm would be taken for a
	// repeat of the first arm (its dedup id); an execution still never
	// has two timers.
	Rearm(ctx context.Context, jobType, executionID string, delay time.Duration) error
}

// ArmedLister is the bulk form of TimerRepair.Armed, which a TimerRepair
// may have: one listing of a job type's armed timers instead of a lookup
// per live execution.
type ArmedLister interface {
	// ArmedSet lists the CHECK timers of jobType stored now and returns
	// whether an execution's was among them. It may miss one (armed
	// after the listing): the reconciler asks Armed about any execution
	// it does not show before arming it again.
	ArmedSet(ctx context.Context, jobType string) (func(executionID string) bool, error)
}

// ReconcilerConfig tunes a Reconciler. Zero values take the defaults in
// comments.
type ReconcilerConfig struct {
	Interval   time.Duration // 5m: time between passes (each engine instance, with ±10% jitter)
	FirstAfter time.Duration // 10s: first pass after start-up, and after a fault is reported (Kick)
	Logger     zerolog.Logger
	// OnPass is told of every pass (a metric); nil: nobody is. It must not block.
	OnPass func(ReconcileReport)
}

// WithDefaults fills the zero fields.
func (c ReconcilerConfig) WithDefaults() ReconcilerConfig {
	if c.Interval <= 0 {
		c.Interval = 5 * time.Minute
	}
	if c.FirstAfter <= 0 {
		c.FirstAfter = 10 * time.Second
	}
	return c
}

// ReconcileReport is what one pass found and did.
type ReconcileReport struct {
	Live    int // live executions seen
	Rearmed int // timers armed again
	Expired int // executions ended TIMED_OUT by the pass itself
	Errors  int // executions the pass could not look at (tried again next pass)
	// Lookups counts the single timer lookups (TimerRepair.Armed): with an
	// ArmedLister, only the executions its listing did not show armed.
	Lookups int
}

// Reconciler keeps the promise that every live async execution has its
// clock: a pass lists the live records of each async job type and, for any
// whose CHECK timer is not armed, arms it again; an execution past its
// deadline (plus the longest CHECK interval, so its own timer had every
// chance) is ended TIMED_OUT by the pass, so the deadline holds even if a
// timer is lost. Passes run at start-up, after a fault (Kick), and every
// interval. Arming is idempotent (the timer's dedup id), so two engines
// reconciling at once do no harm.
//
// When the TimerRepair is also an ArmedLister, a pass lists each job
// type's armed timers once (reconcile_armed.go) and looks up only the
// executions the listing did not show, so a pass over 100,000 RUNNING
// executions costs a few requests, not 100,000. When the LiveExecutions
// is also LiveSummaries, the records are listed by their summaries (id,
// status, claim flag, deadline), neither decoded nor held whole: the
// pass reads a record again before it changes anything.
type Reconciler struct {
	rt    *Runtime
	live  LiveExecutions
	armed TimerRepair
	cfg   ReconcilerConfig
	kick  chan struct{}
	stop  context.CancelFunc
	done  sync.WaitGroup
}

// NewReconciler reconciles rt's async job types.
func NewReconciler(rt *Runtime, live LiveExecutions, armed TimerRepair, cfg ReconcilerConfig) *Reconciler {
	return &Reconciler{rt: rt, live: live, armed: armed, cfg: cfg.WithDefaults(), kick: make(chan struct{}, 1)}
}

// Start runs passes in the background until Stop.
func (r *Reconciler) Start(ctx context.Context) {
	ctx, r.stop = context.WithCancel(context.WithoutCancel(ctx))
	r.done.Add(1)
	go r.loop(ctx)
}

// Stop ends the background passes and waits for the one running. Safe
// twice, and without Start.
func (r *Reconciler) Stop() {
	if r.stop != nil {
		r.stop()
	}
	r.done.Wait()
}

// Kick asks for a pass soon (after FirstAfter): something may have lost a
// timer (a write failed). Several kicks make one pass. It never blocks.
func (r *Reconciler) Kick() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

func (r *Reconciler) loop(ctx context.Context) {
	defer r.done.Done()
	t := time.NewTimer(r.cfg.FirstAfter)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.kick:
			t.Reset(r.cfg.FirstAfter)
			continue
		case <-t.C:
		}
		rep, err := r.Pass(ctx)
		if err != nil && ctx.Err() == nil {
			r.cfg.Logger.Warn().Err(err).Msg("timer reconciliation pass incomplete; trying again at the next one")
		}
		if rep.Rearmed > 0 || rep.Expired > 0 {
			r.cfg.Logger.Warn().Int("live", rep.Live).Int("rearmed", rep.Rearmed).Int("expired", rep.Expired).
				Msg("live executions found without their CHECK timer: re-armed")
		}
		if r.cfg.OnPass != nil {
			r.cfg.OnPass(rep)
		}
		jitter := time.Duration((rand.Float64()*0.2 - 0.1) * float64(r.cfg.Interval))
		t.Reset(r.cfg.Interval + jitter)
	}
}

// Pass reconciles every async job type once.
func (r *Reconciler) Pass(ctx context.Context) (ReconcileReport, error) {
	var rep ReconcileReport
	var errs []error
	for _, def := range r.rt.reg.Definitions() {
		if def.Async == nil {
			continue
		}
		armed := r.armedOf(def.Name)
		err := r.listLive(ctx, def.Name, func(e LiveSummary) error {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if e.Status.Terminal() || e.Pending {
				return nil // a claim gets its timer when its START finishes
			}
			rep.Live++
			switch did, err := r.rt.reconcile(ctx, armed, def, &e); {
			case err != nil:
				rep.Errors++
				r.cfg.Logger.Debug().Err(err).Str("jobType", def.Name).Str("executionId", e.ExecutionID).
					Msg("reconciling an execution's timer failed")
			case did == reconcileRearmed:
				rep.Rearmed++
			case did == reconcileExpired:
				rep.Expired++
			}
			return nil
		})
		rep.Lookups += armed.lookups
		if err != nil {
			errs = append(errs, fmt.Errorf("reconcile %s: %w", def.Name, err))
		}
	}
	return rep, errors.Join(errs...)
}

// listLive lists a job type's live executions by their summaries: through
// LiveSummaries if the listing has it, else from the whole records.
func (r *Reconciler) listLive(ctx context.Context, jobType string, fn func(LiveSummary) error) error {
	if lean, ok := r.live.(LiveSummaries); ok {
		return lean.LiveSummary(ctx, jobType, fn)
	}
	return r.live.Live(ctx, jobType, func(e *Execution) error {
		return fn(LiveSummary{ExecutionID: e.ExecutionID, Status: e.Status, Pending: e.Pending, Deadline: e.Deadline})
	})
}

type reconciled int

const (
	reconcileNothing reconciled = iota
	reconcileRearmed
	reconcileExpired
)

// reconcile gives one live execution its clock back if it lost it.
func (rt *Runtime) reconcile(ctx context.Context, armed *armedTimers, def *Definition, seen *LiveSummary) (reconciled, error) {
	now := rt.cfg.Clock.Now()
	grace := rt.checkDelay(def, 1<<10) // the longest CHECK interval: the timer's own chance to end it
	if now.Before(seen.Deadline.Add(grace)) {
		ok, err := armed.armed(ctx, seen.ExecutionID)
		if err != nil || ok {
			return reconcileNothing, err
		}
	}
	// Read again: the execution may have ended (and its timer gone with it)
	// since it was listed.
	exec, rev, err := rt.store.Get(ctx, def.Name, seen.ExecutionID)
	if errors.Is(err, ErrNotFound) {
		return reconcileNothing, nil
	}
	if err != nil {
		return reconcileNothing, err
	}
	if exec.Status.Terminal() || exec.Pending {
		return reconcileNothing, nil
	}
	b := NewBatch(nil)
	ctx = WithScrubber(ctx, rt.scrub)
	if !now.Before(exec.Deadline.Add(grace)) {
		req := &Request{ExecutionID: exec.ExecutionID, Parameters: exec.Parameters, RequestID: exec.RequestID,
			Initiator: "engine", Metadata: exec.Metadata, JobType: def.Name, SagaID: exec.SagaID, StartedAt: exec.CreatedAt}
		// Not the timer: mark the terminal event sent, as the timer, if it
		// is only late, will find the execution ended later.
		if err := rt.timeOut(ctx, b, def, exec, rev, req, true); err != nil {
			return reconcileNothing, err
		}
		return reconcileExpired, rt.wait(ctx, b)
	}
	if err := armed.repair.Rearm(ctx, def.Name, exec.ExecutionID, rt.checkDelay(def, 1)); err != nil {
		return reconcileNothing, err
	}
	return reconcileRearmed, nil
}
