package main

import "testing"

func TestIdleRelease(t *testing.T) {
	t.Parallel()
	var allocated uint64
	released := 0
	r := &idleRelease{allocated: func() uint64 { return allocated }, release: func() { released++ }}
	for i, tc := range []struct {
		alloc        uint64 // allocated during the tick
		wantReleased int    // releases so far after it
	}{
		{100 << 20, 0}, // busy
		{1 << 20, 1},   // first quiet tick: release
		{0, 1},
		{2 << 20, 2}, // third quiet tick: once more
		{0, 2},
		{0, 2},          // quiet on: nothing more
		{idleAllocs, 2}, // busy again
		{0, 3},          // quiet: release
	} {
		allocated += tc.alloc
		r.tick()
		if released != tc.wantReleased {
			t.Fatalf("tick %d: %d releases, want %d", i, released, tc.wantReleased)
		}
	}
}
