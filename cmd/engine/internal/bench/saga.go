package bench

import (
	"context"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/jetjobs/jetjobs/saga"
)

// SagaName is the bench's saga: three steps in a row, each the no-op async
// job, its parameters taken from the saga's input.
const SagaName = "bench-saga"

func sagaDefinition() *saga.Definition {
	params := map[string]any{"pad": "${input.pad}"}
	return &saga.Definition{Name: SagaName, Description: "jetjobs bench: three no-op async steps", Steps: []saga.Step{
		{Name: "one", Job: JobAsync, Parameters: params},
		{Name: "two", Job: JobAsync, Parameters: params},
		{Name: "three", Job: JobAsync, Parameters: params},
	}}
}

// sagaCount is how many sagas the scenario runs: a tenth of the job count
// (each saga is three jobs and their coordination).
func (e *env) sagaCount() int { return max(e.cfg.Jobs/10, 1) }

// saga starts sagas of three no-op async steps on a coordinator that runs
// with the engine, from up to 16 starters with at most 2×Concurrency sagas
// unfinished, and times each from StartSaga to its SAGA_COMPLETED event.
func (e *env) saga(ctx context.Context) []Result {
	const name = "saga"
	n := e.sagaCount()
	r := Result{Name: name}
	eng, _, err := e.engine(ctx, false)
	if err != nil {
		return failed(name, err)
	}
	defer eng.Stop()
	coord, err := saga.New(eng.JetStream(), eng.Client(), saga.Config{Prefix: e.subj.Prefix, Registry: eng.Registry(),
		Logger: zerolog.Nop()}, sagaDefinition())
	if err != nil {
		return failed(name, err)
	}
	if err := coord.Start(ctx); err != nil {
		return failed(name, err)
	}
	defer coord.Stop()
	tr := newTracker("sg"+e.runID+"-", n, 2*e.cfg.Concurrency)
	terminal := []string{e.subj.Saga(SagaName, saga.EventCompleted), e.subj.Saga(SagaName, saga.EventCompensated),
		e.subj.Saga(SagaName, saga.EventFailed)}
	stopWatch, before, err := watchFrom(ctx, e.js, terminal, tr, func(t string) bool { return t == saga.EventCompleted })
	if err != nil {
		return failed(name, err)
	}
	defer stopWatch()
	stopProg := progress(e.log, name, n, func() int { d, _ := tr.progress(); return d })
	p0 := readProc()
	start := time.Now()
	var (
		mu       sync.Mutex
		next     int
		startErr error
		wg       sync.WaitGroup
	)
	for range min(16, e.cfg.Concurrency) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				if next >= n || startErr != nil {
					mu.Unlock()
					return
				}
				next++
				mu.Unlock()
				id, err := tr.add(ctx)
				if err == nil {
					_, _, err = coord.StartSaga(ctx, SagaName, saga.StartRequest{SagaID: id, Input: e.params, Initiator: "bench"})
				}
				if err != nil {
					mu.Lock()
					startErr = err
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	err = startErr
	if err == nil {
		err = tr.wait(ctx, n, stall)
	}
	stopProg()
	if err != nil {
		r.Error = err.Error()
	}
	done, _ := tr.progress()
	r.process(p0, done)
	bad := tr.failedCount()
	r.rate(done-bad, time.Duration(tr.lastAt()-start.UnixNano()))
	r.Errors = n - done + bad
	r.percentiles(tr.latencies(0, 0))
	r.RSSMiB = rssMiB()
	if after, err := quiesce(ctx, e.js); err == nil {
		r.PersistedOpsPerJob = float64(stored(before, after)) / float64(n)
	}
	r.note("ops are sagas of 3 no-op async steps (%d jobs); at most %d unfinished; stored/op is per saga",
		3*done, 2*e.cfg.Concurrency)
	return []Result{r}
}

func (t *tracker) failedCount() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.failed
}
