package jobstest_test

import (
	"context"
	"errors"
	"math"
	"testing"

	"github.com/jetjobs/jetjobs/jobs"
	"github.com/jetjobs/jetjobs/jobs/jobstest"
)

func TestMemoryStoreConformance(t *testing.T) {
	t.Parallel()
	jobstest.StateStoreConformance(t, func(*testing.T) jobs.StateStore { return jobstest.NewMemoryStore() })
}

func TestZeroMemoryStoreConformance(t *testing.T) {
	t.Parallel()
	jobstest.StateStoreConformance(t, func(*testing.T) jobs.StateStore { return &jobstest.MemoryStore{} })
}

func TestMemoryStoreCancelledContext(t *testing.T) {
	t.Parallel()
	s := jobstest.NewMemoryStore()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	e := &jobs.Execution{JobType: "a", ExecutionID: "b"}
	if _, err := s.Create(ctx, e); !errors.Is(err, context.Canceled) {
		t.Errorf("Create with a cancelled context: %v", err)
	}
	if _, _, err := s.Get(ctx, "a", "b"); !errors.Is(err, context.Canceled) {
		t.Errorf("Get with a cancelled context: %v", err)
	}
	if _, err := s.Update(ctx, e, 1); !errors.Is(err, context.Canceled) {
		t.Errorf("Update with a cancelled context: %v", err)
	}
}

func TestMemoryStoreUnencodableRecord(t *testing.T) {
	t.Parallel()
	s := jobstest.NewMemoryStore()
	e := &jobs.Execution{JobType: "a", ExecutionID: "b", Parameters: map[string]any{"x": math.NaN()}}
	if _, err := s.Create(t.Context(), e); jobs.CodeOf(err) != jobs.CodeInternal {
		t.Errorf("Create of a record JSON cannot encode: %v, want an internal error", err)
	}
	if _, _, err := s.Get(t.Context(), "a", "b"); !errors.Is(err, jobs.ErrNotFound) {
		t.Errorf("a failed Create stored something: %v", err)
	}
}
