package bus

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetjobs/jetjobs/jobs"
)

// JetStream error codes that mean "no space": a stream or bucket at its
// max-bytes (or max-msgs) with the discard-new policy answers 10077 with
// the store's reason; an account or a server out of JetStream storage
// answers one of the others.
const (
	errCodeAccountResources      = 10002 // resource limits exceeded for account
	errCodeInsufficientResources = 10023 // insufficient resources
	errCodeMemoryResources       = 10028 // insufficient memory resources available
	errCodeStorageResources      = 10047 // insufficient storage resources available
	errCodeStoreFailed           = 10077 // {err}: "maximum bytes exceeded", "maximum messages exceeded", ...
)

// IsStorageFull reports whether err is JetStream refusing a write for lack
// of space: a full stream or bucket, or the account's or server's storage
// exhausted.
func IsStorageFull(err error) bool {
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	switch apiErr.ErrorCode {
	case errCodeAccountResources, errCodeInsufficientResources, errCodeMemoryResources, errCodeStorageResources:
		return true
	case errCodeStoreFailed:
		d := strings.ToLower(apiErr.Description)
		return strings.Contains(d, "maximum bytes") || strings.Contains(d, "maximum messages")
	}
	return false
}

// PortError is how the adapters translate a failed JetStream write at their
// edge: jobs.CodeStorageFull when there is no space (REST 507), otherwise
// jobs.CodeUnavailable (503). what names the write ("publish command").
func PortError(what string, err error) error {
	if err == nil {
		return nil
	}
	var je *jobs.Error
	if errors.As(err, &je) {
		return err // already translated
	}
	if IsStorageFull(err) {
		return &jobs.Error{Code: jobs.CodeStorageFull,
			Msg: what + ": JetStream storage is full (free space or raise nats.limits, docs/operations.md)", Err: err}
	}
	return &jobs.Error{Code: jobs.CodeUnavailable, Msg: what, Err: err}
}

// StreamError explains a failure to create or update a stream or bucket at
// start-up; one that cannot be sized is told how to fix it.
func StreamError(name string, err error) error {
	if IsStorageFull(err) {
		return fmt.Errorf("bus: stream %s: the server cannot reserve its max-bytes (lower nats.limits or give JetStream more storage, docs/operations.md): %w", name, err)
	}
	return fmt.Errorf("bus: stream %s: %w", name, err)
}

// answerStorageFull tells a waiting caller that the command could not be
// stored for lack of space (REST 507), while the command itself stays in
// JOBS_COMMANDS and runs once space is freed: it is neither acknowledged
// nor dead-lettered. Other failures leave the caller waiting, as before.
func (w *Worker) answerStorageFull(ctx context.Context, replyTo string, cmd *jobs.Command, err error) {
	if replyTo == "" || jobs.CodeOf(err) != jobs.CodeStorageFull {
		return
	}
	msg := "storage full: " + err.Error() + "; the command is kept and runs once space is freed"
	w.reply(ctx, replyTo, cmd.JobType, &jobs.Response{Success: false, ExecutionID: cmd.Request.ExecutionID,
		Stage: cmd.Stage, Timestamp: time.Now().UTC(), Error: &msg, Message: "JetStream storage is full",
		Code: jobs.CodeStorageFull})
}
