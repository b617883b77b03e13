// Package airflow is the Apache Airflow adapter of the orchestrated.Orchestrator
// port, on Airflow's stable REST API (v1) with net/http.
//
//	StartJob        POST  {base-url}/api/{api-version}/dags/{dag_id}/dagRuns  {"dag_run_id", "conf"}
//	CheckJobStatus  GET   {base-url}/api/{api-version}/dags/{dag_id}/dagRuns/{dag_run_id}
//	GetJobExecution GET   (same)
//	StopJob         PATCH (same)  {"state": "failed"}
//
// The DAG id is the job definition with orchestration.airflow.dag-id-prefix in
// front (see DagID), the dag_run_id is the execution name (jetjobs: the
// executionId) and the conf is the START parameters. The execution id the
// port sees is "<dag_id>/<dag_run_id>" (a DAG id never contains a slash).
// A 409 on POST means the run exists: StartJob reads and answers it, so a
// START that runs twice triggers one run.
//
// Dag run states map to orchestrated statuses: queued → QUEUED, running →
// RUNNING, success → SUCCEEDED, failed → FAILED. Airflow has no "aborted":
// a run stopped through StopJob is failed.
//
// Errors name the operation, the dag run and the HTTP status, never the
// password or the token. A transport failure, a timeout, 408, 425, 429 and
// 5xx are plain errors (the engine retries them); 404 on a dag run is a
// jobs.CodeNotFound error; any other 4xx (401, 403, 400, 404 of a DAG on
// trigger) and a certificate the client does not trust are jobs.Permanent.
package airflow
