package jetjobs

import (
	"context"
	"net/http"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/httpadapter"
	"github.com/jetjobs/jetjobs/jobs"
)

// Component is a part that runs inside the engine, such as a saga
// coordinator: started after the engine's consumers and before its HTTP
// server, stopped before them. It reaches the engine only through the Host
// it is started with (docs/architecture.md, "Components").
type Component interface {
	Start(ctx context.Context, h Host) error
	Stop()
}

// Host is what a Component sees of the engine that runs it: the engine's
// JetStream context and command client, its job types, configuration and
// logger, and the two rules a part that handles commands or job data must
// apply as the engine does. Everything is ready when Start is called.
type Host interface {
	// JetStream is the engine's JetStream context; JetStream().Conn() is
	// its NATS connection.
	JetStream() jetstream.JetStream
	// Client sends commands and waits for their answers.
	Client() *bus.Client
	// Registry is the engine's job types.
	Registry() *jobs.Registry
	// Config is the engine's effective configuration.
	Config() Config
	// Logger is the engine's logger.
	Logger() zerolog.Logger
	// Sanitizer masks secret parameters in what is stored or logged; nil
	// when orchestration.persistence.sanitize-sensitive-data is off.
	Sanitizer() *jobs.Sanitizer
	// ReplyRule says which replyto subjects commands may name.
	ReplyRule() *bus.ReplyRule
}

var _ Host = (*Engine)(nil)

// RouteComponent is a Component that serves REST routes, mounted at
// {http.base-path}/{Path} on the engine's router.
type RouteComponent interface {
	Component
	Routes() (path string, h http.Handler)
}

// DescribedRouteComponent is a RouteComponent that also describes its
// routes, built from the same route table as its handler, so that the
// engine's /openapi.json lists them (docs/rest.md).
type DescribedRouteComponent interface {
	RouteComponent
	Operations() []httpadapter.Operation
	// Tag is the OpenAPI tag of the operations and its description.
	Tag() (name, description string)
}

// WithComponents runs these components in the engine, in order.
func WithComponents(cs ...Component) Option {
	return func(e *Engine) { e.components = append(e.components, cs...) }
}

func (e *Engine) startComponents(ctx context.Context) error {
	for _, c := range e.components {
		if err := c.Start(ctx, e); err != nil {
			return err
		}
		e.started = append(e.started, c)
	}
	return nil
}

// stopComponents stops the started components, last started first.
func (e *Engine) stopComponents() {
	for i := len(e.started) - 1; i >= 0; i-- {
		e.started[i].Stop()
	}
	e.started = nil
}
