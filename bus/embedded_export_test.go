package bus

// StartEmbeddedWith exposes the options hook to tests (auth, TLS, no JetStream).
var StartEmbeddedWith = startEmbedded
