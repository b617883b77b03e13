// Package orchestrated is the Orchestrator port of the original library and a
// generic job that turns any Orchestrator into a jobs.AsyncJob, so a job can
// be declared in YAML (`jobs.<name>.orchestrated.job-definition`) with no Go
// code: the work runs in an external workflow engine (an Apache Airflow DAG,
// an AWS Step Functions state machine) and jetjobs gives it the lifecycle,
// events, retries, audit and results of every other job.
//
// An adapter implements Orchestrator for one workflow engine (see
// orchestrators/airflow and orchestrators/stepfunctions). Its contract:
//
//   - StartJob is idempotent on JobDefinition.ExecutionName: when the engine
//     says a run of that name already exists, the adapter answers that run,
//     not an error. Job uses the jetjobs executionId as the name, so a START
//     that is delivered twice starts one run.
//   - The orchestrator's execution id must be derivable from the definition
//     and the execution name, because later stages get the parameters START
//     was given, not START's answer. An adapter whose id is not the execution
//     name itself implements ExecutionIDResolver.
//   - Errors steer the engine as in package jobs: a transport failure or a
//     5xx/429 answer is a plain error (retried); a request the orchestrator
//     refuses for good (4xx, bad credentials) is jobs.Permanent; a run that
//     does not exist is a jobs.CodeNotFound error. A plain error in CHECK
//     leaves the execution running until the next engine tick.
//
// Optional: HealthChecker (for /health/jobOrchestrator) and
// ProgressReporter (CHECK's message and percentage while it runs).
// WithRetry wraps any Orchestrator in orchestration.max-retries and
// retry-delay; the engine does so for every orchestrator it uses (see
// docs/orchestrators.md).
//
// This package imports only package jobs: no HTTP, no NATS.
package orchestrated
