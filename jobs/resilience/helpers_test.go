package resilience_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jetjobs/jetjobs/jobs"
)

// errBoom is a transient failure of the job's own code (CodeFailed).
var errBoom = errors.New("boom")

// okResp is the response the test stages answer with; tests compare by
// pointer to prove the policies hand it through untouched.
var okResp = &jobs.Response{Success: true, Message: "ok"}

// newInv is a fresh START invocation of job.
func newInv(job string) *jobs.Invocation {
	return &jobs.Invocation{Job: &jobs.Definition{Name: job}, Stage: jobs.StageStart, Request: &jobs.Request{}}
}

// counted wraps a stage so that its calls are counted.
type counted struct {
	n  atomic.Int32
	fn jobs.Handler
}

func (c *counted) handler(ctx context.Context, inv *jobs.Invocation) (*jobs.Response, error) {
	c.n.Add(1)
	return c.fn(ctx, inv)
}

func (c *counted) calls() int { return int(c.n.Load()) }

// failing answers err; ok answers okResp.
func failing(err error) jobs.Handler {
	return func(context.Context, *jobs.Invocation) (*jobs.Response, error) { return nil, err }
}

func ok(context.Context, *jobs.Invocation) (*jobs.Response, error) { return okResp, nil }

// recorder is a Listener that keeps everything it hears.
type recorder struct {
	mu       sync.Mutex
	retried  []retried
	rejected []string // "job/stage/reason"
	changes  []string // "job: from->to"
}

type retried struct {
	job     string
	stage   jobs.Stage
	attempt int
	err     error
}

func (r *recorder) Retried(job string, stage jobs.Stage, attempt int, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.retried = append(r.retried, retried{job, stage, attempt, err})
}

func (r *recorder) Rejected(job string, stage jobs.Stage, reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rejected = append(r.rejected, fmt.Sprintf("%s/%s/%s", job, stage, reason))
}

func (r *recorder) BreakerChanged(job string, from, to string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.changes = append(r.changes, fmt.Sprintf("%s: %s->%s", job, from, to))
}

func (r *recorder) Changes() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.changes...)
}

func (r *recorder) Rejections() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.rejected...)
}

func (r *recorder) Retries() []retried {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]retried(nil), r.retried...)
}

// wantCode fails the test unless err is a jetjobs error of code.
func wantCode(t *testing.T, err error, code jobs.Code) {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil, want a %s error", code)
	}
	if got := jobs.CodeOf(err); got != code {
		t.Fatalf("CodeOf(%v) = %q, want %q", err, got, code)
	}
}

// repeat is n copies of s.
func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

// within fails the test unless lo <= d <= hi.
func within(t *testing.T, what string, d, lo, hi time.Duration) {
	t.Helper()
	if d < lo || d > hi {
		t.Errorf("%s = %v, want within [%v, %v]", what, d, lo, hi)
	}
}
