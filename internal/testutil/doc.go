// Package testutil holds the small helpers that several packages' tests
// share: a log sink safe for concurrent writers (SyncBuffer), a free TCP
// port (FreePort), a poll with a deadline (Eventually) and the process's CPU
// time for benchmarks' cpu-ns/op (ProcessCPU). Only _test.go
// files import it; the test harness for users of jetjobs is jetjobstest
// (docs/jobs.md).
package testutil
