package jobs

import "time"

// Response is the JobStageResponse: a stage's answer, the reply to a command
// and the body of a REST response. Field names are the original API's.
type Response struct {
	Success            bool              `json:"success"`
	Status             Status            `json:"status,omitempty"`
	ExecutionID        string            `json:"executionId,omitempty"`
	Message            string            `json:"message,omitempty"`
	Stage              Stage             `json:"stage,omitempty"`
	ProgressPercentage int               `json:"progressPercentage"`
	Timestamp          time.Time         `json:"timestamp"`
	Data               map[string]any    `json:"data,omitempty"`
	Metadata           map[string]string `json:"metadata,omitempty"`
	Error              *string           `json:"error"`

	// Raw is the job's raw output, kept in the stored result as rawOutput
	// (persist-raw-output) and never sent on the wire; Data is the
	// transformed output.
	Raw any `json:"-"`

	// Code classifies a failure for the transport (REST status, the
	// `errorcode` extension); empty on success. Not part of the JSON body.
	Code Code `json:"-"`

	// defaulted marks the answer of AsyncDefaults.Result: the job keeps no
	// result of its own, so the data of the stage that completed the
	// execution is its result (see Runtime.completedResult).
	defaulted bool
}

// ErrorText is the error message, or "" when there is none.
func (r *Response) ErrorText() string {
	if r == nil || r.Error == nil {
		return ""
	}
	return *r.Error
}

// Started answers a START that has launched the work.
func Started(message string) *Response {
	return &Response{Success: true, Status: StatusStarted, Message: message}
}

// Running answers a CHECK while work goes on.
func Running(percent int, message string) *Response {
	return &Response{Success: true, Status: StatusRunning, ProgressPercentage: percent, Message: message}
}

// Completed answers the stage that saw the work finish, with its data.
func Completed(message string, data map[string]any) *Response {
	return &Response{Success: true, Status: StatusCompleted, ProgressPercentage: 100, Message: message, Data: data}
}

// Failed answers the stage that saw the work fail, when that is a result
// rather than an error of the stage itself.
func Failed(message string) *Response {
	return &Response{Success: false, Status: StatusFailed, Message: message, Error: &message}
}

// OK answers a stage that changes nothing (COLLECT, RESULT) with data.
func OK(message string, data map[string]any) *Response {
	return &Response{Success: true, Message: message, Data: data}
}

func strPtr(s string) *string { return &s }
