// Package stepfunctionstest is a fake AWS Step Functions endpoint (an
// httptest server speaking the JSON 1.0 protocol) for tests of the
// stepfunctions adapter and of jobs that use it: point
// orchestration.aws-step-functions.endpoint at Server.URL, give static keys,
// then move executions with Succeed, Fail, TimeOut and Abort, and make the
// service unreachable with Stop.
package stepfunctionstest
