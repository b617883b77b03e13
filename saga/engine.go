package saga

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/jetjobs/jetjobs"
	"github.com/jetjobs/jetjobs/httpadapter"
	"github.com/jetjobs/jetjobs/internal/config"
)

// InEngine runs a coordinator with these definitions inside a jetjobs
// engine, configured from the engine's settings, with its REST routes under
// {base-path}/sagas:
//
//	eng, err := jetjobs.New(cfg, reg, jetjobs.WithComponents(saga.InEngine(defs...)))
func InEngine(defs ...*Definition) *EngineComponent { return &EngineComponent{defs: defs} }

// EngineComponent is a coordinator as a jetjobs.RouteComponent.
type EngineComponent struct {
	defs  []*Definition
	coord *Coordinator
}

var _ jetjobs.DescribedRouteComponent = (*EngineComponent)(nil)

// Start creates and starts the coordinator on the engine's connection.
func (c *EngineComponent) Start(ctx context.Context, h jetjobs.Host) error {
	if len(c.defs) == 0 {
		return errors.New("saga: no saga definition to run")
	}
	cfg := h.Config()
	n := cfg.NATS
	coord, err := New(h.JetStream(), h.Client(), Config{
		Prefix: n.SubjectPrefix, Replicas: n.Replicas, DuplicateWindow: n.DuplicateWindow,
		AckWait: n.AckWait, CallTimeout: cfg.HTTP.RequestTimeout, Registry: h.Registry(), Logger: h.Logger(),
		Sanitizer: h.Sanitizer(),
		ReplyRule: h.ReplyRule(),
		Limits:    limitsOf(cfg),
	}, c.defs...)
	if err != nil {
		return err
	}
	if err := coord.Start(ctx); err != nil {
		return err
	}
	c.coord = coord
	return nil
}

// Stop stops the coordinator.
func (c *EngineComponent) Stop() {
	if c.coord != nil {
		c.coord.Stop()
	}
}

// Routes serves the saga endpoints under sagas/.
func (c *EngineComponent) Routes() (string, http.Handler) { return "sagas", Routes(c.coord) }

// Operations describes the saga routes for the engine's OpenAPI document.
func (c *EngineComponent) Operations() []httpadapter.Operation { return Operations() }

// Tag names the saga routes' group in the OpenAPI document.
func (c *EngineComponent) Tag() (name, description string) {
	return "sagas", "Saga definitions and instances (docs/sagas.md)"
}

// Coordinator is the running coordinator (after the engine started).
func (c *EngineComponent) Coordinator() *Coordinator { return c.coord }

// limitsOf reads the saga bounds of nats.limits and the saga retention.
func limitsOf(cfg config.Config) Limits {
	l := cfg.NATS.Limits
	return Limits{
		CommandsMaxAge: l.SagaCommands.MaxAge, CommandsMaxBytes: l.SagaCommands.MaxBytes,
		TimersMaxAge: l.SagaTimers.MaxAge, TimersMaxBytes: l.SagaTimers.MaxBytes, BucketMaxBytes: l.Sagas.MaxBytes,
		FinishedTTL: time.Duration(cfg.Orchestration.Persistence.SagaRetentionDays) * 24 * time.Hour,
	}
}
