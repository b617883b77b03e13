// Package natscluster starts an N-node NATS JetStream cluster inside this
// process: embedded servers (bus.StartEmbedded) joined by routes on
// loopback ports, each with file storage in a directory of its own, for
// the fault tests, `engine chaos` and `engine bench --cluster`
// (docs/operations.md, "Running N engines on a cluster").
//
// A node can be killed (shut down at once, no lame duck mode: as far as
// the other nodes and the clients can tell, as kill -9 would) and started
// again on the same ports and store; a stream's leader can be asked to
// step down; the leader of a stream and the meta leader can be found; and
// WaitHealthy waits until every node is up and every stream and consumer
// is current on all of them.
//
// Ports are chosen free when the cluster starts and kept for its life, so
// that a restarted node is where the clients and the other nodes expect
// it.
package natscluster
