// Package telemetry wires the OpenTelemetry SDK for the engine: a tracer
// provider with the configured exporter (none, stdout, OTLP/HTTP) and a
// meter provider read by a Prometheus exporter on its own registry, served
// as /metrics.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// Config selects what is produced and where it goes.
type Config struct {
	ServiceName    string    // jetjobs
	TracingEnabled bool      // spans are created (and propagated) at all
	Exporter       string    // none | stdout | otlp
	OTLPEndpoint   string    // e.g. http://localhost:4318; "" = OTEL_EXPORTER_OTLP_* env or the exporter default
	Stdout         io.Writer // where the stdout exporter writes
	MetricsEnabled bool
}

// Telemetry holds the providers and the /metrics handler.
type Telemetry struct {
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
	Metrics        http.Handler
	shutdown       []func(context.Context) error
}

// New builds the providers. With tracing on and exporter none, no span is
// recorded, but the caller's trace context is still propagated.
func New(cfg Config) (*Telemetry, error) {
	if cfg.ServiceName == "" {
		cfg.ServiceName = "jetjobs"
	}
	res := resource.NewSchemaless(semconv.ServiceName(cfg.ServiceName))
	t := &Telemetry{TracerProvider: tracenoop.NewTracerProvider(), MeterProvider: metricnoop.NewMeterProvider(),
		Metrics: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4")
			_, _ = io.WriteString(w, "# metrics are disabled (orchestration.observability.metrics-enabled: false)\n")
		})}
	// With no exporter, spans would be recorded only to be dropped: the no-op
	// provider still carries the caller's trace context through the engine
	// (commands, events, logs' traceId) at no cost.
	if exp := strings.ToLower(cfg.Exporter); cfg.TracingEnabled && exp != "" && exp != "none" {
		opts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
		switch exp {
		case "stdout":
			w := cfg.Stdout
			if w == nil {
				w = io.Discard
			}
			exp, err := stdouttrace.New(stdouttrace.WithWriter(w))
			if err != nil {
				return nil, fmt.Errorf("telemetry: stdout exporter: %w", err)
			}
			opts = append(opts, sdktrace.WithBatcher(exp))
		case "otlp":
			var eopts []otlptracehttp.Option
			if cfg.OTLPEndpoint != "" {
				eopts = append(eopts, otlptracehttp.WithEndpointURL(cfg.OTLPEndpoint))
			}
			exp, err := otlptracehttp.New(context.Background(), eopts...)
			if err != nil {
				return nil, fmt.Errorf("telemetry: orchestration.observability.otlp-endpoint: %w", err)
			}
			opts = append(opts, sdktrace.WithBatcher(exp))
		default:
			return nil, fmt.Errorf("telemetry: orchestration.observability.tracing-exporter: unknown exporter %q", cfg.Exporter)
		}
		tp := sdktrace.NewTracerProvider(opts...)
		t.TracerProvider = tp
		t.shutdown = append(t.shutdown, tp.Shutdown)
	}
	if cfg.MetricsEnabled {
		reg := prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		exp, err := otelprom.New(otelprom.WithRegisterer(reg), otelprom.WithoutScopeInfo())
		if err != nil {
			return nil, fmt.Errorf("telemetry: prometheus exporter: %w", err)
		}
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp), sdkmetric.WithResource(res))
		t.MeterProvider = mp
		t.shutdown = append(t.shutdown, mp.Shutdown)
		t.Metrics = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	}
	return t, nil
}

// Shutdown flushes and stops the providers.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	var errs []error
	for _, f := range t.shutdown {
		errs = append(errs, f(ctx))
	}
	return errors.Join(errs...)
}
