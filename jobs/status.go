package jobs

import (
	"strings"
)

// Status is the state of one execution.
type Status string

// The statuses of docs/architecture.md. The last four are terminal.
const (
	StatusStarted   Status = "STARTED"
	StatusRunning   Status = "RUNNING"
	StatusCompleted Status = "COMPLETED"
	StatusFailed    Status = "FAILED"
	StatusStopped   Status = "STOPPED"
	StatusTimedOut  Status = "TIMED_OUT"
)

// Valid reports whether s is one of the known statuses.
func (s Status) Valid() bool {
	switch s {
	case StatusStarted, StatusRunning, StatusCompleted, StatusFailed, StatusStopped, StatusTimedOut:
		return true
	}
	return false
}

// Terminal reports whether no transition leaves s.
func (s Status) Terminal() bool {
	switch s {
	case StatusCompleted, StatusFailed, StatusStopped, StatusTimedOut:
		return true
	}
	return false
}

// CanTransition reports whether an execution in status from may move to
// status to. The empty status is "no execution yet": a new execution may be
// created in any status (a START or EXECUTE can finish at once). Terminal
// statuses have no way out, and a status never moves back to STARTED.
func CanTransition(from, to Status) bool {
	if !to.Valid() {
		return false
	}
	switch from {
	case "":
		return true
	case StatusStarted:
		return to != StatusStarted
	case StatusRunning:
		return to != StatusStarted && to != StatusRunning
	}
	return false
}

// Stage is one step of the lifecycle.
type Stage string

// The stages; async jobs have the first five and REPORT, sync jobs only
// EXECUTE.
const (
	StageStart   Stage = "START"
	StageCheck   Stage = "CHECK"
	StageCollect Stage = "COLLECT"
	StageResult  Stage = "RESULT"
	StageStop    Stage = "STOP"
	StageExecute Stage = "EXECUTE"
	// StageReport is a pushed report of an async execution's progress or
	// end, sent by the external system or the job's own background code
	// instead of waiting for the next CHECK (docs/jobs.md, push reports).
	StageReport Stage = "REPORT"
)

// Stages lists every stage in lifecycle order.
var Stages = []Stage{StageStart, StageCheck, StageCollect, StageResult, StageStop, StageExecute, StageReport}

// ParseStage reads a stage from its subject token ("start") or its name
// ("START").
func ParseStage(s string) (Stage, error) {
	st := Stage(strings.ToUpper(s))
	for _, known := range Stages {
		if st == known {
			return st, nil
		}
	}
	return "", Errorf(CodeInvalidArgument, "unknown stage %q (want one of start, check, collect, result, stop, execute, report)", s)
}

// Token is the stage as it appears in a command subject.
func (s Stage) Token() string { return strings.ToLower(string(s)) }

// CommandType is the CloudEvents type of a command for this stage.
func (s Stage) CommandType() string { return "JOB_" + string(s) }

// Async reports whether the stage belongs to the async lifecycle.
func (s Stage) Async() bool { return s != StageExecute }

// StageOfCommandType maps a command's CloudEvents type back to its stage.
func StageOfCommandType(t string) (Stage, bool) {
	name, ok := strings.CutPrefix(t, "JOB_")
	if !ok {
		return "", false
	}
	st, err := ParseStage(name)
	if err != nil || string(st) != name {
		return "", false
	}
	return st, true
}

// Event and response types on the wire.
const (
	EventStarted       = "JOB_STARTED"
	EventProgress      = "JOB_PROGRESS"
	EventCompleted     = "JOB_COMPLETED"
	EventFailed        = "JOB_FAILED"
	EventStopped       = "JOB_STOPPED"
	EventStageResponse = "JOB_STAGE_RESPONSE"
)

// TerminalEventType is the event that announces the end of an execution in
// status s: TIMED_OUT and FAILED both end with JOB_FAILED.
func TerminalEventType(s Status) string {
	switch s {
	case StatusCompleted:
		return EventCompleted
	case StatusStopped:
		return EventStopped
	case StatusFailed, StatusTimedOut:
		return EventFailed
	}
	return ""
}
