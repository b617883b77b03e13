package saga

import (
	"context"
	"fmt"
	"strconv"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/propagation"

	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/jobs"
)

// flush publishes the outbox in order, then removes what it published. Two
// coordinators flushing at once store each event once (same dedup id) and
// in order (each publishes in Seq order and waits for every ack).
func (c *Coordinator) flush(ctx context.Context, in *Instance) error {
	tctx := traceContext(ctx, in.Trace)
	for _, oe := range in.Outbox {
		if err := c.publishEvent(tctx, in.Trace, oe); err != nil {
			return err
		}
	}
	last := in.Outbox[len(in.Outbox)-1].Seq
	_, err := c.store.modify(ctx, in.Saga, in.SagaID, func(in *Instance) (bool, error) {
		n := 0
		for n < len(in.Outbox) && in.Outbox[n].Seq <= last {
			n++
		}
		in.Outbox = in.Outbox[n:]
		return n > 0, nil
	})
	return err
}

// EventID is the CloudEvents id (and JetStream dedup id) of a saga event:
// <saga>.<sagaId>.<seq>. Consumers may deduplicate on it.
func EventID(saga, sagaID string, seq uint64) string {
	return saga + "." + sagaID + "." + strconv.FormatUint(seq, 10)
}

// publishEvent stores one saga event on P.saga.<saga>.<TYPE> in JOBS_EVENTS
// as a binary-mode CloudEvent with the sagaid extension and the saga's
// trace context.
func (c *Coordinator) publishEvent(ctx context.Context, trace map[string]string, oe OutEvent) error {
	d := oe.Data
	ev := event.New()
	ev.SetID(EventID(d.Saga, d.SagaID, oe.Seq))
	ev.SetSource(c.cfg.Source + "/" + d.Saga)
	ev.SetType(d.EventType)
	ev.SetTime(d.Timestamp)
	ev.SetSubject(d.SagaID)
	ev.SetExtension("sagaid", d.SagaID)
	ev.SetExtension("saga", d.Saga)
	if d.ExecutionID != "" {
		ev.SetExtension("executionid", d.ExecutionID)
		ev.SetExtension("jobtype", d.JobType)
	}
	for k, v := range trace {
		ev.SetExtension(k, v)
	}
	if err := ev.SetData("application/json", d); err != nil {
		return fmt.Errorf("saga: encode event: %w", err)
	}
	h, body, err := bus.Encode(ev)
	if err != nil {
		return fmt.Errorf("saga: encode event: %w", err)
	}
	if _, err := c.js.PublishMsg(ctx, &nats.Msg{Subject: c.subj.Saga(d.Saga, d.EventType), Header: h, Data: body}); err != nil {
		return &jobs.Error{Code: jobs.CodeUnavailable, Msg: "publish " + d.EventType, Err: err}
	}
	return nil
}

// traceFormat is the W3C trace context carried by the CloudEvents
// distributed tracing extension (traceparent, tracestate).
var traceFormat = propagation.TraceContext{}

// captureTrace keeps the trace of ctx, to be continued by every command and
// event of the saga.
func captureTrace(ctx context.Context) map[string]string {
	m := propagation.MapCarrier{}
	traceFormat.Inject(ctx, m)
	if len(m) == 0 {
		return nil
	}
	return m
}

// traceContext continues a captured trace.
func traceContext(ctx context.Context, trace map[string]string) context.Context {
	if len(trace) == 0 {
		return ctx
	}
	return traceFormat.Extract(ctx, propagation.MapCarrier(trace))
}

// eventTrace reads the trace extensions of an incoming CloudEvent.
func eventTrace(ev *event.Event) map[string]string {
	m := map[string]string{}
	for _, k := range traceFormat.Fields() {
		if v, ok := ev.Extensions()[k].(string); ok && v != "" {
			m[k] = v
		}
	}
	if len(m) == 0 {
		return nil
	}
	return m
}

func extString(ev *event.Event, name string) string {
	if v, ok := ev.Extensions()[name]; ok {
		if s, ok := v.(string); ok {
			return s
		}
		return fmt.Sprint(v)
	}
	return ""
}
