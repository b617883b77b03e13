// Package observe holds the observability middleware that wraps every stage:
// an OpenTelemetry span, zerolog lines at start and end, and OpenTelemetry
// metrics (calls by outcome, durations, error types, in-flight stages),
// plus a resilience.Listener that counts retries, rejections and breaker
// transitions. It depends on the OpenTelemetry API only; the SDK and the
// exporters are wired by the engine.
package observe
