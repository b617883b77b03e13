package bench

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetjobs/jetjobs/bus"
)

// tracker follows executions (or sagas) named <prefix><index>: when each
// was sent and when its event arrived.
type tracker struct {
	prefix string
	slots  chan struct{} // nil: unbounded; else at most cap(slots) sent and not done

	mu     sync.Mutex
	sent   []int64 // unix nanos
	done   []int64 // unix nanos, 0 = not yet
	count  int
	failed int
	last   int64 // when the last event arrived
}

func newTracker(prefix string, expect, window int) *tracker {
	t := &tracker{prefix: prefix, sent: make([]int64, 0, expect), done: make([]int64, 0, expect)}
	if window > 0 {
		t.slots = make(chan struct{}, window)
	}
	return t
}

// add records a new send now and returns its id; with a window, it waits
// for a free slot first.
func (t *tracker) add(ctx context.Context) (string, error) {
	if t.slots != nil {
		select {
		case t.slots <- struct{}{}:
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sent = append(t.sent, time.Now().UnixNano())
	t.done = append(t.done, 0)
	return t.prefix + strconv.Itoa(len(t.sent)-1), nil
}

// mark records the event of id at time at; unknown ids and repeats are
// ignored.
func (t *tracker) mark(id string, at int64, ok bool) {
	s, found := strings.CutPrefix(id, t.prefix)
	if !found {
		return
	}
	i, err := strconv.Atoi(s)
	if err != nil {
		return
	}
	t.mu.Lock()
	if i < 0 || i >= len(t.done) || t.done[i] != 0 {
		t.mu.Unlock()
		return
	}
	t.done[i] = at
	t.count++
	if !ok {
		t.failed++
	}
	t.last = at
	t.mu.Unlock()
	if t.slots != nil {
		select {
		case <-t.slots:
		default:
		}
	}
}

func (t *tracker) progress() (done, sent int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.count, len(t.sent)
}

// latencies returns done − max(sent, floor) for the events that arrived by
// until (0: all), and how many there were.
func (t *tracker) latencies(floor, until int64) []time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]time.Duration, 0, t.count)
	for i, d := range t.done {
		if d == 0 || (until > 0 && d > until) {
			continue
		}
		out = append(out, time.Duration(d-max(t.sent[i], floor)))
	}
	return out
}

// wait returns once n events arrived; it fails when none arrived for stall.
func (t *tracker) wait(ctx context.Context, n int, stall time.Duration) error {
	lastN, lastAt := -1, time.Now()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		done, _ := t.progress()
		if done >= n {
			return nil
		}
		if done != lastN {
			lastN, lastAt = done, time.Now()
		} else if time.Since(lastAt) > stall {
			return fmt.Errorf("stalled: %d of %d events after %s without progress", done, n, stall)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// watchFrom starts watch and takes the snapshot that the scenario's
// stored-message count starts from.
func watchFrom(ctx context.Context, js jetstream.JetStream, subjects []string, t *tracker, ok func(string) bool) (stop func(), before seqs, err error) {
	if stop, err = watch(ctx, js, subjects, t, ok); err != nil {
		return nil, nil, err
	}
	if before, err = snapshot(ctx, js); err != nil {
		stop()
		return nil, nil, err
	}
	return stop, before, nil
}

// watch feeds t with the events on subjects of the events stream, from the
// stream's next sequence on. ok tells a success event from a failure.
func watch(ctx context.Context, js jetstream.JetStream, subjects []string, t *tracker, ok func(ceType string) bool) (stop func(), err error) {
	return watchStream(ctx, js, bus.StreamEvents, subjects, t, ok)
}

// watchStream is watch on another stream of events (the raw burn-down's).
func watchStream(ctx context.Context, js jetstream.JetStream, stream string, subjects []string, t *tracker, ok func(ceType string) bool) (stop func(), err error) {
	st, err := js.Stream(ctx, stream)
	if err != nil {
		return nil, err
	}
	info, err := st.Info(ctx)
	if err != nil {
		return nil, err
	}
	cons, err := js.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{
		FilterSubjects: subjects, DeliverPolicy: jetstream.DeliverByStartSequencePolicy,
		OptStartSeq: info.State.LastSeq + 1})
	if err != nil {
		return nil, err
	}
	cc, err := cons.Consume(func(m jetstream.Msg) {
		at := time.Now().UnixNano()
		h := m.Headers()
		id := h.Get("ce-subject")
		if id == "" { // not the engine's own encoding: decode it
			if ev, err := bus.Decode(h, m.Data()); err == nil {
				id = ev.Subject()
			}
		}
		t.mark(id, at, ok == nil || ok(h.Get("ce-type")))
	}, jetstream.PullMaxMessages(4096))
	if err != nil {
		return nil, err
	}
	return cc.Stop, nil
}

// progress prints a line a second: name, events done of total, and the
// rate over the last second, until the returned stop is called.
func progress(w io.Writer, name string, total int, done func() int) (stop func()) {
	if w == io.Discard {
		return func() {}
	}
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		prev, start := 0, time.Now()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
				n := done()
				of := ""
				if total > 0 {
					of = fmt.Sprintf("/%d", total)
				}
				fmt.Fprintf(w, "  [%s] %5.1fs %d%s done, %s/s\n", name, time.Since(start).Seconds(), n, of, num(float64(n-prev)))
				prev = n
			}
		}
	}()
	return func() { close(quit); wg.Wait() }
}

// seqs is the last sequence of every stream (KV buckets included).
type seqs map[string]uint64

// snapshot is every stream's but the bench's own (BENCH_*, and its
// buckets' KV_BENCH_*).
func snapshot(ctx context.Context, js jetstream.JetStream) (seqs, error) {
	return snapshotWhere(ctx, js, notBench)
}

func notBench(stream string) bool {
	return !strings.HasPrefix(stream, "BENCH_") && !strings.HasPrefix(stream, "KV_BENCH_")
}

// snapshotWhere is the last sequence of the streams keep keeps.
func snapshotWhere(ctx context.Context, js jetstream.JetStream, keep func(stream string) bool) (seqs, error) {
	out := seqs{}
	names := js.StreamNames(ctx)
	for name := range names.Name() {
		if !keep(name) {
			continue
		}
		st, err := js.Stream(ctx, name)
		if err != nil {
			return nil, err
		}
		info, err := st.Info(ctx)
		if err != nil {
			return nil, err
		}
		out[name] = info.State.LastSeq
	}
	return out, names.Err()
}

// stored is how many messages the streams stored between a and b.
func stored(a, b seqs) uint64 {
	var n uint64
	for k, v := range b {
		if v > a[k] {
			n += v - a[k]
		}
	}
	return n
}

// quiesce waits until no stream grows for 300ms (at most 10s) and returns
// the last snapshot: writes that follow the measured event (a record
// update after JOB_COMPLETED) belong to the job too.
func quiesce(ctx context.Context, js jetstream.JetStream) (seqs, error) {
	return quiesceWhere(ctx, js, notBench)
}

// quiesceWhere is quiesce on the streams keep keeps.
func quiesceWhere(ctx context.Context, js jetstream.JetStream, keep func(stream string) bool) (seqs, error) {
	deadline := time.Now().Add(10 * time.Second)
	var prev seqs
	same := 0
	for {
		cur, err := snapshotWhere(ctx, js, keep)
		if err != nil {
			return nil, err
		}
		if prev != nil && stored(prev, cur) == 0 {
			same++
		} else {
			same = 0
		}
		if same >= 3 || time.Now().After(deadline) {
			return cur, nil
		}
		prev = cur
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
