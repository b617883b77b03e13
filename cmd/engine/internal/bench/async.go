package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetjobs/jetjobs/jobs"
)

// stall is how long a scenario waits without a single new event before it
// gives up.
const stall = 30 * time.Second

// publishStarts publishes one START per tracker slot until n are sent (n <
// 0: until ctx ends), asynchronously with at most maxPending in flight.
func (e *env) publishStarts(ctx context.Context, job string, tr *tracker, n int) (int, error) {
	return e.publishStartsTo(ctx, e.subj.Command(job, jobs.StageStart.Token()), job, tr, n)
}

// publishStartsTo is publishStarts on subject: the raw burn-down queues
// the engine's START messages on a subject of its own.
func (e *env) publishStartsTo(ctx context.Context, subject, job string, tr *tracker, n int) (int, error) {
	errs0 := e.pubErrs.Load()
	sent := 0
	for ; n < 0 || sent < n; sent++ {
		id, err := tr.add(ctx)
		if err != nil {
			if n < 0 {
				break // the duration is over
			}
			return sent, err
		}
		msg, err := e.startMsg(ctx, job, id)
		if err != nil {
			return sent, err
		}
		msg.Subject = subject
		// A full window waits up to stall for room (the default, 200 ms, fails
		// the run on a busy machine).
		if _, err := e.js.PublishMsgAsync(msg, jetstream.WithStallWait(stall)); err != nil {
			return sent, fmt.Errorf("publish START: %w", err)
		}
	}
	select {
	case <-e.js.PublishAsyncComplete():
	case <-time.After(stall):
		return sent, fmt.Errorf("publish START: acks missing after %s", stall)
	}
	if bad := e.pubErrs.Load() - errs0; bad > 0 {
		return sent, fmt.Errorf("publish START: %d publishes failed", bad)
	}
	return sent, nil
}

// burndown queues Jobs START commands of the no-op async job while no
// engine consumes them, then starts an engine and times it from just
// before Start until the last JOB_COMPLETED arrives. A job's latency runs
// from the later of its publish and the engine's start to its event.
func (e *env) burndown(ctx context.Context) []Result {
	return e.burndownOf(ctx, ScenarioBurndown, JobAsync, "bd")
}

// workerBurndown is burndown with the no-op worker job: each START queues
// its work on JOBS_WORK, and the engine's WorkRunner drains it
// (START → queued → Work → COMPLETED), the model River's benchmark
// measures.
func (e *env) workerBurndown(ctx context.Context) []Result {
	return e.burndownOf(ctx, ScenarioWorker, JobWorker, "wk")
}

// burndownOf is the burn-down of job, reported as name.
func (e *env) burndownOf(ctx context.Context, name, job, idPrefix string) []Result {
	n := e.cfg.Jobs
	r := Result{Name: name}
	tr := newTracker(idPrefix+e.runID+"-", n, 0)
	stopWatch, before, err := watchFrom(ctx, e.js, []string{e.subj.Event(job, jobs.EventCompleted)}, tr, nil)
	if err != nil {
		return failed(name, err)
	}
	defer stopWatch()
	t0 := time.Now()
	if _, err := e.publishStarts(ctx, job, tr, n); err != nil {
		return failed(name, err)
	}
	e.say("  %d START commands queued in %.2fs; starting the engine", n, time.Since(t0).Seconds())
	profile := e.drainProfile(name)
	stopProf, err := cpuProfile(profile)
	if err != nil {
		return failed(name, err)
	}
	stopProg := progress(e.log, name, n, func() int { d, _ := tr.progress(); return d })
	p0 := readProc()
	start := time.Now()
	eng, took, err := e.engine(ctx, false)
	if err != nil {
		stopProg()
		stopProf()
		return failed(name, err)
	}
	defer eng.Stop()
	err = tr.wait(ctx, n, stall)
	stopProg()
	stopProf()
	r.drained(p0, tr, n, start, err)
	if after, err := quiesce(ctx, e.js); err == nil {
		r.PersistedOpsPerJob = float64(stored(before, after)) / float64(n)
	}
	r.note("engine Start took %.0f ms of it; latency from the later of publish and engine start", ms(took))
	if profile != "" {
		r.note("CPU profile of the drain in %s", profile)
	}
	return []Result{r}
}

// drainProfile is where the drain of the burn-down scenario name is
// profiled: --cpuprofile for burndown, with ".worker" added for worker
// (so that one run can profile both), "" without --cpuprofile.
func (e *env) drainProfile(name string) string {
	if e.cfg.CPUProfile == "" || name == ScenarioBurndown {
		return e.cfg.CPUProfile
	}
	return e.cfg.CPUProfile + "." + name
}

// continuous runs an engine and publishes START commands at full speed for
// Duration, with at most 4096 not yet completed so that the backlog (and
// the latency) stays bounded. Throughput counts the JOB_COMPLETED events
// that arrived within Duration; the publisher shares the machine.
func (e *env) continuous(ctx context.Context) []Result {
	const name = "continuous"
	r := Result{Name: name}
	eng, _, err := e.engine(ctx, false)
	if err != nil {
		return failed(name, err)
	}
	defer eng.Stop()
	tr := newTracker("ct"+e.runID+"-", 0, maxPending)
	stopWatch, before, err := watchFrom(ctx, e.js, []string{e.subj.Event(JobAsync, jobs.EventCompleted)}, tr, nil)
	if err != nil {
		return failed(name, err)
	}
	defer stopWatch()
	stopProg := progress(e.log, name, 0, func() int { d, _ := tr.progress(); return d })
	p0 := readProc()
	start := time.Now()
	end := start.Add(e.cfg.Duration)
	pctx, cancel := context.WithDeadline(ctx, end)
	sent, err := e.publishStarts(pctx, JobAsync, tr, -1)
	cancel()
	if err == nil {
		err = tr.wait(ctx, sent, stall) // the rest drains, uncounted
	}
	stopProg()
	if err != nil {
		r.Error = err.Error()
	}
	inTime := tr.doneBy(end.UnixNano())
	r.rate(inTime, e.cfg.Duration)
	r.percentiles(tr.latencies(0, end.UnixNano()))
	done, _ := tr.progress()
	r.process(p0, done)
	r.Errors = sent - done
	r.RSSMiB = rssMiB()
	if after, err := quiesce(ctx, e.js); err == nil && sent > 0 {
		r.PersistedOpsPerJob = float64(stored(before, after)) / float64(sent)
	}
	r.note("%d published, %d completed within %s, at most %d outstanding", sent, inTime, e.cfg.Duration, maxPending)
	return []Result{r}
}

// drained fills r from a drain of n jobs that started at start: the
// process's CPU and allocations since p0, errors (err, if the wait for the
// last job failed), rate and latencies from t, and the resident memory.
func (r *Result) drained(p0 procCounters, t *tracker, n int, start time.Time, err error) {
	done, _ := t.progress()
	r.process(p0, done)
	r.Errors = n - done
	if err != nil {
		r.Error = err.Error()
	}
	r.rate(done, time.Duration(t.lastAt()-start.UnixNano()))
	r.percentiles(t.latencies(start.UnixNano(), 0))
	r.RSSMiB = rssMiB()
}

func (t *tracker) lastAt() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.last
}

// doneBy counts the events that arrived by until.
func (t *tracker) doneBy(until int64) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, d := range t.done {
		if d != 0 && d <= until {
			n++
		}
	}
	return n
}

// cpuProfile profiles the process into path until stop ("" = no profile).
func cpuProfile(path string) (stop func(), err error) {
	return record(path, "cpuprofile", pprof.StartCPUProfile, pprof.StopCPUProfile)
}

// executionTrace records a runtime/trace of the process into path until
// stop ("" = none): where a latency tail comes from (goroutines waiting for
// a core, collector marks), for `go tool trace`.
func executionTrace(path string) (stop func(), err error) {
	return record(path, "trace", trace.Start, trace.Stop)
}

// record runs a process-wide recorder (start/end) into the file at path
// until stop; "" records nothing. flag names the option in errors.
func record(path, flag string, start func(io.Writer) error, end func()) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--%s: %w", flag, err)
	}
	if err := start(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("--%s: %w", flag, err)
	}
	return func() { end(); f.Close() }, nil
}

// heapProfile writes the live heap to path ("" = nothing).
func heapProfile(path string) error {
	if path == "" {
		return nil
	}
	runtime.GC()
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("--memprofile: %w", err)
	}
	defer f.Close()
	return pprof.WriteHeapProfile(f)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
