package jetjobs

import (
	"net/http"
	"os"

	"go.opentelemetry.io/otel/trace"

	"github.com/jetjobs/jetjobs/internal/telemetry"
	"github.com/jetjobs/jetjobs/jobs"
	"github.com/jetjobs/jetjobs/jobs/observe"
	"github.com/jetjobs/jetjobs/jobs/resilience"
)

// buildStageChain creates the telemetry providers, the observer and the
// resilience policies from orchestration.observability and
// orchestration.resiliency.
func (e *Engine) buildStageChain() error {
	ob, r := e.cfg.Orchestration.Observability, e.cfg.Orchestration.Resiliency
	tel, err := telemetry.New(telemetry.Config{
		TracingEnabled: ob.TracingEnabled && e.tp == nil, Exporter: ob.TracingExporter, OTLPEndpoint: ob.OTLPEndpoint,
		Stdout: os.Stdout, MetricsEnabled: ob.MetricsEnabled && e.mp == nil,
	})
	if err != nil {
		return err
	}
	e.tel = tel
	san := e.Sanitizer()
	mp := e.mp
	if mp == nil {
		mp = tel.MeterProvider
	}
	if err := e.registerDLQGauge(mp, ob.MetricPrefix); err != nil {
		return err
	}
	e.obs, err = observe.New(observe.Options{
		TracerProvider: e.tracerProvider(), MeterProvider: mp, Logger: e.log, Sanitizer: san,
		UntracedStages: map[jobs.Stage]bool{
			jobs.StageStart: !ob.TraceJobStart, jobs.StageCheck: !ob.TraceJobCheck,
			jobs.StageCollect: !ob.TraceJobCollect, jobs.StageResult: !ob.TraceJobResult,
		},
		IncludeParams: ob.IncludeJobParametersInTraces, IncludeResults: ob.IncludeJobResultsInTraces,
		MetricPrefix: ob.MetricPrefix,
	})
	if err != nil {
		return err
	}
	// The tree holds resilience.Config itself; a Config built in code
	// (not through Load) is checked here with its zero fields defaulted.
	if err := r.WithDefaults().Validate(); err != nil {
		return err
	}
	e.pol = resilience.New(r, e.obs)
	return nil
}

// stageChain is the chain around every stage, outermost first: span, stage
// log, metrics, then retry → circuit breaker → rate limiter → timeout →
// bulkhead, then the middleware given with WithMiddleware, then the stage.
// Events, audit and results are the runtime's, around the whole chain.
func (e *Engine) stageChain() []jobs.Middleware {
	ob := e.cfg.Orchestration.Observability
	var mws []jobs.Middleware
	if ob.TracingEnabled {
		mws = append(mws, e.obs.Tracing)
	}
	mws = append(mws, e.obs.Logging)
	if ob.MetricsEnabled {
		mws = append(mws, e.obs.Metrics)
	}
	mws = append(mws, e.pol.Middleware()...)
	return append(mws, e.mws...)
}

func (e *Engine) tracerProvider() trace.TracerProvider {
	if e.tp != nil {
		return e.tp
	}
	return e.tel.TracerProvider
}

// Metrics serves the engine's metrics in the Prometheus text format.
func (e *Engine) Metrics() http.Handler { return e.tel.Metrics }

// BreakerState is the state of a job type's circuit breaker: "closed",
// "half-open" or "open".
func (e *Engine) BreakerState(job string) string { return e.pol.BreakerState(job) }

var _ resilience.BreakerWatcher = (*observe.Observer)(nil)

// declareBreakers creates the circuit breaker of every registered job type
// at start-up, so that each one's state gauge (closed = 0) and its entry in
// GET /health/circuitBreakers exist before its first call.
func (e *Engine) declareBreakers() {
	var names []string
	for _, def := range e.reg.Definitions() {
		names = append(names, def.Name)
	}
	e.pol.Declare(names...)
}

// Breakers lists every job type's circuit breaker with its state and
// counters (none when orchestration.resiliency.circuit-breaker-enabled is
// false).
func (e *Engine) Breakers() []resilience.BreakerStatus { return e.pol.Breakers() }
