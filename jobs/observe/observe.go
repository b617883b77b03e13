package observe

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/jetjobs/jetjobs/jobs"
)

// Options configure an Observer; nil providers mean no spans or metrics.
type Options struct {
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
	Logger         zerolog.Logger
	Sanitizer      *jobs.Sanitizer     // masks parameters and results in spans and logs
	UntracedStages map[jobs.Stage]bool // trace-job-<stage>: false puts the stage here
	IncludeParams  bool                // include-job-parameters-in-traces
	IncludeResults bool                // include-job-results-in-traces
	MetricPrefix   string              // metric-prefix, default firefly.data.job
}

// Observer makes the observability middleware.
type Observer struct {
	o      Options
	tracer trace.Tracer
	// noopTracer: the tracer is OpenTelemetry's no-op one (tracing on, no
	// exporter), so a span would never record.
	noopTracer bool
	spanNames  sync.Map // stageKey -> span name
	log        zerolog.Logger

	calls, errs, retries, rejections, transitions metric.Int64Counter
	duration                                      metric.Float64Histogram
	inflight                                      metric.Int64ObservableUpDownCounter
	breaker                                       metric.Int64Gauge

	stages sync.Map // stageKey -> *stageMetrics (stagemetrics.go): built once, not per call

	// transient counts CHECKs that failed transiently (checks.go).
	transient transientChecks
	// schedTicks counts schedule ticks (schedules.go).
	schedTicks scheduleTicks
	// nats are the connection's metrics (nats.go).
	nats natsMetrics
}

// New creates the instruments.
func New(o Options) (*Observer, error) {
	if o.TracerProvider == nil {
		o.TracerProvider = tracenoop.NewTracerProvider()
	}
	if o.MeterProvider == nil {
		o.MeterProvider = metricnoop.NewMeterProvider()
	}
	if o.MetricPrefix == "" {
		o.MetricPrefix = "firefly.data.job"
	}
	ob := &Observer{o: o, tracer: o.TracerProvider.Tracer("github.com/jetjobs/jetjobs/jobs"), log: o.Logger}
	_, ob.noopTracer = ob.tracer.(tracenoop.Tracer)
	m := o.MeterProvider.Meter("github.com/jetjobs/jetjobs/jobs")
	p := o.MetricPrefix + "."
	var err error
	for _, c := range []struct {
		dst        *metric.Int64Counter
		name, desc string
	}{
		{&ob.calls, "stage.calls", "Stage calls by job type, stage and outcome"},
		{&ob.errs, "stage.errors", "Failed stage calls by error type"},
		{&ob.retries, "retry.attempts", "Retry attempts (the first call not counted)"},
		{&ob.rejections, "rejections", "Calls refused by the circuit breaker, rate limiter or bulkhead"},
		{&ob.transitions, "circuit_breaker.transitions", "Circuit breaker state changes"},
	} {
		if *c.dst, err = m.Int64Counter(p+c.name, metric.WithDescription(c.desc)); err != nil {
			return nil, err
		}
	}
	if ob.duration, err = m.Float64Histogram(p+"stage.duration", metric.WithUnit("s"),
		metric.WithDescription("Stage duration"),
		metric.WithExplicitBucketBoundaries(0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300)); err != nil {
		return nil, err
	}
	// Observed at collection time from counters of our own: two updates per
	// stage through the SDK cost more than the rest of the stage's metrics.
	if ob.inflight, err = m.Int64ObservableUpDownCounter(p+"stage.inflight", metric.WithDescription("Stages running now"),
		metric.WithInt64Callback(func(_ context.Context, o metric.Int64Observer) error {
			ob.stages.Range(func(_, v any) bool {
				m := v.(*stageMetrics)
				o.Observe(m.running.Load(), m.base.obs...)
				return true
			})
			return nil
		})); err != nil {
		return nil, err
	}
	if ob.breaker, err = m.Int64Gauge(p+"circuit_breaker.state",
		metric.WithDescription("Circuit breaker state: 0 closed, 1 half-open, 2 open")); err != nil {
		return nil, err
	}
	return ob, nil
}

// Tracing opens a span per stage, a child of the trace the command carried.
func (ob *Observer) Tracing(next jobs.Handler) jobs.Handler {
	return func(ctx context.Context, inv *jobs.Invocation) (*jobs.Response, error) {
		if ob.o.UntracedStages[inv.Stage] {
			return next(ctx, inv)
		}
		if ob.noopTracer && !trace.SpanFromContext(ctx).IsRecording() {
			// What the no-op tracer would do, without the context it
			// allocates: the trace the command carried (if any) flows on
			// as it is, and no span is recorded.
			return next(ctx, inv)
		}
		ctx, span := ob.tracer.Start(ctx, ob.spanName(inv))
		defer span.End()
		if !span.IsRecording() {
			// No exporter (or not sampled): the context still carries the
			// trace onwards; attributes would be built for nobody.
			return next(ctx, inv)
		}
		span.SetAttributes(
			attribute.String("jetjobs.job_type", inv.Job.Name),
			attribute.String("jetjobs.stage", string(inv.Stage)),
			attribute.String("jetjobs.execution_id", inv.Request.ExecutionID),
		)
		if inv.Request.SagaID != "" {
			span.SetAttributes(attribute.String("jetjobs.saga_id", inv.Request.SagaID))
		}
		sc := ob.scrubber(ctx, inv)
		if ob.o.IncludeParams {
			span.SetAttributes(attribute.String("jetjobs.parameters", ob.json(sc, inv.Request.Parameters)))
		}
		resp, err := next(ctx, inv)
		span.SetAttributes(attribute.String("jetjobs.outcome", jobs.Outcome(resp, err)),
			attribute.Int("jetjobs.attempt", inv.Request.Attempt))
		if resp != nil && resp.Status != "" {
			span.SetAttributes(attribute.String("jetjobs.status", string(resp.Status)))
		}
		if ob.o.IncludeResults && resp != nil && resp.Data != nil {
			span.SetAttributes(attribute.String("jetjobs.result", ob.json(sc, resp.Data)))
		}
		if err != nil {
			span.SetStatus(codes.Error, sc.Text(err.Error()))
			span.SetAttributes(attribute.String("jetjobs.error_type", string(jobs.CodeOf(err))))
		}
		return resp, err
	}
}

// spanName is "<stage> <job>", made once per pair.
func (ob *Observer) spanName(inv *jobs.Invocation) string {
	k := stageKey{job: inv.Job.Name, stage: string(inv.Stage)}
	if v, ok := ob.spanNames.Load(k); ok {
		return v.(string)
	}
	name := k.stage + " " + k.job
	ob.spanNames.Store(k, name)
	return name
}

// scrubber is the one of the command being handled (jobs.WithScrubber),
// else one built from the invocation's request; nil when sanitizing is off.
func (ob *Observer) scrubber(ctx context.Context, inv *jobs.Invocation) *jobs.Scrubber {
	if sc := jobs.ScrubberFrom(ctx); sc != nil {
		return sc
	}
	return ob.o.Sanitizer.Scrubber(inv.Request.Parameters, inv.Request.Metadata)
}

func (ob *Observer) json(sc *jobs.Scrubber, m map[string]any) string {
	b, err := json.Marshal(sc.Map(m))
	if err != nil {
		return "unencodable"
	}
	return string(b)
}

// Logging writes a debug line when a stage starts and one when it ends
// (info, warn on failure), each with executionId, jobType and stage.
// Parameters appear only at debug level, sanitized.
func (ob *Observer) Logging(next jobs.Handler) jobs.Handler {
	return func(ctx context.Context, inv *jobs.Invocation) (*jobs.Response, error) {
		if ob.log.GetLevel() > zerolog.WarnLevel {
			return next(ctx, inv) // nothing would be written: build nothing
		}
		sc := ob.scrubber(ctx, inv)
		if ev := ob.log.Debug(); ev.Enabled() {
			ob.stageFields(ctx, ev, inv).Str("parameters", ob.json(sc, inv.Request.Parameters)).Msg("stage started")
		}
		start := time.Now()
		resp, err := next(ctx, inv)
		ev := ob.log.Info()
		if err != nil {
			ev = ob.log.Warn().Str("error", sc.Text(err.Error())).Str("errorType", string(jobs.CodeOf(err)))
		}
		if !ev.Enabled() {
			return resp, err
		}
		if resp != nil && resp.Status != "" {
			ev = ev.Str("status", string(resp.Status))
		}
		ob.stageFields(ctx, ev, inv).Dur("duration", time.Since(start)).Str("outcome", jobs.Outcome(resp, err)).
			Int("attempt", inv.Request.Attempt).Msg("stage finished")
		return resp, err
	}
}

// stageFields adds the fields every stage line has.
func (ob *Observer) stageFields(ctx context.Context, ev *zerolog.Event, inv *jobs.Invocation) *zerolog.Event {
	ev = ev.Str("executionId", inv.Request.ExecutionID).Str("jobType", inv.Job.Name).Str("stage", string(inv.Stage))
	if span := trace.SpanContextFromContext(ctx); span.HasTraceID() {
		ev = ev.Str("traceId", span.TraceID().String())
	}
	return ev
}

// Metrics counts calls by outcome, times them, counts error types and keeps
// the in-flight gauge.
func (ob *Observer) Metrics(next jobs.Handler) jobs.Handler {
	return func(ctx context.Context, inv *jobs.Invocation) (*jobs.Response, error) {
		m := ob.stageMetrics(inv)
		m.running.Add(1)
		start := time.Now()
		resp, err := next(ctx, inv)
		m.running.Add(-1)
		withOutcome := m.opts(&m.outcomes, "outcome", jobs.Outcome(resp, err))
		ob.calls.Add(ctx, 1, withOutcome.add...)
		ob.duration.Record(ctx, time.Since(start).Seconds(), withOutcome.rec...)
		if err != nil {
			ob.errs.Add(ctx, 1, m.opts(&m.errTypes, "error_type", string(jobs.CodeOf(err))).add...)
		}
		return resp, err
	}
}

// Retried counts a retry attempt (resilience.Listener). err comes masked
// by the command's scrubber (resilience's retry does it).
func (ob *Observer) Retried(job string, stage jobs.Stage, attempt int, err error) {
	ob.retries.Add(context.Background(), 1, metric.WithAttributes(attribute.String("job_type", job),
		attribute.String("stage", string(stage))))
	ob.log.Info().Str("jobType", job).Str("stage", string(stage)).Int("attempt", attempt).Str("error", err.Error()).
		Msg("retrying stage")
}

// Rejected counts a refused call (resilience.Listener).
func (ob *Observer) Rejected(job string, stage jobs.Stage, reason string) {
	ob.rejections.Add(context.Background(), 1, metric.WithAttributes(attribute.String("job_type", job),
		attribute.String("stage", string(stage)), attribute.String("reason", reason)))
}

// BreakerCreated records a new breaker's state, so the gauge exists before
// the breaker's first call (resilience.BreakerWatcher).
func (ob *Observer) BreakerCreated(job, state string) {
	ob.breaker.Record(context.Background(), breakerStates[state], metric.WithAttributes(attribute.String("job_type", job)))
}

// breakerStates are the values of the circuit_breaker.state gauge.
var breakerStates = map[string]int64{"closed": 0, "half-open": 1, "open": 2}

// BreakerChanged records a breaker transition (resilience.Listener).
func (ob *Observer) BreakerChanged(job, from, to string) {
	state := breakerStates[to]
	ctx := context.Background()
	ob.breaker.Record(ctx, state, metric.WithAttributes(attribute.String("job_type", job)))
	ob.transitions.Add(ctx, 1, metric.WithAttributes(attribute.String("job_type", job),
		attribute.String("from", from), attribute.String("to", to)))
	ob.log.Warn().Str("jobType", job).Str("from", from).Str("to", to).Msg("circuit breaker changed state")
}
