// Package stepfunctions is the AWS Step Functions adapter of the
// orchestrated.Orchestrator port, on the AWS SDK for Go v2
// (github.com/aws/aws-sdk-go-v2/service/sfn).
//
//	StartJob        StartExecution    {stateMachineArn, name, input[, traceHeader]}
//	CheckJobStatus  DescribeExecution {executionArn}
//	GetJobExecution DescribeExecution (same)
//	StopJob         DescribeExecution, then StopExecution {executionArn, error: jetjobs.Stopped, cause: the STOP reason}
//	Progress        GetExecutionHistory (newest 20 events): "in state <name>"
//	Health          DescribeStateMachine of state-machine-arn, or ListStateMachines of one
//
// A job definition is a state machine ARN, or a state machine name resolved
// next to orchestration.aws-step-functions.state-machine-arn. The execution
// name is the jetjobs executionId (shortened with a hash past 80 characters,
// see ExecutionName) and the input is the START parameters as a JSON object.
// The execution id the port sees is the execution ARN, derived from the
// state machine and the name, so later stages need not see START's answer.
// A START that runs twice starts one execution: the service answers a
// running execution of the same name and input as started, and
// ExecutionAlreadyExists (it has ended, or the input differs) is answered
// by describing the execution: same input, that execution; another input, a
// permanent error.
//
// Statuses map one to one (RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED);
// PENDING_REDRIVE is RUNNING. The output of a SUCCEEDED execution is the
// result (a JSON object as it is, any other value under "output"); a
// failed one carries "<error>: <cause>".
//
// Errors: ExecutionDoesNotExist is a jobs.CodeNotFound error; invalid
// ARNs, names or input, unknown state machines, rejected credentials and
// access denied are jobs.Permanent; throttling, 5xx answers, timeouts and
// transport failures are plain errors (retried). The SDK's own retries are
// off so that orchestration.max-retries is the one retry count. At most
// max-concurrent-executions StartExecution calls run at once; the others
// wait for a slot (until their context ends) rather than being refused.
//
// Package stepfunctionstest is a fake endpoint to test jobs against.
package stepfunctions
