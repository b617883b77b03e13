package jetjobs_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/jetjobs/jetjobs"
	"github.com/jetjobs/jetjobs/internal/config"
	"github.com/jetjobs/jetjobs/jetjobstest"
	"github.com/jetjobs/jetjobs/jobs"
	"github.com/jetjobs/jetjobs/jobs/orchestrated"
)

// memOrch is a CUSTOM orchestrator in memory: executions named after the
// execution name; its first transient CHECK calls fail.
type memOrch struct {
	mu       sync.Mutex
	runs     map[string]*orchestrated.Execution
	failures int // CheckJobStatus calls left to fail transiently
	checks   int
}

func (m *memOrch) Type() string { return "IN_MEMORY" }

func (m *memOrch) StartJob(_ context.Context, def orchestrated.JobDefinition) (*orchestrated.Execution, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if ex, ok := m.runs[def.ExecutionName]; ok {
		c := *ex
		return &c, nil
	}
	ex := &orchestrated.Execution{ExecutionID: def.ExecutionName, DefinitionID: def.DefinitionID,
		Status: orchestrated.StatusRunning, Input: def.Input}
	m.runs[def.ExecutionName] = ex
	c := *ex
	return &c, nil
}

func (m *memOrch) CheckJobStatus(_ context.Context, id string) (orchestrated.Status, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.checks++
	if m.failures > 0 {
		m.failures--
		return "", errors.New("custom engine unreachable")
	}
	ex, ok := m.runs[id]
	if !ok {
		return "", jobs.Errorf(jobs.CodeNotFound, "no run %s", id)
	}
	// Every answered CHECK moves the run on: it succeeds at the first one.
	ex.Status, ex.Output = orchestrated.StatusSucceeded, map[string]any{"echo": ex.Input["value"]}
	return ex.Status, nil
}

func (m *memOrch) StopJob(_ context.Context, id, _ string) (orchestrated.Status, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if ex, ok := m.runs[id]; ok {
		ex.Status = orchestrated.StatusAborted
	}
	return orchestrated.StatusAborted, nil
}

func (m *memOrch) GetJobExecution(_ context.Context, id string) (*orchestrated.Execution, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ex, ok := m.runs[id]
	if !ok {
		return nil, jobs.Errorf(jobs.CodeNotFound, "no run %s", id)
	}
	c := *ex
	return &c, nil
}

// orchestrator-type CUSTOM runs on the orchestrator registered in Go;
// max-retries applies to it, and CHECKs that still fail are transient.
func TestCustomOrchestrator(t *testing.T) {
	t.Parallel()
	// 2 failures: max-retries 0 so each CHECK is one call, and the
	// engine's retry policy off: two CHECKs fail, the third completes.
	m := &memOrch{runs: map[string]*orchestrated.Execution{}, failures: 2}
	h := jetjobstest.New(t, nil, jetjobstest.WithEngineOptions(jetjobs.WithOrchestrator("custom", m)),
		jetjobstest.WithConfig(func(c *jetjobs.Config) {
			c.Orchestration.OrchestratorType = config.OrchestratorCustom
			c.Orchestration.MaxRetries = 0
			c.Orchestration.Resiliency.RetryEnabled = false
			c.Jobs = map[string]config.Job{"custom-job": {Orchestrated: &config.Orchestrated{JobDefinition: "wf-1"}}}
		}))
	start := h.Call(t, "custom-job", jobs.StageStart, &jobs.Request{ExecutionID: "c-1", Parameters: map[string]any{"value": "v"}})
	if !start.Success || start.Data["orchestrator"] != "IN_MEMORY" {
		t.Fatalf("start: %+v", start)
	}
	done := h.WaitEvent(t, "custom-job", "c-1", jobs.EventCompleted)
	if done.Data.Data["echo"] != "v" {
		t.Fatalf("JOB_COMPLETED %+v", done.Data)
	}
	m.mu.Lock()
	checks := m.checks
	m.mu.Unlock()
	if checks != 3 {
		t.Fatalf("%d CHECK calls, want 3", checks)
	}
	o, err := h.Engine.Orchestrator("")
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := o.(*orchestrated.Retrying); !ok || r.Unwrap() != orchestrated.Orchestrator(m) {
		t.Fatalf("Engine.Orchestrator = %T", o)
	}
	if _, err := h.Engine.Orchestrator(config.OrchestratorAWSStepFunctions); err != nil {
		t.Fatalf("a Step Functions client built on demand: %v", err)
	}
}
