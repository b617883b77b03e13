package bus

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetjobs/jetjobs/jobs"
)

// EventPublisher publishes job events on P.evt.<job>.<TYPE> in JOBS_EVENTS,
// as binary-mode CloudEvents. It implements jobs.EventPublisher.
type EventPublisher struct {
	js       jetstream.JetStream
	subjects Subjects
	topic    string // job-events-topic: events' source is /<topic>/<job>
	names    jobNames
}

var _ jobs.EventPublisher = (*EventPublisher)(nil)

// NewEventPublisher publishes under prefix with source /<topic>/<job>.
func NewEventPublisher(js jetstream.JetStream, prefix, topic string) *EventPublisher {
	if topic == "" {
		topic = "data-job-events"
	}
	return &EventPublisher{js: js, subjects: Subjects{Prefix: prefix}, topic: topic}
}

// Publish stores the event; its ID doubles as the JetStream dedup id.
func (p *EventPublisher) Publish(ctx context.Context, je *jobs.Event) error {
	m, err := p.encode(ctx, je)
	if err != nil {
		return fmt.Errorf("bus: encode event: %w", err)
	}
	if err := PublishOut(ctx, p.js, m); err != nil {
		return PortError("publish "+je.Data.EventType, err)
	}
	return nil
}

// encode writes a job event in binary mode directly, headers and JSON: the
// same bytes as building an SDK event and Encode (a test holds them equal),
// without the SDK event's allocations, since it runs for every event. The
// message is the caller's, to publish or release.
func (p *EventPublisher) encode(ctx context.Context, je *jobs.Event) (*OutMsg, error) {
	d := &je.Data
	names := p.names.of(d.JobType, d.EventType, p)
	m := newOutMsg(eventOutMsgs, names.subject)
	if b, ok := appendEventData(m.data.B[:0], d); ok {
		m.data.B, m.msg.Data = b, b
	} else if err := m.EncodeJSON(d, d.Data); err != nil { // a pointer: boxing the struct would copy it
		m.Release()
		return nil, err
	}
	if err := eventHeaders(ctx, m, je.ID, names.source, d); err != nil {
		m.Release()
		return nil, err
	}
	return m, nil
}

// eventHeaders writes the event's headers into m. Not inlined into encode:
// its locals would deepen the stack under the JSON encoder, the deepest
// point of a command's goroutine, and cost it one more stack growth.
//
//go:noinline
func eventHeaders(ctx context.Context, m *OutMsg, id, source string, d *jobs.EventData) error {
	b := binaryHeadersOf(m, id, source, d.EventType, d.Timestamp)
	b.set("subject", d.ExecutionID)
	b.set("jobtype", d.JobType)
	b.set("executionid", d.ExecutionID)
	if d.SagaID != "" {
		b.set("sagaid", d.SagaID)
	}
	_, err := b.done(ctx)
	return err
}

// ceHeaderCarrier writes the tracing extension as ce-* headers.
type ceHeaderCarrier nats.Header

func (c ceHeaderCarrier) Get(key string) string { return nats.Header(c).Get(ceHeaderPrefix + key) }
func (c ceHeaderCarrier) Set(key, value string) {
	if value != "" {
		c[ceHeaderPrefix+key] = []string{pctEncode(value)}
	}
}
func (c ceHeaderCarrier) Keys() []string { return []string{"traceparent", "tracestate"} }

// Headers of a timer message: when its first CHECK is due (Unix
// nanoseconds) and the execution it checks.
const (
	headerNotBefore   = "Jobs-Not-Before"
	headerExecutionID = "Jobs-Execution-Id"
)

// Timers implements jobs.Timers with one message per live execution on
// P.timer.<job> in the work-queue stream JOBS_TIMERS. The
// timer consumer redelivers it with NakWithDelay until the execution is
// terminal, so engine-driven CHECKs survive restarts and spread over every
// engine instance.
type Timers struct {
	js       jetstream.JetStream
	subjects Subjects
	ts       timersStream // timers.go
}

var _ jobs.Timers = (*Timers)(nil)

// NewTimers arms timers under prefix.
func NewTimers(js jetstream.JetStream, prefix string) *Timers {
	return &Timers{js: js, subjects: Subjects{Prefix: prefix}}
}

// Arm schedules the first CHECK after delay. Its dedup id makes a second Arm
// of the same execution (a replayed START) a no-op.
func (t *Timers) Arm(ctx context.Context, jobType, executionID string, delay time.Duration) error {
	return t.arm(ctx, jobType, executionID, delay, "timer."+jobType+"."+executionID)
}

func (t *Timers) arm(ctx context.Context, jobType, executionID string, delay time.Duration, dedupID string) error {
	m := NewOutMsg(t.subjects.TimerOf(jobType, executionID))
	// The keys are in canonical form, as Header.Set would write them.
	m.SetHeader(headerNotBefore, strconv.FormatInt(time.Now().Add(delay).UnixNano(), 10))
	m.SetHeader(headerExecutionID, executionID)
	m.SetHeader(headerMsgID, dedupID)
	// The engine-driven CHECKs continue the trace of the START.
	traceContext.Inject(ctx, headerCarrier(m.Header()))
	if err := PublishOut(ctx, t.js, m); err != nil {
		return PortError("arm CHECK timer", err)
	}
	return nil
}
