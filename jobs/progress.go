package jobs

import (
	"context"
	"sync"
)

// progressGate holds the progress a job reports before its execution's
// record exists: START (or EXECUTE) may launch work that reports at once,
// from a goroutine, while the stage has not returned and nothing is
// stored. The latest report is held and applied as soon as the record is
// written (release); later reports go straight through. Without it such a
// report would be lost (issue 15).
type progressGate struct {
	next ProgressFunc

	mu   sync.Mutex // held while a report is applied, so they apply in order
	open bool
	held *heldProgress
}

type heldProgress struct {
	percent int
	message string
}

// report is the ProgressFunc of a creating command's request.
func (g *progressGate) report(ctx context.Context, percent int, message string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.open {
		g.held = &heldProgress{percent: percent, message: message}
		return nil
	}
	return g.next(ctx, percent, message)
}

// release opens the gate once the record is stored, applying the report
// held until then, if any.
func (g *progressGate) release(ctx context.Context) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.open = true
	h := g.held
	g.held = nil
	if h == nil {
		return nil
	}
	return g.next(ctx, h.percent, h.message)
}
