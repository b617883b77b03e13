package jetjobs_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/jobs"
	"github.com/jetjobs/jetjobs/saga"
)

// faultLoad is the fault suite's steady load: 20 STARTs of fClock a
// second, an EXECUTE of fSync every fourth tick and a saga every 1.25s
// (every other one failing its last step), each sent once and counted when
// JetStream acknowledged it.
type faultLoad struct {
	r *faultRig

	mu      sync.Mutex
	phase   string
	jobs    []sentJob
	sagas   []sentSaga
	refused map[string]int           // per phase
	slowest map[string]time.Duration // longest wait for an acknowledged publish, per phase
}

type sentJob struct {
	id, job, phase string
	at             time.Time
}

type sentSaga struct {
	id, phase string
	fail      bool
	at        time.Time
}

func newFaultLoad(r *faultRig) *faultLoad {
	return &faultLoad{r: r, phase: "set-up", refused: map[string]int{}, slowest: map[string]time.Duration{}}
}

// run sends until ctx ends.
func (l *faultLoad) run(ctx context.Context) {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		l.send(ctx, fClock, jobs.StageStart)
		if n%4 == 0 {
			l.send(ctx, fSync, jobs.StageExecute)
		}
		if n%25 == 0 {
			l.startSaga(ctx, n/25)
		}
	}
}

func (l *faultLoad) send(ctx context.Context, job string, stage jobs.Stage) {
	sctx, cancel := context.WithTimeout(ctx, 12*time.Second)
	defer cancel()
	at := time.Now()
	id, err := l.r.client.Send(sctx, job, stage, &jobs.Request{}, bus.SendOptions{})
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		if ctx.Err() == nil {
			l.refused[l.phase]++
		}
		return
	}
	l.slowest[l.phase] = max(l.slowest[l.phase], time.Since(at))
	l.jobs = append(l.jobs, sentJob{id: id, job: job, phase: l.phase, at: at})
}

func (l *faultLoad) startSaga(ctx context.Context, n int) {
	sctx, cancel := context.WithTimeout(ctx, 12*time.Second)
	defer cancel()
	id := fmt.Sprintf("order-%03d", n)
	fail := n%2 == 1
	at := time.Now()
	if _, err := l.r.sagas.Start(sctx, fSaga, saga.StartRequest{SagaID: id, Input: map[string]any{"fail": fail}}); err != nil {
		l.mu.Lock()
		if ctx.Err() == nil {
			l.refused[l.phase]++
		}
		l.mu.Unlock()
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sagas = append(l.sagas, sentSaga{id: id, phase: l.phase, fail: fail, at: at})
}

// setPhase names the phase the next sends belong to.
func (l *faultLoad) setPhase(p string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.phase = p
}

func (l *faultLoad) snapshot() ([]sentJob, []sentSaga) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]sentJob(nil), l.jobs...), append([]sentSaga(nil), l.sagas...)
}

func (l *faultLoad) stats(phase string) (accepted, refused int, slowest time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, j := range l.jobs {
		if j.phase == phase {
			accepted++
		}
	}
	return accepted, l.refused[phase], l.slowest[phase]
}

// recovery waits for the first terminal event of a command sent after
// fault and returns how long after the fault it came.
func (l *faultLoad) recovery(ctx context.Context, fault time.Time) (time.Duration, error) {
	for deadline := time.Now().Add(45 * time.Second); ; {
		sent, _ := l.snapshot()
		best := time.Duration(-1)
		l.r.book.mu.Lock()
		for _, j := range sent {
			if end, ok := l.r.book.ended[j.id]; ok && !j.at.Before(fault) && (best < 0 || end.Sub(fault) < best) {
				best = end.Sub(fault)
			}
		}
		l.r.book.mu.Unlock()
		if best >= 0 {
			return best, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return 0, fmt.Errorf("no command sent after the fault ended in 45s (%d accepted in all)", len(sent))
		}
		if err := sleepCtx(ctx, 50*time.Millisecond); err != nil {
			return 0, err
		}
	}
}

// settle waits until every job and saga accepted so far has ended: seen
// ending on the subscription, or (what it may have missed while its
// server was down) found terminal in the stores.
func (l *faultLoad) settle(ctx context.Context, within time.Duration) error {
	sent, sagas := l.snapshot()
	r := l.r
	var last string
	for deadline, round := time.Now().Add(within), 0; ; round++ {
		open := 0
		for _, j := range sent {
			r.book.mu.Lock()
			_, ok := r.book.ended[j.id]
			r.book.mu.Unlock()
			if ok {
				continue
			}
			if round%10 == 9 && len(r.engines) > 0 {
				gctx, cancel := context.WithTimeout(ctx, 2*time.Second)
				exec, _, err := r.engines[0].eng.State().Get(gctx, j.job, j.id)
				cancel()
				if err == nil && exec.Status.Terminal() {
					r.book.mu.Lock()
					r.book.ended[j.id] = time.Now()
					r.book.mu.Unlock()
					continue
				}
				last = fmt.Sprintf("%s %s (sent in %q): %v %v", j.job, j.id, j.phase, statusOf(exec), err)
			}
			open++
		}
		for _, s := range sagas {
			r.book.mu.Lock()
			_, ok := r.book.sagas[s.id]
			r.book.mu.Unlock()
			if ok {
				continue
			}
			if round%10 == 9 {
				gctx, cancel := context.WithTimeout(ctx, 2*time.Second)
				in, err := r.sagas.Get(gctx, fSaga, s.id)
				cancel()
				if err == nil && in.Status.Terminal() {
					r.book.mu.Lock()
					r.book.sagas[s.id] = time.Now()
					r.book.mu.Unlock()
					continue
				}
				if err == nil {
					b, _ := json.Marshal(in.Steps)
					last = fmt.Sprintf("saga %s (sent in %q): %s %s", s.id, s.phase, in.Status, b)
				}
			}
			open++
		}
		if open == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d jobs and sagas not ended after %s, e.g. %s", open, within, last)
		}
		if err := sleepCtx(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
}

func statusOf(exec *jobs.Execution) string {
	if exec == nil {
		return "no record"
	}
	return string(exec.Status)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// terminalCounts reads JOBS_EVENTS' terminal job and saga events with an
// ordered consumer: how many each execution id and saga id has.
func (r *faultRig) terminalCounts(ctx context.Context) (execs, sagas map[string]int, err error) {
	p := r.cfg.NATS.SubjectPrefix
	var filters []string
	for _, typ := range []string{jobs.EventCompleted, jobs.EventFailed, jobs.EventStopped} {
		filters = append(filters, p+".evt.*."+typ)
	}
	for _, typ := range []string{saga.EventCompleted, saga.EventCompensated, saga.EventFailed} {
		filters = append(filters, p+".saga.*."+typ)
	}
	cons, err := r.js.OrderedConsumer(ctx, bus.StreamEvents, jetstream.OrderedConsumerConfig{FilterSubjects: filters})
	if err != nil {
		return nil, nil, err
	}
	execs, sagas = map[string]int{}, map[string]int{}
	for {
		batch, err := cons.Fetch(1000, jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			return nil, nil, err
		}
		n, pending := 0, uint64(1)
		for m := range batch.Messages() {
			n++
			if strings.HasPrefix(m.Subject(), p+".saga.") {
				sagas[m.Headers().Get("ce-sagaid")]++
			} else {
				execs[m.Headers().Get("ce-executionid")]++
			}
			if md, err := m.Metadata(); err == nil {
				pending = md.NumPending
			}
		}
		if err := batch.Error(); err != nil {
			return nil, nil, err
		}
		if n == 0 || pending == 0 {
			return execs, sagas, nil
		}
	}
}
