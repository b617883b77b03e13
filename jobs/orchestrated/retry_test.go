package orchestrated_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jetjobs/jetjobs/jobs"
	"github.com/jetjobs/jetjobs/jobs/orchestrated"
)

// flaky fails its first n calls with err, then answers the fake's.
type flaky struct {
	*fakeOrch
	n   int
	err error
}

func (f *flaky) fail() error {
	if f.n > 0 {
		f.n--
		return f.err
	}
	return nil
}

func (f *flaky) CheckJobStatus(ctx context.Context, id string) (orchestrated.Status, error) {
	if err := f.fail(); err != nil {
		return "", err
	}
	return f.fakeOrch.CheckJobStatus(ctx, id)
}

func (f *flaky) StartJob(ctx context.Context, def orchestrated.JobDefinition) (*orchestrated.Execution, error) {
	if err := f.fail(); err != nil {
		return nil, err
	}
	return f.fakeOrch.StartJob(ctx, def)
}

func TestRetry(t *testing.T) {
	t.Parallel()
	transient := errors.New("connection refused")
	for _, tc := range []struct {
		name       string
		failures   int
		err        error
		maxRetries int
		wantCalls  int // sleeps + 1
		wantErr    error
	}{
		{"no failure", 0, transient, 3, 1, nil},
		{"transient, recovers", 2, transient, 3, 3, nil},
		{"transient, too often", 5, transient, 3, 4, transient},
		{"no retries configured", 1, transient, 0, 1, transient},
		{"permanent is not retried", 1, jobs.Permanent(errors.New("HTTP 401")), 3, 1, jobs.ErrFailed},
		{"not found is not retried", 1, jobs.Errorf(jobs.CodeNotFound, "gone"), 3, 1, jobs.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := &flaky{fakeOrch: newFake(), n: tc.failures, err: tc.err}
			var slept []time.Duration
			var retried []string
			r := orchestrated.WithRetry(f, orchestrated.RetryPolicy{MaxRetries: tc.maxRetries, Delay: 7 * time.Second,
				Sleep:   func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil },
				OnRetry: func(op string, _ int, _ error) { retried = append(retried, op) }})
			f.n = 0
			if _, err := r.StartJob(context.Background(), orchestrated.JobDefinition{DefinitionID: "d", ExecutionName: "e"}); err != nil {
				t.Fatal(err)
			}
			f.n = tc.failures
			st, err := r.CheckJobStatus(context.Background(), r.ExecutionIDFor(orchestrated.JobDefinition{DefinitionID: "d", ExecutionName: "e"}))
			if len(slept)+1 != tc.wantCalls || len(retried) != len(slept) {
				t.Fatalf("%d sleeps, %d retries; want %d calls", len(slept), len(retried), tc.wantCalls)
			}
			for _, d := range slept {
				if d != 7*time.Second {
					t.Fatalf("slept %s", d)
				}
			}
			if tc.wantErr == nil {
				if err != nil || st != orchestrated.StatusQueued {
					t.Fatalf("status %q, err %v", st, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err.Error()) {
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
			if jobs.IsPermanent(err) != jobs.IsPermanent(tc.err) {
				t.Fatalf("permanence changed: %v", err)
			}
		})
	}
}

func TestRetryStopsWithTheContext(t *testing.T) {
	t.Parallel()
	f := &flaky{fakeOrch: newFake(), n: 100, err: errors.New("timeout")}
	r := orchestrated.WithRetry(f, orchestrated.RetryPolicy{MaxRetries: 100, Delay: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := r.CheckJobStatus(ctx, "x"); err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("err %v after %s", err, time.Since(start))
	}
	if r.Unwrap() != orchestrated.Orchestrator(f) || r.Type() != "FAKE" {
		t.Fatal("Unwrap/Type")
	}
	if err := r.Health(context.Background()); err != nil {
		t.Fatalf("health of an orchestrator without one: %v", err)
	}
}
