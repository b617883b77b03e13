package jetjobs

import (
	"context"

	"github.com/jetjobs/jetjobs/saga"
)

// WithSagas runs a saga coordinator with these definitions in the engine:
// started after the engine's consumers, served under {http.base-path}/sagas,
// stopped before them.
func WithSagas(defs ...*saga.Definition) Option {
	return func(e *Engine) { e.sagaDefs = append(e.sagaDefs, defs...) }
}

// startSagas creates and starts the coordinator when there are definitions.
func (e *Engine) startSagas(ctx context.Context) error {
	if len(e.sagaDefs) == 0 {
		return nil
	}
	n := e.cfg.NATS
	coord, err := saga.New(e.js, e.client, saga.Config{
		Prefix: n.SubjectPrefix, Replicas: n.Replicas, DuplicateWindow: n.DuplicateWindow,
		AckWait: n.AckWait, CallTimeout: e.cfg.HTTP.RequestTimeout, Registry: e.reg, Logger: e.log,
	}, e.sagaDefs...)
	if err != nil {
		return err
	}
	if err := coord.Start(ctx); err != nil {
		return err
	}
	e.sagas = coord
	return nil
}

// Sagas is the engine's saga coordinator, nil without WithSagas.
func (e *Engine) Sagas() *saga.Coordinator { return e.sagas }
