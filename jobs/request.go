package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/jetjobs/jetjobs/internal/strictjson"
)

// Request is the JobStageRequest: the data of a command and the body of a
// REST call. Only Parameters is needed to start a job.
type Request struct {
	ExecutionID string            `json:"executionId,omitempty"`
	Parameters  map[string]any    `json:"parameters,omitempty"`
	Reason      string            `json:"reason,omitempty"` // STOP only
	RequestID   string            `json:"requestId,omitempty"`
	Initiator   string            `json:"initiator,omitempty"`
	Metadata    map[string]string `json:"metadata,omitempty"`

	// REPORT only (a pushed report, see ReportAnswer): the progress, and
	// for the end of the work its final status with its data or error.
	ProgressPercentage *int           `json:"progressPercentage,omitempty"`
	Message            string         `json:"message,omitempty"`
	Status             Status         `json:"status,omitempty"`
	Data               map[string]any `json:"data,omitempty"`
	Error              string         `json:"error,omitempty"`

	// Filled by the engine for the stage method; not on the wire.
	JobType   string    `json:"-"`
	Stage     Stage     `json:"-"`
	SagaID    string    `json:"-"`
	Attempt   int       `json:"-"` // 1 for the first try of this stage
	StartedAt time.Time `json:"-"` // when the execution was created (zero at START)

	progress ProgressFunc
}

// DecodeRequest parses a JobStageRequest as the wire carries it (a
// command's data, a REST body): one JSON object with only the fields of
// JobStageRequest, and nothing but white space after it, so that a
// malformed request is refused rather than half read. Its errors are
// encoding/json's, for callers that describe them, or one naming the byte
// where unexpected data follows the object.
func DecodeRequest(data []byte) (*Request, error) {
	var req Request
	if err := DecodeRequestInto(data, &req); err != nil {
		return nil, err
	}
	return &req, nil
}

// DecodeRequestInto is DecodeRequest into req, which must be the zero
// Request (it is left so on an error): a caller that keeps the request in
// a struct of its own spares the copy.
func DecodeRequestInto(data []byte, req *Request) error {
	if decodePlain(data, req) {
		return nil
	}
	*req = Request{}
	if err := strictjson.Decode(data, req); err != nil {
		*req = Request{}
		return err
	}
	return nil
}

// ProgressFunc records progress of an execution; the runtime provides it.
type ProgressFunc func(ctx context.Context, percent int, message string) error

// ReportProgress records progress (0..100) and a message in the execution
// record and publishes a JOB_PROGRESS event. It may be called during a stage
// or later from work the job runs in the background.
func (r *Request) ReportProgress(ctx context.Context, percent int, message string) error {
	if r.progress == nil {
		return Errorf(CodeInvalidArgument, "progress reporting is not available for this request")
	}
	if percent < 0 || percent > 100 {
		return Errorf(CodeInvalidArgument, "progress %d is outside 0..100", percent)
	}
	return r.progress(ctx, percent, message)
}

// SetProgressFunc lets an engine or a test wire ReportProgress.
func (r *Request) SetProgressFunc(f ProgressFunc) { r.progress = f }

// Param returns a parameter and whether it is present (a JSON null counts as
// absent).
func (r *Request) Param(name string) (any, bool) {
	v, ok := r.Parameters[name]
	if !ok || v == nil {
		return nil, false
	}
	return v, true
}

// RequireParam returns a parameter or a *ParamError naming it.
func (r *Request) RequireParam(name string) (any, error) {
	v, ok := r.Param(name)
	if !ok {
		return nil, &ParamError{Name: name, Problem: "is required"}
	}
	return v, nil
}

// String returns a required string parameter; an empty string counts as
// missing.
func (r *Request) String(name string) (string, error) {
	v, err := r.RequireParam(name)
	if err != nil {
		return "", err
	}
	s, ok := v.(string)
	if !ok {
		return "", &ParamError{Name: name, Problem: "must be a string, got " + typeName(v)}
	}
	if s == "" {
		return "", &ParamError{Name: name, Problem: "is required"}
	}
	return s, nil
}

// StringOr returns an optional string parameter or def when absent or
// empty.
func (r *Request) StringOr(name, def string) (string, error) {
	if v, ok := r.Param(name); !ok || v == "" {
		return def, nil
	}
	return r.String(name)
}

// Int returns a required integer parameter. JSON numbers arrive as float64;
// any integral number fits, and so does a string of digits.
func (r *Request) Int(name string) (int64, error) {
	v, err := r.RequireParam(name)
	if err != nil {
		return 0, err
	}
	bad := &ParamError{Name: name, Problem: "must be an integer, got " + typeName(v)}
	switch n := v.(type) {
	case int:
		return int64(n), nil
	case int32:
		return int64(n), nil
	case int64:
		return n, nil
	case float64:
		// float64(math.MaxInt64) is 2^63, one past the largest int64.
		if n != math.Trunc(n) || math.IsInf(n, 0) || n >= math.MaxInt64 || n < math.MinInt64 {
			bad.Problem = fmt.Sprintf("must be an integer, got %v", n)
			return 0, bad
		}
		return int64(n), nil
	case json.Number:
		i, err := n.Int64()
		if err != nil {
			bad.Problem = fmt.Sprintf("must be an integer, got %s", n)
			return 0, bad
		}
		return i, nil
	case string:
		i, err := strconv.ParseInt(n, 10, 64)
		if err != nil {
			bad.Problem = fmt.Sprintf("must be an integer, got %q", n)
			return 0, bad
		}
		return i, nil
	}
	return 0, bad
}

// IntOr returns an optional integer parameter or def when absent.
func (r *Request) IntOr(name string, def int64) (int64, error) {
	if _, ok := r.Param(name); !ok {
		return def, nil
	}
	return r.Int(name)
}

// Float returns a required number parameter.
func (r *Request) Float(name string) (float64, error) {
	v, err := r.RequireParam(name)
	if err != nil {
		return 0, err
	}
	switch n := v.(type) {
	case float64:
		return n, nil
	case int:
		return float64(n), nil
	case int64:
		return float64(n), nil
	case json.Number:
		if f, err := n.Float64(); err == nil {
			return f, nil
		}
	case string:
		if f, err := strconv.ParseFloat(n, 64); err == nil {
			return f, nil
		}
	}
	return 0, &ParamError{Name: name, Problem: "must be a number, got " + typeName(v)}
}

// Bool returns a required boolean parameter; strings strconv.ParseBool
// reads ("true", "false", "1", "0", "t", "f" in any case) count.
func (r *Request) Bool(name string) (bool, error) {
	v, err := r.RequireParam(name)
	if err != nil {
		return false, err
	}
	switch b := v.(type) {
	case bool:
		return b, nil
	case string:
		if p, err := strconv.ParseBool(b); err == nil {
			return p, nil
		}
	}
	return false, &ParamError{Name: name, Problem: "must be a boolean, got " + typeName(v)}
}

// BoolOr returns an optional boolean parameter or def when absent.
func (r *Request) BoolOr(name string, def bool) (bool, error) {
	if _, ok := r.Param(name); !ok {
		return def, nil
	}
	return r.Bool(name)
}

// Duration returns a required duration parameter written as Go durations
// are ("90s", "1h30m").
func (r *Request) Duration(name string) (time.Duration, error) {
	s, err := r.String(name)
	if err != nil {
		return 0, err
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, &ParamError{Name: name, Problem: fmt.Sprintf("must be a duration like \"90s\", got %q", s)}
	}
	return d, nil
}

func typeName(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case float64, int, int64, int32, json.Number:
		return "number"
	case bool:
		return "boolean"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}
