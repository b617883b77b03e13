package resilience_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jetjobs/jetjobs/jobs"
	"github.com/jetjobs/jetjobs/jobs/resilience"
)

const bulkheadWait = 100 * time.Millisecond

func bulkheadConfig() resilience.Config {
	return resilience.Config{BulkheadEnabled: true, BulkheadMaxConcurrentCalls: 3, BulkheadMaxWaitDuration: bulkheadWait}
}

type outcome struct {
	resp *jobs.Response
	err  error
	at   time.Duration // since the start of the test
}

// blocking is a stage that holds its slot until release gets a value.
func blocking(release <-chan struct{}) *counted {
	return &counted{fn: func(context.Context, *jobs.Invocation) (*jobs.Response, error) {
		<-release
		return okResp, nil
	}}
}

func TestBulkheadRejectsAfterMaxWait(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		p := resilience.New(bulkheadConfig(), rec)
		release := make(chan struct{})
		// Let blocked stages and waiters end even when the test fails
		// half-way: the bubble's time stops when its main goroutine ends.
		releaseAll := sync.OnceFunc(func() { close(release) })
		defer func() { releaseAll(); time.Sleep(time.Second) }()
		st := blocking(release)
		h := jobs.Chain(st.handler, p.Middleware()...)

		start := time.Now()
		results := make(chan outcome, 6)
		run := func() {
			go func() {
				resp, err := h(context.Background(), newInv("j"))
				results <- outcome{resp, err, time.Since(start)}
			}()
		}
		for range 5 {
			run()
		}
		synctest.Wait()
		if n := st.calls(); n != 3 {
			t.Fatalf("%d calls running, want 3", n)
		}

		// The two others give up after the max wait.
		for range 2 {
			r := <-results
			wantCode(t, r.err, jobs.CodeRejected)
			if r.at != bulkheadWait {
				t.Fatalf("refused after %v, want %v", r.at, bulkheadWait)
			}
		}
		if got, want := rec.Rejections(), repeat("j/START/bulkhead_full", 2); !slices.Equal(got, want) {
			t.Fatalf("Rejected = %q, want %q", got, want)
		}

		// One finishes: its slot takes a new call at once.
		release <- struct{}{}
		if r := <-results; r.err != nil || r.resp != okResp {
			t.Fatalf("released call = %v, %v", r.resp, r.err)
		}
		before := time.Now()
		run()
		synctest.Wait()
		if n := st.calls(); n != 4 || time.Since(before) != 0 {
			t.Fatalf("new call: stage calls %d after %v, want 4 at once", n, time.Since(before))
		}

		// Full again: a sixth call would wait; let everyone finish.
		releaseAll()
		for range 3 {
			if r := <-results; r.err != nil {
				t.Fatal(r.err)
			}
		}
	})
}

func TestBulkheadWaiterGetsFreedSlot(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		p := resilience.New(bulkheadConfig(), nil)
		release := make(chan struct{})
		// Let blocked stages and waiters end even when the test fails
		// half-way: the bubble's time stops when its main goroutine ends.
		releaseAll := sync.OnceFunc(func() { close(release) })
		defer func() { releaseAll(); time.Sleep(time.Second) }()
		st := blocking(release)
		h := jobs.Chain(st.handler, p.Middleware()...)

		start := time.Now()
		results := make(chan outcome, 4)
		for range 4 {
			go func() {
				resp, err := h(context.Background(), newInv("j"))
				results <- outcome{resp, err, time.Since(start)}
			}()
		}
		synctest.Wait()
		if n := st.calls(); n != 3 {
			t.Fatalf("%d calls running, want 3", n)
		}
		time.Sleep(bulkheadWait / 2)
		release <- struct{}{} // one finishes within the fourth's max wait
		<-results
		synctest.Wait()
		if n := st.calls(); n != 4 {
			t.Fatalf("stage calls %d, want the waiter admitted", n)
		}
		releaseAll()
		for range 3 {
			if r := <-results; r.err != nil {
				t.Fatal(r.err)
			}
		}
	})
}

func TestBulkheadPerJobType(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		p := resilience.New(bulkheadConfig(), nil)
		release := make(chan struct{})
		// Let blocked stages and waiters end even when the test fails
		// half-way: the bubble's time stops when its main goroutine ends.
		releaseAll := sync.OnceFunc(func() { close(release) })
		defer func() { releaseAll(); time.Sleep(time.Second) }()
		st := blocking(release)
		h := jobs.Chain(st.handler, p.Middleware()...)
		done := make(chan error, 6)
		for _, job := range []string{"a", "a", "a", "b", "b", "b"} {
			go func() {
				_, err := h(context.Background(), newInv(job))
				done <- err
			}()
		}
		synctest.Wait()
		if n := st.calls(); n != 6 {
			t.Fatalf("%d calls running, want 3 of a and 3 of b", n)
		}
		releaseAll()
		for range 6 {
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		}
	})
}
