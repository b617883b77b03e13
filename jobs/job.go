package jobs

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// AsyncJob is a long-running job driven through START → CHECK → COLLECT →
// RESULT → STOP. Every method may be called again for the same execution (a
// command can be redelivered), so a method should be idempotent on
// req.ExecutionID.
type AsyncJob interface {
	Start(ctx context.Context, req *Request) (*Response, error)
	Check(ctx context.Context, req *Request) (*Response, error)
	Collect(ctx context.Context, req *Request) (*Response, error)
	Result(ctx context.Context, req *Request) (*Response, error)
	Stop(ctx context.Context, req *Request) (*Response, error) // req.Reason says why
}

// SyncJob is a quick job with one stage whose response carries the result.
type SyncJob interface {
	Execute(ctx context.Context, req *Request) (*Response, error)
}

// AsyncDefaults answers the optional stages of an AsyncJob. Embed it and
// write only Start, Check and Stop.
type AsyncDefaults struct{}

// Collect answers that there is nothing to collect.
func (AsyncDefaults) Collect(context.Context, *Request) (*Response, error) {
	return OK("nothing to collect", nil), nil
}

// Result answers with no data of its own: the engine then keeps, as the
// execution's result, the data of the answer that completed it (the CHECK
// that returned Completed("…", data), a START that completed at once, or a
// pushed REPORT). A job that overrides Result decides its result itself.
func (AsyncDefaults) Result(context.Context, *Request) (*Response, error) {
	r := OK("completed", nil)
	r.defaulted = true
	return r, nil
}

// ValidateJobName checks a job type name; it becomes a subject token and a KV
// key prefix, so nothing else is allowed.
func ValidateJobName(name string) error {
	if !validJobName(name) {
		return Errorf(CodeInvalidArgument, "invalid job name %q: want ^[a-z0-9][a-z0-9-]{0,63}$", truncate(name, 80))
	}
	return nil
}

// ValidateExecutionID checks an execution id; it becomes a subject token and
// a KV key, so nothing else is allowed.
func ValidateExecutionID(id string) error {
	if !validExecutionID(id) {
		return Errorf(CodeInvalidArgument, "invalid executionId %q: want 1 to 128 of A-Z a-z 0-9 _ -", truncate(id, 80))
	}
	return nil
}

// validJobName is ^[a-z0-9][a-z0-9-]{0,63}$, by hand: it runs several
// times per command, and a regexp there was 1.4% of a no-op job's CPU.
func validJobName(s string) bool {
	if len(s) == 0 || len(s) > 64 || s[0] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// validExecutionID is ^[A-Za-z0-9_-]{1,128}$, by hand (see validJobName).
func validExecutionID(s string) bool {
	if len(s) == 0 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// NewExecutionID returns a fresh random execution id.
func NewExecutionID() string { return uuid.NewString() }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Clock is the time source of the runtime; tests inject a fake.
type Clock interface{ Now() time.Time }

// SystemClock is the wall clock.
type SystemClock struct{}

// Now returns time.Now in UTC.
func (SystemClock) Now() time.Time { return time.Now().UTC() }
