package saga

import (
	"strconv"
	"time"
)

// Status is the state of a saga instance.
type Status string

// The instance statuses of docs/sagas.md.
const (
	StatusRunning      Status = "RUNNING"
	StatusCompensating Status = "COMPENSATING"
	StatusCompleted    Status = "COMPLETED"
	StatusCompensated  Status = "COMPENSATED" // a step failed; every completed step was undone
	StatusFailed       Status = "FAILED"      // a compensation failed: an operator must look (Resume)
	StatusCancelled    Status = "CANCELLED"   // cancelled by request; completed steps undone
)

// Terminal reports whether the coordinator has nothing more to do. FAILED
// is terminal until an operator resumes it.
func (s Status) Terminal() bool {
	return s == StatusCompleted || s == StatusCompensated || s == StatusFailed || s == StatusCancelled
}

// RunStatus is the state of one run: a step's job or its compensation.
type RunStatus string

// The run statuses.
const (
	RunPending   RunStatus = "PENDING"   // not started
	RunRunning   RunStatus = "RUNNING"   // an attempt is under way
	RunWaiting   RunStatus = "WAITING"   // an attempt failed; the next one waits for its backoff
	RunCompleted RunStatus = "COMPLETED" // done
	RunFailed    RunStatus = "FAILED"    // every attempt failed
	RunSkipped   RunStatus = "SKIPPED"   // never started: the saga failed first
)

// Saga event types (docs/wire.md), on P.saga.<saga>.<TYPE>.
const (
	EventStarted       = "SAGA_STARTED"
	EventStepCompleted = "SAGA_STEP_COMPLETED"
	EventCompleted     = "SAGA_COMPLETED"
	EventCompensating  = "SAGA_COMPENSATING"
	EventCompensated   = "SAGA_COMPENSATED"
	EventFailed        = "SAGA_FAILED"
)

// Instance is one run of a saga, stored in the SAGAS bucket under
// <saga>.<sagaId>. Every change is a compare-and-set on its revision.
type Instance struct {
	Saga      string            `json:"saga"`
	SagaID    string            `json:"sagaId"`
	Status    Status            `json:"status"`
	Input     map[string]any    `json:"input,omitempty"`
	Steps     []*StepState      `json:"steps"`
	Completed []string          `json:"completed,omitempty"` // steps in completion order
	Error     string            `json:"error,omitempty"`     // why the saga did not complete
	CompError string            `json:"compensationError,omitempty"`
	Failed    string            `json:"failedStep,omitempty"`
	Cancel    bool              `json:"cancelRequested,omitempty"`
	Halted    bool              `json:"halted,omitempty"` // a critical compensation failed: no more were started
	Initiator string            `json:"initiator,omitempty"`
	StartedBy string            `json:"startedBy,omitempty"` // id of the SAGA_START command that created it
	Trace     map[string]string `json:"trace,omitempty"`     // traceparent/tracestate every command carries
	CreatedAt time.Time         `json:"createdAt"`
	UpdatedAt time.Time         `json:"updatedAt"`
	EndedAt   *time.Time        `json:"endedAt,omitempty"`
	// Seq counts the saga events emitted; Outbox holds those not yet known
	// to be published. Events leave in Seq order, so they are stored in
	// order, and their id (<saga>.<sagaId>.<seq>) deduplicates a replay.
	Seq    uint64     `json:"seq"`
	Outbox []OutEvent `json:"outbox,omitempty"`
	// FlushClaim is held by the coordinator publishing the outbox, until
	// FlushUntil: one drive publishes each event, so a core subscriber sees
	// it once (JetStream dedup alone keeps only the stream right).
	FlushClaim string     `json:"flushClaim,omitempty"`
	FlushUntil *time.Time `json:"flushUntil,omitempty"`
}

// StepState is a step's run and, once it must be undone, its compensation's.
type StepState struct {
	Name string `json:"name"`
	Run  Run    `json:"run"`
	Comp *Run   `json:"compensation,omitempty"` // nil: the step has no compensation
}

// Run is one job run with its attempts. Each attempt has its own
// deterministic execution id, the engine's idempotency key: a START sent
// twice for it never runs the job twice.
type Run struct {
	Job         string    `json:"job"`
	Mode        Mode      `json:"mode"`
	Status      RunStatus `json:"status"`
	Attempt     int       `json:"attempt"`     // current or last attempt, from 1
	MaxAttempts int       `json:"maxAttempts"` // give up after this attempt (Resume raises it)
	ExecutionID string    `json:"executionId,omitempty"`
	Dispatched  bool      `json:"dispatched,omitempty"` // the engine accepted START/EXECUTE of this attempt
	// Claim is held by the coordinator sending START/EXECUTE, until
	// ClaimUntil: two coordinators must not send it at once, since the
	// engine may then invoke the job twice before either is recorded.
	Claim      string         `json:"claim,omitempty"`
	ClaimUntil *time.Time     `json:"claimUntil,omitempty"`
	StopSent   bool           `json:"stopSent,omitempty"`
	TimerArmed bool           `json:"timerArmed,omitempty"` // the retry timer of a WAITING run is stored
	RetryAt    *time.Time     `json:"retryAt,omitempty"`
	Result     map[string]any `json:"result,omitempty"`
	Error      string         `json:"error,omitempty"`
	StartedAt  *time.Time     `json:"startedAt,omitempty"`
	EndedAt    *time.Time     `json:"endedAt,omitempty"`
}

// OutEvent is a saga event waiting in the outbox.
type OutEvent struct {
	Seq  uint64    `json:"seq"`
	Data EventData `json:"data"`
}

// EventData is the data of a saga event.
type EventData struct {
	EventType   string         `json:"eventType"`
	Saga        string         `json:"saga"`
	SagaID      string         `json:"sagaId"`
	Status      Status         `json:"status"` // the instance's status after the event
	Seq         uint64         `json:"seq"`    // 1, 2, … per instance
	Step        string         `json:"step,omitempty"`
	JobType     string         `json:"jobType,omitempty"`
	ExecutionID string         `json:"executionId,omitempty"`
	Error       string         `json:"error,omitempty"`
	Timestamp   time.Time      `json:"timestamp"`
	Data        map[string]any `json:"data,omitempty"` // a step's result; every result on SAGA_COMPLETED
}

// step finds a step's state by name.
func (in *Instance) step(name string) *StepState {
	for _, s := range in.Steps {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// run finds the run of step (or of its compensation).
func (in *Instance) run(step string, comp bool) *Run {
	s := in.step(step)
	switch {
	case s == nil:
		return nil
	case comp:
		return s.Comp
	}
	return &s.Run
}

// findExecution finds the run whose current attempt is executionID.
func (in *Instance) findExecution(executionID string) (step string, comp bool, r *Run) {
	for _, s := range in.Steps {
		if s.Run.ExecutionID == executionID {
			return s.Name, false, &s.Run
		}
		if s.Comp != nil && s.Comp.ExecutionID == executionID {
			return s.Name, true, s.Comp
		}
	}
	return "", false, nil
}

// emit puts a saga event in the outbox, stamped with the status the
// instance has now.
func (in *Instance) emit(eventType string, now time.Time, d EventData) {
	in.Seq++
	d.EventType, d.Saga, d.SagaID, d.Status, d.Seq, d.Timestamp = eventType, in.Saga, in.SagaID, in.Status, in.Seq, now
	in.Outbox = append(in.Outbox, OutEvent{Seq: in.Seq, Data: d})
}

// scope is what parameters are built from: the input and every completed
// step's output.
func (in *Instance) scope() Scope {
	s := Scope{Saga: in.Saga, SagaID: in.SagaID, Input: in.Input, Steps: map[string]StepOutput{}}
	for _, st := range in.Steps {
		if st.Run.Status == RunCompleted {
			s.Steps[st.Name] = StepOutput{ExecutionID: st.Run.ExecutionID, Result: st.Run.Result}
		}
	}
	return s
}

// results maps each completed step to its result (SAGA_COMPLETED's data).
func (in *Instance) results() map[string]any {
	out := map[string]any{}
	for _, st := range in.Steps {
		if st.Run.Status == RunCompleted {
			out[st.Name] = st.Run.Result
		}
	}
	return out
}

// executionID is the id of an attempt: <sagaId>-<step> for a step's first
// attempt, -r<n> after; <sagaId>-<step>-c for a compensation, -c<n> after.
func executionID(sagaID, step string, comp bool, attempt int) string {
	id := sagaID + "-" + step
	switch {
	case comp && attempt <= 1:
		return id + "-c"
	case comp:
		return id + "-c" + strconv.Itoa(attempt)
	case attempt > 1:
		return id + "-r" + strconv.Itoa(attempt)
	}
	return id
}

// Public is the instance as answers show it (REST, the CLI): the saga, its
// steps and their runs, without the coordinator's machinery (the event
// outbox and its flush claim, the run claims and timer flags), which only
// the stored record needs.
func (in *Instance) Public() *Instance {
	if in == nil {
		return nil
	}
	out := *in
	out.Outbox, out.FlushClaim, out.FlushUntil = nil, "", nil
	out.Steps = make([]*StepState, len(in.Steps))
	for i, s := range in.Steps {
		c := *s
		c.Run = c.Run.public()
		if s.Comp != nil {
			comp := s.Comp.public()
			c.Comp = &comp
		}
		out.Steps[i] = &c
	}
	return &out
}

func (r Run) public() Run {
	r.Claim, r.ClaimUntil, r.TimerArmed = "", nil, false
	return r
}
