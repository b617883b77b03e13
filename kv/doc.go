// Package kv keeps jetjobs state in JetStream key-value buckets: execution
// records in JOBS_STATE (one key per <job>.<executionId>, every write a
// compare-and-set on the revision). NATS errors are translated here into the
// errors of package jobs, so the core never sees a NATS type.
package kv
