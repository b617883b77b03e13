package main

import (
	"slices"
	"testing"
)

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

// TestGCDefaultsLeaveTheEnvironmentAlone: a default applies only where
// GOGC or GOMEMLIMIT is not set.
func TestGCDefaultsLeaveTheEnvironmentAlone(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		env                    map[string]string
		wantPercent, wantLimit bool
	}{
		{map[string]string{}, true, true},
		{map[string]string{"GOGC": "50"}, false, true},
		{map[string]string{"GOMEMLIMIT": "1GiB"}, true, false},
		{map[string]string{"GOGC": "off", "GOMEMLIMIT": "1GiB"}, false, false},
	} {
		var percent, limit bool
		setLimit := externalGC.applyWith(func(k string) string { return tc.env[k] },
			func(p int) int {
				if p != externalGC.percent {
					t.Errorf("percent %d, want %d", p, externalGC.percent)
				}
				percent = true
				return 0
			},
			func(l int64) int64 {
				if l != externalGC.limit {
					t.Errorf("limit %d, want %d", l, externalGC.limit)
				}
				limit = true
				return 0
			})
		if setLimit != limit {
			t.Errorf("env %v: applyWith said %v, set the limit %v", tc.env, setLimit, limit)
		}
		if percent != tc.wantPercent || limit != tc.wantLimit {
			t.Errorf("env %v: set percent %v, limit %v; want %v, %v", tc.env, percent, limit, tc.wantPercent, tc.wantLimit)
		}
	}
}

// TestLimitFollower: the limit is the floor until twice the live heap is
// more, in whole MiB, set only when it changes.
func TestLimitFollower(t *testing.T) {
	t.Parallel()
	var live uint64
	var sets []int64
	f := &limitFollower{floor: 48 << 20, cur: 48 << 20, live: func() uint64 { return live },
		set: func(l int64) int64 { sets = append(sets, l); return 0 }}
	for i, tc := range []struct {
		live     uint64
		wantSets []int64
	}{
		{10 << 20, nil},                 // 20 MiB: the floor stays
		{24 << 20, nil},                 // 48 MiB exactly
		{30<<20 + 1, []int64{61 << 20}}, // 60 MiB and 2 bytes: rounded up
		{30 << 20, []int64{61 << 20, 60 << 20}},
		{30 << 20, []int64{61 << 20, 60 << 20}},          // unchanged: not set again
		{1 << 20, []int64{61 << 20, 60 << 20, 48 << 20}}, // back to the floor
	} {
		live = tc.live
		f.tick()
		if !slices.Equal(sets, tc.wantSets) {
			t.Fatalf("tick %d: sets %v, want %v", i, sets, tc.wantSets)
		}
	}
}
