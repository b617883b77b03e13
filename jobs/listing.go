package jobs

import (
	"context"
	"time"
)

// ExecutionQuery selects executions to list. Zero fields match everything.
type ExecutionQuery struct {
	JobType string
	Status  Status
	// Since and Until bound the execution's last update.
	Since, Until time.Time
	// Cursor is the Next of the previous page; "" starts at the newest.
	Cursor string
	// Limit is the page size; 0 means the lister's default.
	Limit int
}

// ExecutionSummary is one line of a listing: enough to show and filter,
// without parameters or results.
type ExecutionSummary struct {
	JobType            string    `json:"jobType"`
	ExecutionID        string    `json:"executionId"`
	Status             Status    `json:"status"`
	ProgressPercentage int       `json:"progressPercentage"`
	CreatedAt          time.Time `json:"createdAt"`
	UpdatedAt          time.Time `json:"updatedAt"`
	Error              string    `json:"error,omitempty"`
	SagaID             string    `json:"sagaId,omitempty"`
}

// ExecutionPage is one page of a listing, newest update first.
type ExecutionPage struct {
	Items []ExecutionSummary `json:"items"`
	// Next is the cursor of the following page, "" on the last one.
	Next string `json:"next,omitempty"`
}

// ExecutionLister lists and counts the executions kept in the state store.
type ExecutionLister interface {
	ListExecutions(ctx context.Context, q ExecutionQuery) (ExecutionPage, error)
	// CountExecutions counts one job type's executions by status ("" for
	// every job type).
	CountExecutions(ctx context.Context, jobType string) (map[Status]int, error)
}
