package stepfunctions

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"go.opentelemetry.io/otel/trace"

	"github.com/jetjobs/jetjobs/jobs"
	"github.com/jetjobs/jetjobs/jobs/orchestrated"
)

// maxNameLen is Step Functions' limit on an execution name.
const maxNameLen = 80

// ExecutionName is the Step Functions execution name of a jetjobs execution
// id: the id itself when it fits (up to 80 characters; an executionId's
// characters are all allowed), else its first 63 characters, "-" and 16 hex
// digits of its SHA-256, so the same id always gives the same name.
func ExecutionName(executionID string) string {
	if len(executionID) <= maxNameLen {
		return executionID
	}
	sum := sha256.Sum256([]byte(executionID))
	return executionID[:maxNameLen-17] + "-" + hex.EncodeToString(sum[:8])
}

// machineParts splits a state machine ARN,
// arn:<partition>:states:<region>:<account>:stateMachine:<name>[:<version or alias>],
// into the prefix before the name and the name.
func machineParts(arn string) (prefix, name string, err error) {
	parts := strings.Split(arn, ":")
	if len(parts) < 7 || len(parts) > 8 || parts[0] != "arn" || parts[2] != "states" || parts[5] != "stateMachine" || parts[6] == "" {
		return "", "", fmt.Errorf("%q is not a state machine ARN (arn:aws:states:<region>:<account>:stateMachine:<name>)", arn)
	}
	return strings.Join(parts[:6], ":") + ":", parts[6], nil
}

// StateMachineARN is the state machine a job definition runs: the
// definition when it is an ARN, else the state machine of that name next to
// state-machine-arn (same partition, region and account); an empty
// definition is state-machine-arn itself.
func (o *Orchestrator) StateMachineARN(definition string) (string, error) {
	switch {
	case strings.HasPrefix(definition, "arn:"):
		if _, _, err := machineParts(definition); err != nil {
			return "", err
		}
		return definition, nil
	case o.machine == "":
		return "", fmt.Errorf("job definition %q is not an ARN and orchestration.aws-step-functions.state-machine-arn is not set to resolve it against", definition)
	case definition == "":
		return o.machine, nil
	}
	prefix, _, _ := machineParts(o.machine)
	return prefix + definition, nil
}

// executionARN is the ARN Step Functions gives execution name of machine:
// arn:<partition>:states:<region>:<account>:execution:<machine name>:<name>.
func executionARN(machine, name string) string {
	prefix, mname, err := machineParts(machine)
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(prefix, "stateMachine:") + "execution:" + mname + ":" + name
}

// ExecutionIDFor is the execution ARN of def's state machine and execution
// name, as StartExecution will answer it ("" when the definition does not
// resolve to a state machine).
func (o *Orchestrator) ExecutionIDFor(def orchestrated.JobDefinition) string {
	machine, err := o.StateMachineARN(def.DefinitionID)
	if err != nil {
		return ""
	}
	return executionARN(machine, ExecutionName(def.ExecutionName))
}

// StartJob starts an execution of def's state machine named after
// def.ExecutionName with def.Input as its JSON input. A START that runs
// again finds the execution the first one started: Step Functions answers a
// running execution of the same name and input as a new start, and
// ExecutionAlreadyExists (it ended, or the input differs) is answered by
// reading it; only a different input is an error. At most
// max-concurrent-executions calls run at once; the others wait (until ctx
// ends).
func (o *Orchestrator) StartJob(ctx context.Context, def orchestrated.JobDefinition) (*orchestrated.Execution, error) {
	machine, err := o.StateMachineARN(def.DefinitionID)
	if err != nil {
		return nil, jobs.Permanent(fmt.Errorf("aws step functions: start job definition %q: %w", def.DefinitionID, err))
	}
	in := def.Input
	if in == nil {
		in = map[string]any{}
	}
	input, err := json.Marshal(in)
	if err != nil {
		return nil, jobs.Permanent(fmt.Errorf("aws step functions: start %s: the input is not JSON: %w", machine, err))
	}
	req := &sfn.StartExecutionInput{StateMachineArn: aws.String(machine), Input: aws.String(string(input))}
	name := ""
	if def.ExecutionName != "" {
		name = ExecutionName(def.ExecutionName)
		req.Name = aws.String(name)
	}
	if o.xray {
		req.TraceHeader = aws.String(traceHeader(ctx))
	}
	select {
	case o.sem <- struct{}{}:
		defer func() { <-o.sem }()
	case <-ctx.Done():
		return nil, fmt.Errorf("aws step functions: start execution %q of %s: waiting for one of max-concurrent-executions (%d): %w",
			name, machine, cap(o.sem), ctx.Err())
	}
	out, err := o.api.StartExecution(ctx, req)
	var exists *types.ExecutionAlreadyExists
	if errors.As(err, &exists) && name != "" {
		arn := executionARN(machine, name)
		ex, derr := o.GetJobExecution(ctx, arn)
		if derr != nil {
			return nil, derr
		}
		if !sameJSON(ex.Input, in) {
			return nil, jobs.Permanent(fmt.Errorf("aws step functions: start execution %q of %s: an execution of that name exists with a different input", name, machine))
		}
		return ex, nil
	}
	if err != nil {
		return nil, o.classify(fmt.Sprintf("start execution %q of %s", name, machine), err)
	}
	ex := &orchestrated.Execution{ExecutionID: aws.ToString(out.ExecutionArn), ExecutionName: name, DefinitionID: machine,
		Status: orchestrated.StatusRunning, StartTime: utc(out.StartDate), Input: in}
	if ex.ExecutionID == "" {
		ex.ExecutionID = executionARN(machine, name)
	}
	return ex, nil
}

// CheckJobStatus reads the execution's status.
func (o *Orchestrator) CheckJobStatus(ctx context.Context, executionID string) (orchestrated.Status, error) {
	ex, err := o.GetJobExecution(ctx, executionID)
	if err != nil {
		return "", err
	}
	return ex.Status, nil
}

// GetJobExecution describes the execution: its status, input, output (the
// result) and, when it failed, its error and cause.
func (o *Orchestrator) GetJobExecution(ctx context.Context, executionID string) (*orchestrated.Execution, error) {
	if !strings.HasPrefix(executionID, "arn:") {
		return nil, jobs.Errorf(jobs.CodeInvalidArgument, "aws step functions: execution id %q: want an execution ARN", executionID)
	}
	out, err := o.api.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(executionID)})
	if err != nil {
		return nil, o.classify("describe execution "+executionID, err)
	}
	return execution(executionID, out), nil
}

// StopJob stops a running execution with reason as its cause and answers
// ABORTED; an execution that has already ended is left as it is.
func (o *Orchestrator) StopJob(ctx context.Context, executionID, reason string) (orchestrated.Status, error) {
	cur, err := o.GetJobExecution(ctx, executionID)
	if err != nil {
		return "", err
	}
	if cur.Status.Terminal() {
		return cur.Status, nil
	}
	if r := []rune(reason); len(r) > 32768 {
		reason = string(r[:32768])
	}
	_, err = o.api.StopExecution(ctx, &sfn.StopExecutionInput{ExecutionArn: aws.String(executionID),
		Error: aws.String("jetjobs.Stopped"), Cause: aws.String(reason)})
	if err != nil {
		return "", o.classify("stop execution "+executionID, err)
	}
	return orchestrated.StatusAborted, nil
}

// historyPage is how many of the newest history events Progress reads.
const historyPage = 20

// Progress reads the newest history events (GetExecutionHistory, newest
// first, without input and output) for the state the execution is in:
// "in state <name>". Step Functions does not know how many states are
// left, so Percent stays 0.
func (o *Orchestrator) Progress(ctx context.Context, executionID string) (orchestrated.Progress, error) {
	out, err := o.api.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(executionID),
		ReverseOrder: true, MaxResults: historyPage, IncludeExecutionData: aws.Bool(false)})
	if err != nil {
		return orchestrated.Progress{}, o.classify("get execution history "+executionID, err)
	}
	for _, ev := range out.Events {
		if d := ev.StateEnteredEventDetails; d != nil && aws.ToString(d.Name) != "" {
			return orchestrated.Progress{Message: "in state " + aws.ToString(d.Name)}, nil
		}
	}
	return orchestrated.Progress{}, nil
}

// Status maps an execution status. PENDING_REDRIVE (a redrive is about to
// run it again) is RUNNING; an unknown status maps to "" (the caller
// reports it).
func Status(s types.ExecutionStatus) orchestrated.Status {
	switch s {
	case types.ExecutionStatusRunning, types.ExecutionStatusPendingRedrive:
		return orchestrated.StatusRunning
	case types.ExecutionStatusSucceeded:
		return orchestrated.StatusSucceeded
	case types.ExecutionStatusFailed:
		return orchestrated.StatusFailed
	case types.ExecutionStatusTimedOut:
		return orchestrated.StatusTimedOut
	case types.ExecutionStatusAborted:
		return orchestrated.StatusAborted
	}
	return ""
}

func execution(id string, out *sfn.DescribeExecutionOutput) *orchestrated.Execution {
	st := Status(out.Status)
	if st == "" {
		// Refused by name by the orchestrated job rather than guessed.
		st = orchestrated.Status("SFN_" + string(out.Status))
	}
	ex := &orchestrated.Execution{
		ExecutionID: id, ExecutionName: aws.ToString(out.Name), DefinitionID: aws.ToString(out.StateMachineArn),
		Status: st, StartTime: utc(out.StartDate), StopTime: utc(out.StopDate),
		Input: object(aws.ToString(out.Input)), Output: object(aws.ToString(out.Output)),
	}
	if out.ExecutionArn != nil {
		ex.ExecutionID = *out.ExecutionArn
	}
	if st == orchestrated.StatusFailed || st == orchestrated.StatusTimedOut || st == orchestrated.StatusAborted {
		ex.Error = strings.Trim(aws.ToString(out.Error)+": "+aws.ToString(out.Cause), ": ")
	}
	return ex
}

// object reads a JSON document: an object as it is, any other value under
// "output", nothing as nil.
func object(doc string) map[string]any {
	if strings.TrimSpace(doc) == "" {
		return nil
	}
	var m map[string]any
	if json.Unmarshal([]byte(doc), &m) == nil && m != nil {
		return m
	}
	var v any
	if json.Unmarshal([]byte(doc), &v) == nil {
		return map[string]any{"output": v}
	}
	return map[string]any{"output": doc}
}

// sameJSON compares an execution's stored input with the one START sends.
func sameJSON(stored, sent map[string]any) bool {
	if len(stored) == 0 && len(sent) == 0 {
		return true
	}
	b, err := json.Marshal(sent)
	if err != nil {
		return false
	}
	var norm map[string]any
	_ = json.Unmarshal(b, &norm)
	return reflect.DeepEqual(stored, norm)
}

// traceHeader is the X-Ray trace header of the span in ctx (its trace id in
// X-Ray's form, 1-<8 hex>-<24 hex>), or a new root without a sampling
// decision when there is no span.
func traceHeader(ctx context.Context) string {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		tid := sc.TraceID().String()
		sampled := "0"
		if sc.IsSampled() {
			sampled = "1"
		}
		return "Root=1-" + tid[:8] + "-" + tid[8:] + ";Parent=" + sc.SpanID().String() + ";Sampled=" + sampled
	}
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "Root=1-" + strconv.FormatInt(time.Now().Unix(), 16) + "-" + hex.EncodeToString(b[:])
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
