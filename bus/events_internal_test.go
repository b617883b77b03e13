package bus

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/trace"

	"github.com/jetjobs/jetjobs/jobs"
)

// sdkEncode is the same event built with the SDK, for the equivalence test.
func (p *EventPublisher) sdkEncode(ctx context.Context, je *jobs.Event) (nats.Header, []byte, error) {
	ev := event.New()
	ev.SetID(je.ID)
	ev.SetSource("/" + p.topic + "/" + je.Data.JobType)
	ev.SetType(je.Data.EventType)
	ev.SetTime(je.Data.Timestamp)
	ev.SetSubject(je.Data.ExecutionID)
	ev.SetExtension("jobtype", je.Data.JobType)
	ev.SetExtension("executionid", je.Data.ExecutionID)
	if je.Data.SagaID != "" {
		ev.SetExtension("sagaid", je.Data.SagaID)
	}
	injectTrace(ctx, &ev)
	if err := ev.SetData("application/json", je.Data); err != nil {
		return nil, nil, err
	}
	return Encode(ev)
}

// Flush returns once the events published so far are stored (they may be
// pipelined within a command).
func (p *EventPublisher) Flush(ctx context.Context) error {
	if err := flush(ctx); err != nil {
		return &jobs.Error{Code: jobs.CodeUnavailable, Msg: "publish events", Err: err}
	}
	return nil
}

// The direct event encoder writes what the SDK path writes, byte for byte.
func TestEventEncodingMatchesSDK(t *testing.T) {
	t.Parallel()
	p := NewEventPublisher(nil, "jobs", "data-job-events")
	errText := "it broke: 100% \"bad\""
	traced := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{1, 2, 3}, SpanID: trace.SpanID{4, 5}, TraceFlags: trace.FlagsSampled}))
	pct := 40
	for _, tc := range []struct {
		name string
		ctx  context.Context
		ev   jobs.Event
	}{
		{"plain", context.Background(), jobs.Event{ID: "imp.e-1.JOB_STARTED", Data: jobs.EventData{EventType: jobs.EventStarted,
			ExecutionID: "e-1", JobType: "imp", Success: true, Status: jobs.StatusStarted, Timestamp: time.Date(2026, 11, 26, 10, 0, 0, 123, time.UTC)}}},
		{"saga, trace, error, data", traced, jobs.Event{ID: "imp.e_2.JOB_FAILED", Data: jobs.EventData{EventType: jobs.EventFailed,
			ExecutionID: "e_2", JobType: "imp", Status: jobs.StatusFailed, Error: &errText, SagaID: "s-1",
			Timestamp: time.Date(2026, 11, 26, 10, 0, 1, 0, time.FixedZone("CET", 3600)), Data: map[string]any{"n": 1.5},
			ProgressPercentage: &pct, Message: "żółw", Metadata: map[string]string{"tenant": "acme"}}}},
	} {
		h1, b1, err1 := p.encode(tc.ctx, &tc.ev)
		h2, b2, err2 := p.sdkEncode(tc.ctx, &tc.ev)
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: %v %v", tc.name, err1, err2)
		}
		if !reflect.DeepEqual(h1, h2) || string(b1) != string(b2) {
			t.Fatalf("%s:\ndirect %v %s\nsdk    %v %s", tc.name, h1, b1, h2, b2)
		}
		if _, err := Decode(h1, b1); err != nil {
			t.Fatalf("%s: decode: %v", tc.name, err)
		}
	}
}
