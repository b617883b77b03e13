// Package jetjobs assembles the engine: an embedded or external NATS
// server, the JetStream streams and KV buckets, the runtime of package jobs
// and the command consumers of package bus. New builds an engine from a
// configuration and a registry of job types (see ExampleNew); Start runs
// it and Stop drains it.
//
// Job authors write only the stage methods (package jobs); other services
// talk to the engine with CloudEvents on NATS subjects (docs/wire.md)
// or through the REST adapter.
package jetjobs
