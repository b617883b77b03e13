// Package jobs is the core of jetjobs: the domain of data jobs and the runtime
// that drives them, with no NATS and no HTTP in it.
//
// A job author writes a type with the stage methods of AsyncJob (START, CHECK,
// COLLECT, RESULT, STOP) or SyncJob (EXECUTE) and registers it in a Registry.
// The Runtime applies the lifecycle rules to every command: the state machine
// (see CanTransition), compare-and-set persistence through the StateStore
// port, exactly-once terminal events through the EventPublisher port and
// engine-driven CHECKs through the Timers port. Adapters in bus/ and kv/
// implement those ports on JetStream; this package never imports them. The
// writes of one command form a Batch, which an adapter hands to
// HandleBatch/TickBatch and the runtime waits on; the Reconciler gives live
// executions whose CHECK timer was lost their clock back.
//
// Errors steer the engine: a plain error returned by a stage is retried by the
// retry policy, Permanent(err) is not, and both end the execution FAILED. A
// *ParamError (from Request.RequireParam and the typed getters) names the
// parameter and becomes REST 422.
package jobs
