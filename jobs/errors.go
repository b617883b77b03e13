package jobs

import (
	"context"
	"errors"
	"fmt"
)

// Code classifies an error for whoever answers the caller: the REST adapter
// maps it to a status code, the bus carries it in the `errorcode` extension of
// a stage response.
type Code string

// The error codes and the HTTP status each one stands for.
const (
	CodeInvalidArgument  Code = "invalid_argument"  // 400: malformed body or id
	CodeNotFound         Code = "not_found"         // 404: unknown job or execution
	CodeConflict         Code = "conflict"          // 409: illegal transition
	CodeNotReady         Code = "not_ready"         // 409: RESULT before COMPLETED
	CodeInvalidParameter Code = "invalid_parameter" // 422: missing or invalid parameter
	CodeRejected         Code = "rejected"          // 429: rate limited or bulkhead full
	CodeUnavailable      Code = "unavailable"       // 503: circuit open or NATS down
	CodeStorageFull      Code = "storage_full"      // 507: a stream, a bucket or the account's JetStream storage is full
	CodeTimeout          Code = "timeout"           // 504: stage timeout
	CodeFailed           Code = "failed"            // the job's own code failed
	CodeInternal         Code = "internal"          // a bug in the engine
)

// Refusal reports whether the code means the call was refused before it ran
// (open circuit breaker, rate limiter, full bulkhead, NATS unavailable): the
// execution is left as it was and the call may be tried again later.
// Full storage is one too: nothing was applied that a later try cannot
// complete, and the call succeeds once space is freed.
func (c Code) Refusal() bool {
	return c == CodeRejected || c == CodeUnavailable || c == CodeStorageFull
}

// Error is a jetjobs error with a code. Sentinels below match any *Error of
// the same code with errors.Is.
type Error struct {
	Code Code
	Msg  string
	Err  error
}

func (e *Error) Error() string {
	switch {
	case e.Msg != "" && e.Err != nil:
		return e.Msg + ": " + e.Err.Error()
	case e.Msg != "":
		return e.Msg
	case e.Err != nil:
		return e.Err.Error()
	}
	return string(e.Code)
}

func (e *Error) Unwrap() error { return e.Err }

// Is matches sentinels by code, so errors.Is(err, ErrNotFound) holds for any
// not-found error however it was worded.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Msg == "" && t.Err == nil && t.Code == e.Code
}

// Sentinels, one per code, for errors.Is.
var (
	ErrInvalidArgument  = &Error{Code: CodeInvalidArgument}
	ErrNotFound         = &Error{Code: CodeNotFound}
	ErrConflict         = &Error{Code: CodeConflict}
	ErrNotReady         = &Error{Code: CodeNotReady}
	ErrInvalidParameter = &Error{Code: CodeInvalidParameter}
	ErrRejected         = &Error{Code: CodeRejected}
	ErrUnavailable      = &Error{Code: CodeUnavailable}
	ErrStorageFull      = &Error{Code: CodeStorageFull}
	ErrTimeout          = &Error{Code: CodeTimeout}
	ErrFailed           = &Error{Code: CodeFailed}
	ErrInternal         = &Error{Code: CodeInternal}
)

// Errorf builds an *Error of the given code; %w in format wraps as usual.
func Errorf(code Code, format string, args ...any) error {
	return &Error{Code: code, Err: fmt.Errorf(format, args...)}
}

// CodeOf classifies any error: the code of the first *Error or *ParamError in
// its chain, timeout for context.DeadlineExceeded, otherwise failed.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	var pe *ParamError
	if errors.As(err, &pe) {
		return CodeInvalidParameter
	}
	var je *Error
	if errors.As(err, &je) {
		return je.Code
	}
	if errors.Is(err, errDeadline) {
		return CodeTimeout
	}
	return CodeFailed
}

// errDeadline is the context error a stage timeout produces.
var errDeadline = context.DeadlineExceeded

// permanentError marks an error that the retry policy must not retry.
type permanentError struct{ err error }

func (p *permanentError) Error() string { return p.err.Error() }
func (p *permanentError) Unwrap() error { return p.err }

// Permanent marks err as not worth retrying: the stage fails at once.
// Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// IsPermanent reports whether err must not be retried: it was marked with
// Permanent, or it is a caller's mistake (a bad parameter or argument, an
// unknown execution, an illegal transition) that no retry can fix.
func IsPermanent(err error) bool {
	var p *permanentError
	if errors.As(err, &p) {
		return true
	}
	switch CodeOf(err) {
	case CodeInvalidArgument, CodeInvalidParameter, CodeNotFound, CodeConflict, CodeNotReady:
		return true
	}
	return false
}

// ParamError names a job parameter that is missing or has the wrong type.
type ParamError struct {
	Name    string // the parameter
	Problem string // "is required", "must be an integer, got string"
}

func (e *ParamError) Error() string {
	return fmt.Sprintf("parameter %q %s", e.Name, e.Problem)
}

// Is makes a *ParamError match ErrInvalidParameter.
func (e *ParamError) Is(target error) bool { return target == ErrInvalidParameter }

// PanicError is a panic recovered from a stage method.
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }

func asPanic(err error, target **PanicError) bool { return errors.As(err, target) }
