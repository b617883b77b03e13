package bus

import (
	"context"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/propagation"
)

// traceContext is the W3C propagator that fills the CloudEvents distributed
// tracing extension (traceparent, tracestate).
var traceContext = propagation.TraceContext{}

// extCarrier adapts an event's extensions to the propagator.
type extCarrier struct{ ev *event.Event }

func (c extCarrier) Get(key string) string { return extString(c.ev, key) }

func (c extCarrier) Set(key, value string) {
	if value != "" {
		c.ev.SetExtension(key, value)
	}
}

func (c extCarrier) Keys() []string { return []string{"traceparent", "tracestate"} }

// headerCarrier adapts NATS headers (timer messages) to the propagator.
type headerCarrier nats.Header

func (c headerCarrier) Get(key string) string { return nats.Header(c).Get(key) }
func (c headerCarrier) Set(key, value string) { nats.Header(c).Set(key, value) }
func (c headerCarrier) Keys() []string        { return []string{"traceparent", "tracestate"} }

// commandCarrier reads a command's trace extensions for the propagator.
type commandCarrier struct{ ev *inEvent }

func (c commandCarrier) Get(key string) string { return c.ev.extString(key) }
func (c commandCarrier) Set(string, string)    {}
func (c commandCarrier) Keys() []string        { return []string{"traceparent", "tracestate"} }

// contextFromCommand continues the trace a command carries.
func contextFromCommand(ctx context.Context, ev *inEvent) context.Context {
	return traceContext.Extract(ctx, commandCarrier{ev})
}

// injectTrace writes the trace of ctx into the event's extensions.
func injectTrace(ctx context.Context, ev *event.Event) {
	traceContext.Inject(ctx, extCarrier{ev})
}
