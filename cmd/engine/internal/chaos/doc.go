// Package chaos is `engine chaos` (make chaos): engine instances in this
// process on a 3-node JetStream cluster with replicated streams, a
// continuous load of async jobs (with CHECKs), sync jobs and three-step
// sagas with a compensation, and random faults for a while: a node killed
// and restarted, a stream's leader stepped down, an engine instance killed
// (no drain) and started again. One line per fault; at the end the counts
// of accepted, completed once, lost, doubled and dead-lettered executions
// (docs/operations.md, "Chaos run").
//
// With an existing NATS (Config.NATSURL) the cluster is not this process's
// to kill: only step-downs (through the JetStream API) and instance faults
// are made.
package chaos
