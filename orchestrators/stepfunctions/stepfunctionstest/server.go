package stepfunctionstest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Statuses of an execution, as the service names them.
const (
	Running        = "RUNNING"
	Succeeded      = "SUCCEEDED"
	Failed         = "FAILED"
	TimedOut       = "TIMED_OUT"
	Aborted        = "ABORTED"
	PendingRedrive = "PENDING_REDRIVE"
)

// Execution is an execution as the fake holds it.
type Execution struct {
	ARN, Name, StateMachineARN string
	Status                     string
	Input, Output              string // JSON documents
	Error, Cause               string
	TraceHeader                string // what StartExecution was given
	StartDate                  time.Time
	StopDate                   *time.Time
	States                     []string // the states entered, oldest first (EnterState)
}

// Server is a fake AWS Step Functions endpoint speaking the service's JSON
// 1.0 protocol (POST /, X-Amz-Target: AWSStepFunctions.<Operation>). Its
// URL is the endpoint to configure (orchestration.aws-step-functions.endpoint).
// It serves StartExecution, DescribeExecution, StopExecution,
// DescribeStateMachine, ListStateMachines and GetExecutionHistory. It reads
// the access key id from the SigV4 Authorization header but does not verify
// the signature.
type Server struct {
	*httptest.Server

	mu       sync.Mutex
	execs    map[string]*Execution // by ARN
	machines map[string]bool       // nil: every state machine exists
	key      string                // required access key id; "" accepts any signed request
	fail     []fault
	hold     chan struct{}
	calls    []string
}

type fault struct {
	status int
	typ    string
}

// Option configures a Server.
type Option func(*Server)

// WithAccessKey refuses requests not signed with this access key id
// (UnrecognizedClientException, as the service does).
func WithAccessKey(id string) Option { return func(s *Server) { s.key = id } }

// WithStateMachines makes only these state machine ARNs exist (default:
// any does).
func WithStateMachines(arns ...string) Option {
	return func(s *Server) {
		s.machines = map[string]bool{}
		for _, a := range arns {
			s.machines[a] = true
		}
	}
}

// NewServer starts a fake Step Functions endpoint; it is closed when the
// test ends (or by Stop).
func NewServer(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	s := &Server{execs: map[string]*Execution{}}
	for _, o := range opts {
		o(s)
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	tb.Cleanup(s.Close)
	return s
}

// Stop closes the server: later calls fail to connect, as when the
// service is unreachable.
func (s *Server) Stop() {
	s.Close()
}

// ExecutionARN is the ARN of execution name of a state machine ARN.
func ExecutionARN(machine, name string) string {
	parts := strings.Split(machine, ":")
	if len(parts) < 7 {
		return ""
	}
	return strings.Join(parts[:5], ":") + ":execution:" + parts[6] + ":" + name
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "AWSStepFunctions.")
	if r.Method != http.MethodPost || !ok {
		apiError(w, http.StatusBadRequest, "UnknownOperationException", "no such operation")
		return
	}
	s.mu.Lock()
	s.calls = append(s.calls, op)
	hold := s.hold
	var f fault
	if len(s.fail) > 0 {
		f, s.fail = s.fail[0], s.fail[1:]
	}
	s.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-r.Context().Done():
			return
		}
	}
	if f.status != 0 {
		apiError(w, f.status, f.typ, "injected failure")
		return
	}
	if !s.authorized(r) {
		apiError(w, http.StatusBadRequest, "UnrecognizedClientException", "The security token included in the request is invalid.")
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		apiError(w, http.StatusBadRequest, "SerializationException", err.Error())
		return
	}
	var in map[string]any
	if err := json.Unmarshal(body, &in); err != nil {
		apiError(w, http.StatusBadRequest, "SerializationException", err.Error())
		return
	}
	str := func(k string) string { v, _ := in[k].(string); return v }
	s.mu.Lock()
	defer s.mu.Unlock()
	switch op {
	case "StartExecution":
		s.start(w, str("stateMachineArn"), str("name"), str("input"), str("traceHeader"))
	case "DescribeExecution":
		if ex := s.find(w, str("executionArn")); ex != nil {
			writeJSON(w, describe(ex))
		}
	case "StopExecution":
		if ex := s.find(w, str("executionArn")); ex != nil {
			if ex.Status == Running || ex.Status == PendingRedrive {
				setStatus(ex, Aborted)
				ex.Error, ex.Cause = str("error"), str("cause")
			}
			writeJSON(w, map[string]any{"stopDate": epoch(time.Now())})
		}
	case "GetExecutionHistory":
		if ex := s.find(w, str("executionArn")); ex != nil {
			reverse, _ := in["reverseOrder"].(bool)
			writeJSON(w, map[string]any{"events": history(ex, reverse)})
		}
	case "DescribeStateMachine":
		arn := str("stateMachineArn")
		if s.machines != nil && !s.machines[arn] {
			apiError(w, http.StatusBadRequest, "StateMachineDoesNotExist", "State Machine Does Not Exist: '"+arn+"'")
			return
		}
		parts := strings.Split(arn, ":")
		writeJSON(w, map[string]any{"stateMachineArn": arn, "name": parts[len(parts)-1], "status": "ACTIVE",
			"definition": "{}", "roleArn": "arn:aws:iam::123456789012:role/fake", "type": "STANDARD",
			"creationDate": epoch(time.Unix(1700000000, 0))})
	case "ListStateMachines":
		list := []map[string]any{}
		for arn := range s.machines {
			parts := strings.Split(arn, ":")
			list = append(list, map[string]any{"stateMachineArn": arn, "name": parts[len(parts)-1], "type": "STANDARD",
				"creationDate": epoch(time.Unix(1700000000, 0))})
			break // MaxResults is 1 for the callers of this fake
		}
		writeJSON(w, map[string]any{"stateMachines": list})
	default:
		apiError(w, http.StatusBadRequest, "UnknownOperationException", "operation "+op+" is not faked")
	}
}

func (s *Server) authorized(r *http.Request) bool {
	auth := r.Header.Get("Authorization")
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 ") {
		return false
	}
	if s.key == "" {
		return true
	}
	return strings.Contains(auth, "Credential="+s.key+"/")
}

// start is StartExecution: a new execution; the same name and input while
// it runs answers it again (the service's idempotency); otherwise a name
// already used is ExecutionAlreadyExists.
func (s *Server) start(w http.ResponseWriter, machine, name, input, traceHeader string) {
	if s.machines != nil && !s.machines[machine] {
		apiError(w, http.StatusBadRequest, "StateMachineDoesNotExist", "State Machine Does Not Exist: '"+machine+"'")
		return
	}
	if name == "" {
		name = fmt.Sprintf("gen-%d", time.Now().UnixNano())
	}
	if input == "" {
		input = "{}"
	}
	arn := ExecutionARN(machine, name)
	if arn == "" {
		apiError(w, http.StatusBadRequest, "InvalidArn", "Invalid Arn: '"+machine+"'")
		return
	}
	if ex, ok := s.execs[arn]; ok {
		if ex.Status == Running && sameJSON(ex.Input, input) {
			writeJSON(w, map[string]any{"executionArn": arn, "startDate": epoch(ex.StartDate)})
			return
		}
		apiError(w, http.StatusBadRequest, "ExecutionAlreadyExists", "Execution Already Exists: '"+arn+"'")
		return
	}
	ex := &Execution{ARN: arn, Name: name, StateMachineARN: machine, Status: Running, Input: input,
		TraceHeader: traceHeader, StartDate: time.Now().UTC()}
	s.execs[arn] = ex
	writeJSON(w, map[string]any{"executionArn": arn, "startDate": epoch(ex.StartDate)})
}

func (s *Server) find(w http.ResponseWriter, arn string) *Execution {
	ex, ok := s.execs[arn]
	if !ok {
		apiError(w, http.StatusBadRequest, "ExecutionDoesNotExist", "Execution Does Not Exist: '"+arn+"'")
		return nil
	}
	return ex
}

func describe(ex *Execution) map[string]any {
	out := map[string]any{"executionArn": ex.ARN, "stateMachineArn": ex.StateMachineARN, "name": ex.Name,
		"status": ex.Status, "startDate": epoch(ex.StartDate), "input": ex.Input}
	if ex.StopDate != nil {
		out["stopDate"] = epoch(*ex.StopDate)
	}
	if ex.Output != "" {
		out["output"] = ex.Output
	}
	if ex.Error != "" {
		out["error"] = ex.Error
	}
	if ex.Cause != "" {
		out["cause"] = ex.Cause
	}
	if ex.TraceHeader != "" {
		out["traceHeader"] = ex.TraceHeader
	}
	return out
}

// history is the execution's events: ExecutionStarted, then a
// TaskStateEntered per state entered.
func history(ex *Execution, reverse bool) []map[string]any {
	events := []map[string]any{{"id": 1, "type": "ExecutionStarted", "timestamp": epoch(ex.StartDate),
		"executionStartedEventDetails": map[string]any{}}}
	for i, name := range ex.States {
		events = append(events, map[string]any{"id": i + 2, "previousEventId": i + 1, "type": "TaskStateEntered",
			"timestamp": epoch(ex.StartDate), "stateEnteredEventDetails": map[string]any{"name": name}})
	}
	if reverse {
		for i, j := 0, len(events)-1; i < j; i, j = i+1, j-1 {
			events[i], events[j] = events[j], events[i]
		}
	}
	return events
}

// EnterState records that a running execution entered a state (its
// history then shows it).
func (s *Server) EnterState(tb testing.TB, arn, state string) {
	tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	ex, ok := s.execs[arn]
	if !ok {
		tb.Fatalf("stepfunctionstest: no execution %s", arn)
	}
	ex.States = append(ex.States, state)
}

func setStatus(ex *Execution, status string) {
	ex.Status = status
	if status == Running || status == PendingRedrive {
		ex.StopDate = nil
		return
	}
	now := time.Now().UTC()
	ex.StopDate = &now
}

func (s *Server) move(tb testing.TB, arn, status string, edit func(*Execution)) {
	tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	ex, ok := s.execs[arn]
	if !ok {
		tb.Fatalf("stepfunctionstest: no execution %s", arn)
	}
	setStatus(ex, status)
	if edit != nil {
		edit(ex)
	}
}

// Succeed ends an execution SUCCEEDED with output (a JSON document).
func (s *Server) Succeed(tb testing.TB, arn, output string) {
	tb.Helper()
	s.move(tb, arn, Succeeded, func(ex *Execution) { ex.Output = output })
}

// Fail ends an execution FAILED with an error name and a cause.
func (s *Server) Fail(tb testing.TB, arn, errName, cause string) {
	tb.Helper()
	s.move(tb, arn, Failed, func(ex *Execution) { ex.Error, ex.Cause = errName, cause })
}

// TimeOut ends an execution TIMED_OUT (its state machine's TimeoutSeconds).
func (s *Server) TimeOut(tb testing.TB, arn string) {
	tb.Helper()
	s.move(tb, arn, TimedOut, func(ex *Execution) { ex.Error, ex.Cause = "States.Timeout", "execution timed out" })
}

// Abort ends an execution ABORTED, as a stop from the AWS console does.
func (s *Server) Abort(tb testing.TB, arn, cause string) {
	tb.Helper()
	s.move(tb, arn, Aborted, func(ex *Execution) { ex.Cause = cause })
}

// SetStatus moves an execution to any status (PENDING_REDRIVE, or one the
// adapter does not know).
func (s *Server) SetStatus(tb testing.TB, arn, status string) {
	tb.Helper()
	s.move(tb, arn, status, nil)
}

// Execution returns a copy of an execution.
func (s *Server) Execution(arn string) (Execution, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ex, ok := s.execs[arn]
	if !ok {
		return Execution{}, false
	}
	c := *ex
	c.States = append([]string(nil), ex.States...)
	return c, true
}

// Executions counts the executions started.
func (s *Server) Executions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.execs)
}

// Calls lists the operations called so far ("StartExecution", ...).
func (s *Server) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.calls...)
}

// FailNext answers the next request with this HTTP status and error type
// (ThrottlingException 400, ServiceUnavailable 503, AccessDeniedException
// 400, ...), before authentication. Call it again to fail more requests.
func (s *Server) FailNext(status int, errType string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = append(s.fail, fault{status: status, typ: errType})
}

// Hold makes requests wait until release is called (or the client gives
// up), to test timeouts and concurrency limits.
func (s *Server) Hold() (release func()) {
	ch := make(chan struct{})
	s.mu.Lock()
	s.hold = ch
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			s.hold = nil
			s.mu.Unlock()
			close(ch)
		})
	}
}

func sameJSON(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return a == b
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
}

// epoch is the protocol's timestamp: seconds since the epoch, fractional.
func epoch(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	_ = json.NewEncoder(w).Encode(v)
}

func apiError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("X-Amzn-ErrorType", typ)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": "com.amazonaws.states#" + typ, "message": msg})
}
