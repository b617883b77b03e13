package main

import (
	"context"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// idleRelease gives memory back to the OS once the process has gone quiet.
// With GOGC=400 the heap goal after a burst stays far above what is live,
// and Go returns memory only above that goal, so an engine that has
// finished a burst would keep its peak resident for good. When a tick sees
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
	sample := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	r := &idleRelease{release: debug.FreeOSMemory, allocated: func() uint64 {
		metrics.Read(sample)
		return sample[0].Value.Uint64()
	}}
	r.last = r.allocated()
	t := time.NewTicker(idleTick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.tick()
		}
	}
}
