package bench

import (
	"context"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/jobs"
)

// memory starts MemoryJobs executions of bench-hold, which stay RUNNING
// (CHECKs an hour apart), with the engine in a process of its own, and
// reads that process's resident memory once every START has been
// processed (and its peak), and again after settle.
//
// With the embedded server (the default) the engine process runs its own
// embedded server, as `engine run` does, so its memory is the engine's and
// the server's together, and this process only sends the STARTs. With
// --nats-url the engine process connects to that server, which is not
// counted.
func (e *env) memory(ctx context.Context) []Result {
	const name = "memory"
	n := e.cfg.MemoryJobs
	settle := e.cfg.MemorySettle
	if n < 10000 || settle < 0 {
		settle = 0 // a small run (tests): nothing to settle
	}
	r := Result{Name: name}
	runtime.GC()
	debug.FreeOSMemory() // start from what the earlier scenarios left in use, not their peak
	url := e.url
	if e.srv != nil {
		url = embeddedPrefix + e.cfg.Sync
	}
	eng, err := e.startEngineProcess(ctx, url)
	if err != nil {
		return failed(name, err)
	}
	defer eng.stop()
	load := e
	if e.srv != nil {
		if load, err = e.dialed(eng.url); err != nil {
			return failed(name, err)
		}
		defer load.close()
		r.EngineHoldsServer = true
	} else {
		defer func() {
			// The held executions' timers would otherwise fire in an hour.
			if st, err := e.js.Stream(context.WithoutCancel(ctx), bus.StreamTimers); err == nil {
				_ = st.Purge(context.WithoutCancel(ctx), jetstream.WithPurgeSubject(e.subj.Timer(JobHold)+".>"))
			}
		}()
	}
	eng0, _ := eng.rss()
	tr := newTracker("mem"+e.runID+"-", n, maxPending)
	stopWatch, before, err := watchFrom(ctx, load.js, []string{e.subj.Event(JobHold, jobs.EventStarted)}, tr, nil)
	if err != nil {
		return failed(name, err)
	}
	defer stopWatch()
	stopProg := progress(e.log, name, n, func() int { d, _ := tr.progress(); return d })
	start := time.Now()
	_, err = load.publishStarts(ctx, JobHold, tr, n)
	if err == nil {
		err = tr.wait(ctx, n, stall)
	}
	stopProg()
	if err != nil {
		r.Error = err.Error()
	}
	done, _ := tr.progress()
	r.Errors = n - done
	r.rate(done, time.Duration(tr.lastAt()-start.UnixNano()))
	r.percentiles(tr.latencies(0, 0))
	if after, err := quiesce(ctx, load.js); err == nil {
		r.PersistedOpsPerJob = float64(stored(before, after)) / float64(n)
	}
	r.EngineRSSMiB, r.EnginePeakRSSMiB = eng.rss()
	r.RSSMiB = rssMiB()
	if err := heapProfile(e.cfg.MemProfile); err != nil {
		r.note("%v", err)
	}
	who := "engine process (engine and its embedded NATS server)"
	if !r.EngineHoldsServer {
		who = "engine process (the NATS server runs elsewhere and is not counted)"
	}
	r.note("%d executions RUNNING; %s: %.0f MiB RSS once all had started (%.0f at start, peak %.0f); this process (load) %.0f MiB",
		done, who, r.EngineRSSMiB, eng0, r.EnginePeakRSSMiB, r.RSSMiB)
	if settle == 0 {
		return []Result{r}
	}
	e.say("  %d executions held; waiting %s for the server's caches to expire", done, settle)
	select {
	case <-ctx.Done():
	case <-time.After(settle):
		r.EngineSettledRSSMiB, _ = eng.rss()
		r.note("after %s idle, still %d RUNNING: engine process %.0f MiB", settle, done, r.EngineSettledRSSMiB)
	}
	return []Result{r}
}
