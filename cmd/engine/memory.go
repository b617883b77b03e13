package main

import (
	"context"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// idleRelease gives memory back to the OS once the process has gone quiet.
// With GOGC=400 (the embedded server's default) the heap goal after a
// burst stays far above what is live, and Go returns memory only above
// that goal, so an engine that has finished a burst would keep its peak
// resident for good. When a tick sees
// less than idleAllocs allocated since the previous one, the engine is
// idle: memory is released then, and once more two ticks later (the NATS
// server drops the burst's block caches ten seconds after their last use),
// and not again until it has been busy.
type idleRelease struct {
	allocated func() uint64 // bytes allocated since start
	release   func()        // debug.FreeOSMemory
	last      uint64
	idleTicks int
}

// idleAllocs is what a quiet engine allocates in one tick, at most.
const idleAllocs = 8 << 20

// idleTick is the period of the check.
const idleTick = 5 * time.Second

func (r *idleRelease) tick() {
	now := r.allocated()
	busy := now-r.last >= idleAllocs
	r.last = now
	if busy {
		r.idleTicks = 0
		return
	}
	r.idleTicks++
	if r.idleTicks == 1 || r.idleTicks == 3 {
		r.release()
	}
}

// releaseWhenIdle runs idleRelease every idleTick until ctx ends.
func releaseWhenIdle(ctx context.Context) {
	r := &idleRelease{release: debug.FreeOSMemory, allocated: runtimeMetric("/gc/heap/allocs:bytes")}
	r.last = r.allocated()
	every(ctx, idleTick, r.tick)
}

// runtimeMetric reads one runtime/metrics value of kind uint64.
func runtimeMetric(name string) func() uint64 {
	sample := []metrics.Sample{{Name: name}}
	return func() uint64 {
		metrics.Read(sample)
		return sample[0].Value.Uint64()
	}
}

// every calls fn each period until ctx ends.
func every(ctx context.Context, period time.Duration, fn func()) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn()
		}
	}
}

// gcDefaults are the collector settings the engine takes unless the
// environment sets GOGC or GOMEMLIMIT (main.go says why these).
type gcDefaults struct {
	percent int   // debug.SetGCPercent
	limit   int64 // debug.SetMemoryLimit, bytes
	// follow: the limit is a floor, raised to twice the live heap as that
	// grows (limitFollower).
	follow bool
}

// apply sets each of the two that the environment does not (the Go
// runtime has read GOGC and GOMEMLIMIT already, so what they say stays),
// and follows the live heap with the limit until ctx ends if asked to.
func (d gcDefaults) apply(ctx context.Context) {
	if d.applyWith(os.Getenv, debug.SetGCPercent, debug.SetMemoryLimit) && d.follow {
		go followLiveHeap(ctx, d.limit)
	}
}

// applyWith is apply's settings; true if it set the limit.
func (d gcDefaults) applyWith(getenv func(string) string, setPercent func(int) int, setLimit func(int64) int64) bool {
	if getenv("GOGC") == "" {
		setPercent(d.percent)
	}
	if getenv("GOMEMLIMIT") != "" {
		return false
	}
	setLimit(d.limit)
	return true
}

// gcDefaultsOn is set by main: tests that call run leave their own
// process's collector alone.
var gcDefaultsOn bool

// setGCDefaults applies the defaults for an engine that embeds its NATS
// server or joins one elsewhere; `engine run` calls it once its
// configuration is loaded, the bench's engine process (`engine bench
// --serve-engine`) once it knows its URL.
func setGCDefaults(ctx context.Context, embedded bool) {
	if !gcDefaultsOn {
		return
	}
	if embedded {
		embeddedGC.apply(ctx)
		return
	}
	externalGC.apply(ctx)
}

// limitFollower keeps the soft memory limit at max(floor, twice the heap
// found live by the last collection). A small fixed limit keeps a small
// engine small, but one whose live heap outgrew it (an execution index of
// a million retained records is about 85 MB) would collect back to back;
// following the live heap, it collects at 2x instead, as with GOGC=100.
type limitFollower struct {
	floor int64
	live  func() uint64     // /gc/heap/live:bytes
	set   func(int64) int64 // debug.SetMemoryLimit
	cur   int64
}

// followTick is how often the limit is checked: a burst that doubles the
// live heap within it collects more often until the next check.
const followTick = time.Second

func (f *limitFollower) tick() {
	want := max(f.floor, 2*int64(f.live()))
	want = (want + 1<<20 - 1) &^ (1<<20 - 1) // whole MiB: not reset for every few bytes
	if want != f.cur {
		f.set(want)
		f.cur = want
	}
}

// followLiveHeap runs limitFollower every followTick until ctx ends.
func followLiveHeap(ctx context.Context, floor int64) {
	f := &limitFollower{floor: floor, cur: floor, set: debug.SetMemoryLimit, live: runtimeMetric("/gc/heap/live:bytes")}
	every(ctx, followTick, f.tick)
}
