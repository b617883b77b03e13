package jetjobs

import (
	"context"
	"net/http"

	"github.com/jetjobs/jetjobs/httpadapter"
)

// Component is a part that runs inside the engine, such as a saga
// coordinator: started after the engine's consumers and before its HTTP
// server, stopped before them. It reaches the engine through the Engine's
// accessors (JetStream, Client, Registry, Config, Logger).
type Component interface {
	Start(ctx context.Context, e *Engine) error
	Stop()
}

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
