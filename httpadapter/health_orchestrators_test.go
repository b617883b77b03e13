package httpadapter_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jetjobs/jetjobs/httpadapter"
	"github.com/jetjobs/jetjobs/jobs/orchestrated"
)

// probe is a HealthChecker that answers err and counts its calls; block
// makes it wait for its context.
type probe struct {
	mu    sync.Mutex
	err   error
	calls int
	block bool
}

func (p *probe) Health(ctx context.Context) error {
	p.mu.Lock()
	p.calls++
	err, block := p.err, p.block
	p.mu.Unlock()
	if block {
		<-ctx.Done()
		return ctx.Err()
	}
	return err
}

func (p *probe) set(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.err = err
}

func TestOrchestratorChecksCacheAndTimeout(t *testing.T) {
	t.Parallel()
	now := time.Unix(1000, 0)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	ok, slow := &probe{}, &probe{block: true}
	c := httpadapter.NewOrchestratorChecks(func() map[string]orchestrated.HealthChecker {
		return map[string]orchestrated.HealthChecker{"A": ok, "SLOW": slow}
	},
		20*time.Millisecond, 30*time.Second, clock)

	got := c.Check(context.Background())
	if got["A"].Status != httpadapter.StatusUp || got["SLOW"].Status != httpadapter.StatusDown ||
		got["SLOW"].Details["error"] != context.DeadlineExceeded.Error() {
		t.Fatalf("first round: %+v", got)
	}
	ok.set(errors.New("connection refused"))
	advance(29 * time.Second)
	if got := c.Check(context.Background()); got["A"].Status != httpadapter.StatusUp || ok.calls != 1 {
		t.Fatalf("within the interval: %+v after %d calls", got, ok.calls)
	}
	advance(2 * time.Second)
	got = c.Check(context.Background())
	if got["A"].Status != httpadapter.StatusDown || got["A"].Details["error"] != "connection refused" || ok.calls != 2 {
		t.Fatalf("after the interval: %+v after %d calls", got, ok.calls)
	}
	// A caller that hangs up does not cut the round short.
	advance(time.Minute)
	ok.set(nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if got := c.Check(ctx); got["A"].Status != httpadapter.StatusUp {
		t.Fatalf("cancelled caller: %+v", got)
	}
}
