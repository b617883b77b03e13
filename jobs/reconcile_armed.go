package jobs

import (
	"context"

	"github.com/rs/zerolog"
)

// armedTimers answers "is this execution's CHECK timer armed?" for one job
// type during a pass: from one listing of the type's timers (ArmedLister),
// made when the first live execution asks, so that a type with nothing
// live costs no request; and by a single lookup (TimerRepair.Armed) for an
// execution the listing did not show, as one armed after it (a START
// finished meanwhile) must not get a second timer. If the listing fails,
// every execution is looked up, as before there was one. Not safe for
// concurrent use: a pass calls it from one goroutine.
type armedTimers struct {
	repair  TimerRepair
	lister  ArmedLister // nil: every answer is a lookup
	jobType string
	log     zerolog.Logger
	listed  func(executionID string) bool // nil before the listing, or if it failed
	tried   bool
	lookups int // single lookups made
}

func (r *Reconciler) armedOf(jobType string) *armedTimers {
	a := &armedTimers{repair: r.armed, jobType: jobType, log: r.cfg.Logger}
	a.lister, _ = r.armed.(ArmedLister)
	return a
}

func (a *armedTimers) armed(ctx context.Context, executionID string) (bool, error) {
	if a.lister != nil && !a.tried {
		a.tried = true
		listed, err := a.lister.ArmedSet(ctx, a.jobType)
		switch {
		case err == nil:
			a.listed = listed
		case ctx.Err() == nil:
			a.log.Warn().Err(err).Str("jobType", a.jobType).
				Msg("listing the armed CHECK timers failed; looking them up one by one")
		}
	}
	if a.listed != nil && a.listed(executionID) {
		return true, nil
	}
	a.lookups++
	return a.repair.Armed(ctx, a.jobType, executionID)
}
