package httpadapter

import "context"

// Draining returns a channel closed when the Server serving the request of
// ctx stops, so that a long-lived answer of a mounted handler (the
// console's live view) ends then as the adapter's event streams do; nil
// (never closed) outside a Server.
func Draining(ctx context.Context) <-chan struct{} {
	drain, _ := ctx.Value(drainKey).(chan struct{})
	return drain
}
