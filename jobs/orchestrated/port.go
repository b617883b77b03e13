package orchestrated

import (
	"context"
	"time"
)

// Orchestrator is a workflow engine that runs job definitions (the
// original library's JobOrchestrator).
type Orchestrator interface {
	// Type names the engine: "APACHE_AIRFLOW", "AWS_STEP_FUNCTIONS", ...
	Type() string
	// StartJob starts an execution of def. Starting a name that already
	// exists answers the existing execution.
	StartJob(ctx context.Context, def JobDefinition) (*Execution, error)
	// CheckJobStatus reads the status of an execution.
	CheckJobStatus(ctx context.Context, executionID string) (Status, error)
	// StopJob stops an execution and answers its status afterwards. reason
	// says why, for engines that can record it.
	StopJob(ctx context.Context, executionID, reason string) (Status, error)
	// GetJobExecution reads an execution with its input and output.
	GetJobExecution(ctx context.Context, executionID string) (*Execution, error)
}

// ExecutionIDResolver is implemented by an Orchestrator whose execution id
// is not simply the execution name: it derives the id from the definition
// and the name, without calling the engine. Job uses it to find the
// execution in CHECK, COLLECT, RESULT and STOP. Without it, the execution
// id is the execution name.
type ExecutionIDResolver interface {
	ExecutionIDFor(def JobDefinition) string
}

// JobDefinition is what StartJob starts: which definition (DAG id, state
// machine ARN), under which name, with which input.
type JobDefinition struct {
	JobName       string         // the jetjobs job type
	DefinitionID  string         // DAG id or state machine ARN, as configured
	ExecutionName string         // unique per execution; jetjobs uses the executionId
	Input         map[string]any // the START parameters
	RequestID     string
	Initiator     string
}

// Status is an execution's status in the orchestrator (the original
// JobExecutionStatus names).
type Status string

// The statuses; the last four are terminal.
const (
	StatusQueued    Status = "QUEUED"
	StatusRunning   Status = "RUNNING"
	StatusSucceeded Status = "SUCCEEDED"
	StatusFailed    Status = "FAILED"
	StatusTimedOut  Status = "TIMED_OUT"
	StatusAborted   Status = "ABORTED"
)

// Valid reports whether s is one of the known statuses.
func (s Status) Valid() bool {
	switch s {
	case StatusQueued, StatusRunning, StatusSucceeded, StatusFailed, StatusTimedOut, StatusAborted:
		return true
	}
	return false
}

// Terminal reports whether the execution has ended.
func (s Status) Terminal() bool {
	switch s {
	case StatusSucceeded, StatusFailed, StatusTimedOut, StatusAborted:
		return true
	}
	return false
}

// Execution is one run of a definition in the orchestrator.
type Execution struct {
	ExecutionID   string         `json:"executionId"`
	ExecutionName string         `json:"executionName,omitempty"`
	DefinitionID  string         `json:"definitionId,omitempty"`
	Status        Status         `json:"status"`
	StartTime     *time.Time     `json:"startTime,omitempty"`
	StopTime      *time.Time     `json:"stopTime,omitempty"`
	Input         map[string]any `json:"input,omitempty"`
	Output        map[string]any `json:"output,omitempty"`
	Error         string         `json:"error,omitempty"` // why it failed, when it did
}

// Orchestrator types of the original library.
const (
	TypeAirflow          = "APACHE_AIRFLOW"
	TypeAWSStepFunctions = "AWS_STEP_FUNCTIONS"
)

// HealthChecker is implemented by an Orchestrator that can tell whether its
// engine is reachable and accepts its credentials, with one cheap call
// (GET /health of Airflow, ListStateMachines of Step Functions). The
// engine's /health/jobOrchestrator calls it.
type HealthChecker interface {
	Health(ctx context.Context) error
}

// TypeCustom is the orchestration.orchestrator-type of an orchestrator
// registered in Go (jetjobs.WithOrchestrator).
const TypeCustom = "CUSTOM"

// ProgressReporter is implemented by an Orchestrator that can say how far a
// running execution has got (Step Functions: the state it is in). Job's
// CHECK asks it, best effort, while the execution runs.
type ProgressReporter interface {
	Progress(ctx context.Context, executionID string) (Progress, error)
}

// Progress is how far a running execution has got.
type Progress struct {
	Percent int    // 0..100; 0 when the orchestrator cannot tell
	Message string // e.g. "in state LoadData"; "" for none
}
