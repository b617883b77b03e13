// Package bus is the NATS and CloudEvents adapter of jetjobs: embedded server,
// connection, streams, codec, command consumers and publishers.
//
// The codec (Decode, Encode) implements the CloudEvents 1.0 NATS protocol
// binding of docs/wire.md on top of the sdk-go event model: binary mode
// on the way out, binary or structured mode on the way in. Extension values
// always come out of Decode as strings, whatever the mode, because binary mode
// carries no type information and the engine's extensions are all strings.
// The engine's own events and replies are written directly
// (EventPublisher.encode, encodeResponse): byte for byte what Encode writes
// for the SDK event, which tests hold them to.
//
// The JetStream writes of one command are pipelined (Publish, PublishAcked,
// Pipelined): sent without waiting, their acknowledgements read by an acker
// of the connection's own (which sends again, same Nats-Msg-Id, a write left
// unanswered by a leader election), and awaited together before the command
// is acknowledged: the pipeline is the jobs.Writes of the command's
// jobs.Batch, which the runtime waits on.
package bus
