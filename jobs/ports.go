package jobs

import (
	"context"
	"time"
)

// Execution is the record of one execution, kept in the state store under
// <job>.<executionId>. Parameters are stored sanitized.
type Execution struct {
	ExecutionID        string            `json:"executionId"`
	JobType            string            `json:"jobType"`
	Mode               string            `json:"mode"` // async | sync
	Status             Status            `json:"status"`
	LastStage          Stage             `json:"lastStage"`
	Parameters         map[string]any    `json:"parameters,omitempty"`
	ProgressPercentage int               `json:"progressPercentage"`
	Message            string            `json:"message,omitempty"`
	Error              string            `json:"error,omitempty"`
	RequestID          string            `json:"requestId,omitempty"`
	Initiator          string            `json:"initiator,omitempty"`
	Metadata           map[string]string `json:"metadata,omitempty"`
	SagaID             string            `json:"sagaId,omitempty"`
	CommandID          string            `json:"commandId,omitempty"` // id of the command that created it
	Attempts           int               `json:"attempts"`            // stage attempts so far, retries included
	Checks             int               `json:"checks"`              // CHECKs run so far
	CreatedAt          time.Time         `json:"createdAt"`
	UpdatedAt          time.Time         `json:"updatedAt"`
	EndedAt            *time.Time        `json:"endedAt,omitempty"`
	Deadline           time.Time         `json:"deadline"`
	// TerminalEventSent is set once the terminal event is published by a
	// client's CHECK or STOP, so the execution's CHECK timer, which may come
	// back long after the event stream's duplicate window, does not publish
	// it again. (When the timer or the creating command ends an execution,
	// the event's dedup id covers a crash; see Runtime.finish.)
	TerminalEventSent bool `json:"terminalEventSent,omitempty"`
	// Pending marks a claim: a START or EXECUTE with a client-chosen id has
	// taken the id and is running the stage. Another command with the same
	// id answers from it instead of running the job a second time.
	Pending bool `json:"pending,omitempty"`
}

// StateStore keeps execution records. Every write is a compare-and-set so
// that two engines, or a redelivered command, never apply a transition twice.
type StateStore interface {
	// Get returns the record and its revision, or an error matching
	// ErrNotFound.
	Get(ctx context.Context, jobType, executionID string) (*Execution, uint64, error)
	// Create stores a new record, or fails with ErrAlreadyExists.
	Create(ctx context.Context, e *Execution) (uint64, error)
	// Update replaces the record if it is still at revision rev, or fails
	// with ErrRevisionConflict.
	Update(ctx context.Context, e *Execution, rev uint64) (uint64, error)
	// Delete removes the record if it is still at revision rev, or fails
	// with ErrRevisionConflict. (It releases a claim whose stage was
	// refused before it ran.)
	Delete(ctx context.Context, jobType, executionID string, rev uint64) error
}

// Errors a StateStore returns; both match ErrConflict too.
var (
	ErrAlreadyExists    = &Error{Code: CodeConflict, Msg: "execution already exists"}
	ErrRevisionConflict = &Error{Code: CodeConflict, Msg: "execution changed concurrently (revision conflict)"}
)

// Event is a job event to publish. ID is the deduplication id: publishing
// the same ID twice inside the bus's duplicate window stores it once.
type Event struct {
	ID   string
	Data EventData
}

// EventData is the data of a job event (docs/wire.md).
type EventData struct {
	EventType          string            `json:"eventType"`
	ExecutionID        string            `json:"executionId"`
	JobType            string            `json:"jobType"`
	Success            bool              `json:"success"`
	Status             Status            `json:"status"`
	Error              *string           `json:"error"`
	Timestamp          time.Time         `json:"timestamp"`
	Data               map[string]any    `json:"data,omitempty"`
	SagaID             string            `json:"sagaId,omitempty"`
	ProgressPercentage *int              `json:"progressPercentage,omitempty"`
	Message            string            `json:"message,omitempty"`
	RequestID          string            `json:"requestId,omitempty"`
	Initiator          string            `json:"initiator,omitempty"`
	Metadata           map[string]string `json:"metadata,omitempty"`
}

// EventPublisher publishes job events. nil means stored, or, for an
// adapter that pipelines the writes of a command, sent: the failure, if
// any, then comes from the command's Batch (Writes.Wait), which the runtime
// waits on before it stores anything that depends on the event.
type EventPublisher interface {
	Publish(ctx context.Context, ev *Event) error
}

// Timers arms the engine-driven CHECK of an execution: after delay the
// adapter calls Runtime.Tick, and again after each delay Tick returns, until
// Tick says the execution is done. Arming the same execution twice must not
// create two timers.
type Timers interface {
	Arm(ctx context.Context, jobType, executionID string, delay time.Duration) error
}

// Command is one decoded command, as an adapter hands it to Runtime.Handle.
type Command struct {
	ID       string // the CloudEvents id; also the default executionId of START/EXECUTE
	JobType  string
	Stage    Stage
	Request  Request
	SagaID   string
	Delivery int // 1 for the first delivery
	// ReplayedBy is who replayed the command from the dead-letter queue
	// ("" for a command that is not a replay), ReplayOf the entry it came
	// from; the adapter then calls Runtime.Resume after Handle.
	ReplayedBy, ReplayOf string
}
