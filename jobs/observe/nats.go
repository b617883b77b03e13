package observe

import (
	"context"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// natsMetrics are the NATS connection's instruments, created on first use
// (the observer knows nothing of NATS: the engine reports to it).
type natsMetrics struct {
	once       sync.Once
	reconnects metric.Int64Counter
	errors     metric.Int64Counter
	state      metric.Int64ObservableGauge
	mu         sync.Mutex
	connected  func() bool
}

func (ob *Observer) natsInstruments() *natsMetrics {
	nm := &ob.nats
	nm.once.Do(func() {
		m := ob.o.MeterProvider.Meter("github.com/jetjobs/jetjobs/jobs")
		p := ob.o.MetricPrefix + ".nats."
		var err error
		if nm.reconnects, err = m.Int64Counter(p+"reconnects",
			metric.WithDescription("NATS reconnections of the engine's connection")); err != nil {
			ob.log.Warn().Err(err).Msg("nats.reconnects counter not available")
		}
		if nm.errors, err = m.Int64Counter(p+"errors",
			metric.WithDescription("Asynchronous NATS errors by kind (slow_consumer, permissions, other)")); err != nil {
			ob.log.Warn().Err(err).Msg("nats.errors counter not available")
		}
		if nm.state, err = m.Int64ObservableGauge(p+"connection_state",
			metric.WithDescription("The engine's NATS connection: 1 connected, 0 not (reconnecting)"),
			metric.WithInt64Callback(func(_ context.Context, o metric.Int64Observer) error {
				nm.mu.Lock()
				f := nm.connected
				nm.mu.Unlock()
				if f == nil {
					return nil
				}
				v := int64(0)
				if f() {
					v = 1
				}
				o.Observe(v)
				return nil
			})); err != nil {
			ob.log.Warn().Err(err).Msg("nats.connection_state gauge not available")
		}
	})
	return nm
}

// WatchNATS makes <metric-prefix>.nats.connection_state report connected()
// at each collection.
func (ob *Observer) WatchNATS(connected func() bool) {
	nm := ob.natsInstruments()
	nm.mu.Lock()
	nm.connected = connected
	nm.mu.Unlock()
	if nm.reconnects != nil {
		nm.reconnects.Add(context.Background(), 0) // the series exists from start-up, for rate() alerts
	}
}

// NATSReconnected counts a reconnection: <metric-prefix>.nats.reconnects.
func (ob *Observer) NATSReconnected() {
	if c := ob.natsInstruments().reconnects; c != nil {
		c.Add(context.Background(), 1)
	}
}

// NATSError counts an asynchronous NATS error: <metric-prefix>.nats.errors
// by kind.
func (ob *Observer) NATSError(kind string) {
	if c := ob.natsInstruments().errors; c != nil {
		c.Add(context.Background(), 1, metric.WithAttributes(attribute.String("kind", kind)))
	}
}
