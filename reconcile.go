package jetjobs

import (
	"time"

	"github.com/jetjobs/jetjobs/jobs"
)

// WithReconcileAfter sets how long after start-up, and after a failed
// write, the timer reconciler runs a pass (default 10s; tests shorten it).
// Its period is orchestration.timer-reconcile-interval.
func WithReconcileAfter(d time.Duration) Option { return func(e *Engine) { e.reconcileFirstAfter = d } }

func (e *Engine) setReconciler(r *jobs.Reconciler) {
	e.reconMu.Lock()
	e.recon = r
	e.reconMu.Unlock()
}

func (e *Engine) reconciler() *jobs.Reconciler {
	e.reconMu.Lock()
	defer e.reconMu.Unlock()
	return e.recon
}

// kickReconciler asks for a timer reconciliation pass soon: a command or
// a tick failed on a port, so a timer may be missing.
func (e *Engine) kickReconciler(error) {
	if r := e.reconciler(); r != nil {
		r.Kick()
	}
}
