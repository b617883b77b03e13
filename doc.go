// Package jetjobs assembles the engine: an embedded or external NATS
// server, the JetStream streams and KV buckets, the runtime of package jobs
// and the command consumers of package bus.
//
//	reg := jobs.NewRegistry()
//	reg.MustRegister("customer-import", &CustomerImport{})
//	eng, err := jetjobs.New(jetjobs.DefaultConfig(), reg)
//	if err != nil { ... }
//	if err := eng.Start(ctx); err != nil { ... }
//	defer eng.Stop()
//
// Job authors write only the stage methods (package jobs); other services
// talk to the engine with CloudEvents on NATS subjects (docs/wire.md)
// or through the REST adapter.
package jetjobs
