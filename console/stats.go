package console

import (
	"context"
	"sync"
	"time"

	"github.com/jetjobs/jetjobs/jobs"
)

// sampler keeps, per job type, the counts of terminal executions at each
// tick, for the overview's charts: throughput (completions per minute)
// and failure rate (failed / ended, percent) between ticks. Counts come
// from the index; expiring records make a count drop, read as no change.
type sampler struct {
	idx   Index
	reg   *jobs.Registry
	every time.Duration
	keep  int

	mu      sync.Mutex
	samples map[string][]sample
	cancel  context.CancelFunc
	done    chan struct{}
}

type sample struct{ completed, failed, ended int }

func newSampler(idx Index, reg *jobs.Registry, every time.Duration, keep int) *sampler {
	return &sampler{idx: idx, reg: reg, every: every, keep: keep, samples: map[string][]sample{}}
}

func (s *sampler) start() {
	if s.idx == nil || s.cancel != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel, s.done = cancel, make(chan struct{})
	go func() {
		defer close(s.done)
		t := time.NewTicker(s.every)
		defer t.Stop()
		s.take(ctx)
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				s.take(ctx)
			}
		}
	}()
}

func (s *sampler) stop() {
	if s.cancel != nil {
		s.cancel()
		<-s.done
	}
}

func (s *sampler) take(ctx context.Context) {
	for _, d := range s.reg.Definitions() {
		counts, err := s.idx.CountExecutions(ctx, d.Name)
		if err != nil {
			continue // still loading
		}
		smp := sample{completed: counts[jobs.StatusCompleted], failed: counts[jobs.StatusFailed] + counts[jobs.StatusTimedOut]}
		smp.ended = smp.completed + smp.failed + counts[jobs.StatusStopped]
		s.mu.Lock()
		l := append(s.samples[d.Name], smp)
		if len(l) > s.keep+1 {
			l = l[len(l)-s.keep-1:]
		}
		s.samples[d.Name] = l
		s.mu.Unlock()
	}
}

// series returns a job type's throughput (per minute) and failure rate
// (percent) between consecutive samples, oldest first.
func (s *sampler) series(job string) (thru, fail []float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.samples[job]
	perMin := float64(time.Minute) / float64(s.every)
	for i := 1; i < len(l); i++ {
		dc := max(l[i].completed-l[i-1].completed, 0)
		df := max(l[i].failed-l[i-1].failed, 0)
		de := max(l[i].ended-l[i-1].ended, 0)
		thru = append(thru, float64(dc)*perMin)
		rate := 0.0
		if de > 0 {
			rate = 100 * float64(df) / float64(de)
		}
		fail = append(fail, rate)
	}
	return thru, fail
}
