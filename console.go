package jetjobs

import (
	"context"

	"github.com/jetjobs/jetjobs/console"
	"github.com/jetjobs/jetjobs/httpadapter/auth"
	"github.com/jetjobs/jetjobs/jobs"
	"github.com/jetjobs/jetjobs/kv"
)

// startIndex starts the execution index (kv.ExecutionIndex) when the
// console is on (console.enabled): its pages and the REST listing routes
// ({http.base-path}/jobs counts, …/executions) read it. It watches
// JOBS_STATE, so it starts once the bucket exists; Start does not wait for
// its first load (the listing answers 503 until then). docs/console.md.
func (e *Engine) startIndex(ctx context.Context) error {
	if !e.cfg.Console.Enabled {
		return nil
	}
	x := kv.NewExecutionIndex(e.store.Bucket(), kv.IndexConfig{Logger: e.log})
	if err := x.Start(ctx); err != nil {
		return err
	}
	e.index = x
	return nil
}

// stopIndex stops the console's sampling and the index.
func (e *Engine) stopIndex() {
	if e.console != nil {
		e.console.Stop()
	}
	if e.index != nil {
		e.index.Stop()
	}
}

// ExecutionIndex is the engine's execution index (after Start); nil when
// console.enabled is false.
func (e *Engine) ExecutionIndex() *kv.ExecutionIndex { return e.index }

// newConsole builds the web console served at /ui, behind the REST
// adapter's authenticator authn (nil: open); nil when console.enabled is
// false.
func (e *Engine) newConsole(authn auth.Authenticator) *console.Console {
	if !e.cfg.Console.Enabled {
		return nil
	}
	san := e.Sanitizer()
	if san == nil {
		san = jobs.NewSanitizer()
	}
	o := console.Options{BasePath: e.cfg.HTTP.BasePath, Auth: authn, Registry: e.reg, Records: e.store,
		Sanitizer: san, Streams: e.streamSizes, Logger: e.log}
	if e.index != nil {
		o.Index = e.index
	}
	e.console = console.New(o)
	e.console.Start()
	return e.console
}

// streamSizes reads the size of the engine's streams for the overview.
func (e *Engine) streamSizes(ctx context.Context) []console.StreamSize {
	var out []console.StreamSize
	for _, name := range EngineStreams() {
		s, err := e.js.Stream(ctx, name)
		if err != nil {
			continue // not created in this deployment (sagas off, results off)
		}
		info := s.CachedInfo()
		out = append(out, console.StreamSize{Name: name, Bytes: info.State.Bytes, Messages: info.State.Msgs,
			MaxBytes: info.Config.MaxBytes})
	}
	return out
}
