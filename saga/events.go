package saga

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/propagation"

	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/jobs"
)

// errFlushBusy: another drive holds the outbox's flush claim and is
// publishing it.
var errFlushBusy = errors.New("saga: another coordinator is publishing this saga's events")

// flush publishes the outbox in order, then removes what it published. It
// first takes the outbox's flush claim by compare-and-set, so that of two
// drives of one instance only one publishes: a core NATS subscriber sees
// each event once. The claim expires (a coordinator that died holding it
// leaves the events to the next one, which publishes them again: the same
// dedup id keeps the stream right, a core subscriber may then see an event
// twice). errFlushBusy reports a claim held by someone else.
func (c *Coordinator) flush(ctx context.Context, in *Instance) error {
	token := jobs.NewExecutionID()
	busy := false
	in, err := c.store.modify(ctx, in.Saga, in.SagaID, func(in *Instance) (bool, error) {
		now := time.Now().UTC()
		busy = false
		if len(in.Outbox) == 0 {
			return false, nil
		}
		if in.FlushClaim != "" && in.FlushUntil != nil && now.Before(*in.FlushUntil) {
			busy = true
			return false, nil
		}
		until := now.Add(c.cfg.CallTimeout + c.cfg.AckWait)
		in.FlushClaim, in.FlushUntil = token, &until
		return true, nil
	})
	switch {
	case err != nil:
		return err
	case busy:
		return errFlushBusy
	case in.FlushClaim != token:
		return nil // the outbox was empty
	}
	tctx := traceContext(ctx, in.Trace)
	for _, oe := range in.Outbox {
		if err := c.publishEvent(tctx, in.Trace, oe); err != nil {
			c.releaseFlush(ctx, in, token)
			return err
		}
	}
	last := in.Outbox[len(in.Outbox)-1].Seq
	_, err = c.store.modify(ctx, in.Saga, in.SagaID, func(in *Instance) (bool, error) {
		n := 0
		for n < len(in.Outbox) && in.Outbox[n].Seq <= last {
			n++
		}
		in.Outbox = in.Outbox[n:]
		mine := in.FlushClaim == token
		if mine {
			in.FlushClaim, in.FlushUntil = "", nil
		}
		return n > 0 || mine, nil
	})
	return err
}

// releaseFlush gives the flush claim up after a failed publish (best
// effort: it expires anyway).
func (c *Coordinator) releaseFlush(ctx context.Context, in *Instance, token string) {
	_, _ = c.store.modify(ctx, in.Saga, in.SagaID, func(in *Instance) (bool, error) {
		if in.FlushClaim != token {
			return false, nil
		}
		in.FlushClaim, in.FlushUntil = "", nil
		return true, nil
	})
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
