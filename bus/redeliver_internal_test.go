package bus

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/jetjobs/jetjobs/jobs"
)

func TestRedeliveryDelay(t *testing.T) {
	t.Parallel()
	s := []time.Duration{time.Second, time.Minute}
	cases := []struct {
		schedule []time.Duration
		delivery int
		want     time.Duration
	}{
		{s, 0, time.Second},
		{s, 1, time.Second},
		{s, 2, time.Minute},
		{s, 50, time.Minute},
		{nil, 4, 2 * time.Minute},
		{nil, 9, 5 * time.Minute},
	}
	for _, c := range cases {
		if got := redeliveryDelay(c.schedule, c.delivery); got != c.want {
			t.Errorf("redeliveryDelay(%v, %d) = %s, want %s", c.schedule, c.delivery, got, c.want)
		}
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		err  error
		want poisonKind
	}{
		{"unavailable", jobs.Errorf(jobs.CodeUnavailable, "down"), transient},
		{"refused", &refusedError{code: jobs.CodeRejected, msg: "bulkhead full"}, transient},
		{"conflict", jobs.ErrRevisionConflict, transient},
		{"timeout", fmt.Errorf("put: %w", nats.ErrTimeout), transient},
		{"no responders", nats.ErrNoResponders, transient},
		{"plain", errors.New("storage full"), transient},
		{"internal", jobs.Errorf(jobs.CodeInternal, "bad record"), poisonous},
		{"panic", &jobs.PanicError{Value: "x"}, poisonous},
		{"max payload", fmt.Errorf("publish: %w", nats.ErrMaxPayload), poisonous},
	}
	for _, c := range cases {
		if got := classify(c.err); got != c.want {
			t.Errorf("%s: classify = %v, want %v", c.name, got, c.want)
		}
	}
}

// During an outage the same warning comes for every live timer each
// second: one line per interval goes through, with the count held back.
func TestLogLimiter(t *testing.T) {
	t.Parallel()
	l := &logLimiter{every: 10 * time.Second}
	t0 := time.Unix(1000, 0)
	steps := []struct {
		at       time.Duration
		wantOK   bool
		wantHeld int
	}{
		{0, true, 0},
		{time.Second, false, 0},
		{2 * time.Second, false, 0},
		{9 * time.Second, false, 0},
		{10 * time.Second, true, 3},
		{11 * time.Second, false, 0},
		{30 * time.Second, true, 1},
	}
	for _, s := range steps {
		ok, held := l.allow(t0.Add(s.at))
		if ok != s.wantOK || held != s.wantHeld {
			t.Errorf("at %s: allow = %v, %d; want %v, %d", s.at, ok, held, s.wantOK, s.wantHeld)
		}
	}
}
