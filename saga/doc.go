// Package saga runs multi-job business transactions on jetjobs: saga
// coordinators that react to job events on JetStream.
//
// A Definition names ordered steps, each one job (async: START then a
// terminal event; sync: EXECUTE), with parameters built from the saga's
// input and earlier steps' results, and an optional compensating job. Steps
// may depend on several earlier ones (a small DAG); independent steps run
// in parallel. Definitions are written in Go or loaded from YAML
// (LoadDefinitions).
//
// A Coordinator never blocks waiting for a job. It consumes, with durable
// consumers that any number of coordinators share:
//
//   - JOB_COMPLETED / JOB_FAILED / JOB_STOPPED from JOBS_EVENTS: a completed
//     step's result is recorded (from the event's data, else from RESULT)
//     and the next steps are started; a
//     failed one turns the saga to compensation, which undoes the completed
//     steps in reverse completion order (or by policy: grouped by DAG layer,
//     or all at once) and ends COMPENSATED, or FAILED when a compensation
//     exhausted its retries: an operator sees it and can Resume it;
//   - its own timers in the SAGA_TIMERS work queue (step timeouts, retry
//     backoffs), redelivered with a delay until due, so they survive restarts;
//   - saga commands (SAGA_START, SAGA_RESUME, SAGA_CANCEL) from SAGA_COMMANDS.
//
// Each instance lives in the SAGAS bucket under <saga>.<sagaId>, and every
// change is a compare-and-set. Side effects follow the stored state and are
// idempotent: each attempt of a step has a deterministic execution id
// (<sagaId>-<step>, <sagaId>-<step>-c for its compensation), which the
// engine's START honours, so a redelivered event, two coordinators or a
// restart between "state stored" and "command sent" never run a step twice
// nor skip a compensation. Saga events (SAGA_STARTED, SAGA_STEP_COMPLETED,
// SAGA_COMPLETED, SAGA_COMPENSATING, SAGA_COMPENSATED, SAGA_FAILED) go
// through an outbox in the instance, in order, on P.saga.<saga>.<TYPE>;
// the drive that holds the outbox's flush claim publishes it, so a core
// NATS subscriber sees each event once.
//
// Routes serves the REST endpoints, CLI the `engine saga` command, Client
// starts and watches sagas from any process, and Listen gives other services
// typed callbacks on job and saga events. docs/sagas.md has the wire
// contract.
package saga
