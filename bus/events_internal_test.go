package bus

import (
	"context"
	"encoding/json"
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
		m, err1 := p.encode(tc.ctx, &tc.ev)
		var h1 nats.Header
		var b1 []byte
		if m != nil {
			h1, b1 = m.Header(), m.Data()
		}
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

// responseEvent is a JobStageResponse as an SDK event, as replies were
// built before encodeResponse, for the equivalence test.
func responseEvent(ctx context.Context, source, job, id string, at time.Time, resp *jobs.Response) (event.Event, error) {
	ev := event.New()
	ev.SetID(id)
	ev.SetSource(source)
	ev.SetType(jobs.EventStageResponse)
	ev.SetTime(at.UTC())
	if resp.ExecutionID != "" {
		ev.SetSubject(resp.ExecutionID)
		ev.SetExtension("executionid", resp.ExecutionID)
	}
	if jobs.ValidateJobName(job) == nil {
		ev.SetExtension("jobtype", job)
	}
	if resp.Code != "" {
		ev.SetExtension("errorcode", string(resp.Code))
	}
	injectTrace(ctx, &ev)
	return ev, ev.SetData("application/json", resp)
}

// The direct reply encoder writes what the SDK path writes, byte for byte.
func TestResponseEncodingMatchesSDK(t *testing.T) {
	t.Parallel()
	traced := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{9, 8, 7}, SpanID: trace.SpanID{6, 5}, TraceFlags: trace.FlagsSampled}))
	errText, pct := "bad \"input\" 100%", 55
	at := time.Date(2026, 11, 27, 4, 5, 6, 789, time.FixedZone("X", 7200))
	for _, tc := range []struct {
		name, job string
		ctx       context.Context
		resp      jobs.Response
	}{
		{"completed", "imp", context.Background(), jobs.Response{Success: true, ExecutionID: "e-1", Timestamp: at, Metadata: map[string]string{"b": "1", "a": "2"},
			Status: jobs.StatusCompleted, Stage: jobs.StageExecute, Data: map[string]any{"rows": json.Number("12"), "html": "<x>"}}},
		{"no execution", "imp", context.Background(), jobs.Response{Success: false, Error: &errText, Code: jobs.CodeInvalidParameter}},
		{"bad job name, traced", "no good!", traced, jobs.Response{ExecutionID: "ż-1", ProgressPercentage: pct,
			Message: "żółw", Code: jobs.CodeUnavailable}},
	} {
		w := &Worker{cfg: WorkerConfig{Source: "/jet jobs"}.WithDefaults()}
		h1, b1, err1 := encodeResponse(tc.ctx, w.source(tc.job), tc.job, "id-1", at, &tc.resp)
		ev, err := responseEvent(tc.ctx, w.source(tc.job), tc.job, "id-1", at, &tc.resp)
		if err != nil {
			t.Fatal(err)
		}
		h2, b2, err2 := Encode(ev)
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("%s: errors differ: %v / %v", tc.name, err1, err2)
		}
		if !reflect.DeepEqual(h1, h2) || string(b1) != string(b2) {
			t.Fatalf("%s:\ndirect %v %s\nsdk    %v %s", tc.name, h1, b1, h2, b2)
		}
	}
	// Invalid UTF-8 is refused, as Encode refuses it.
	if _, _, err := encodeResponse(context.Background(), "/s", "imp", "id", at, &jobs.Response{ExecutionID: "\xff"}); err == nil {
		t.Fatal("invalid UTF-8 executionId encoded")
	}
}

// The direct command encoder writes what Command and Encode write, byte
// for byte, and refuses what they refuse.
func TestCommandEncodingMatchesSDK(t *testing.T) {
	t.Parallel()
	traced := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{7}, SpanID: trace.SpanID{8}, TraceFlags: trace.FlagsSampled}))
	at := time.Date(2026, 11, 27, 5, 6, 7, 890, time.FixedZone("Y", -3600))
	for _, tc := range []struct {
		name, source, job string
		stage             jobs.Stage
		ctx               context.Context
		req               jobs.Request
		o                 SendOptions
	}{
		{"start", "/jetjobs/client", "imp", jobs.StageStart, context.Background(),
			jobs.Request{Parameters: map[string]any{"n": json.Number("3"), "s": "<x> y"}}, SendOptions{ID: "id-1"}},
		{"check with everything", "/my app/x", "imp", jobs.StageCheck, traced,
			jobs.Request{ExecutionID: "e-1", RequestID: "r", Initiator: "me", Metadata: map[string]string{"t": "ż"}},
			SendOptions{ID: "id 2%", SagaID: "s-1", ReplyTo: "_INBOX.x.y"}},
		{"urn source", "urn:jetjobs:test", "imp", jobs.StageExecute, context.Background(), jobs.Request{}, SendOptions{ID: "i"}},
		{"bad job", "/s", "Bad Job", jobs.StageStart, context.Background(), jobs.Request{}, SendOptions{ID: "i"}},
		{"bad execution id", "/s", "imp", jobs.StageStop, context.Background(), jobs.Request{ExecutionID: "a.b"}, SendOptions{ID: "i"}},
		{"blank id", "/s", "imp", jobs.StageStart, context.Background(), jobs.Request{}, SendOptions{ID: "  "}},
		{"bad UTF-8 saga", "/s", "imp", jobs.StageStart, context.Background(), jobs.Request{}, SendOptions{ID: "i", SagaID: "\xff"}},
		{"bad source", "http://[::1", "imp", jobs.StageStart, context.Background(), jobs.Request{}, SendOptions{ID: "i"}},
	} {
		c := NewClient(nil, nil, WithSource(tc.source))
		id, h1, b1, err1 := c.encodeCommand(tc.ctx, tc.job, tc.stage, &tc.req, tc.o, at)
		var h2 nats.Header
		var b2 []byte
		ev, err2 := c.command(tc.ctx, tc.job, tc.stage, &tc.req, tc.o, at)
		if err2 == nil {
			h2, b2, err2 = Encode(ev)
		}
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("%s: errors differ: direct %v, sdk %v", tc.name, err1, err2)
		}
		if err1 != nil {
			continue
		}
		if id != ev.ID() || !reflect.DeepEqual(h1, h2) || string(b1) != string(b2) {
			t.Fatalf("%s:\ndirect %s %v %s\nsdk    %s %v %s", tc.name, id, h1, b1, ev.ID(), h2, b2)
		}
	}
}

// A reply as the engine writes it is read on the fast path, with the same
// result as the full decode; anything else still goes through Decode.
func TestDecodeResponseFastPath(t *testing.T) {
	t.Parallel()
	errText := "nope"
	for _, resp := range []jobs.Response{
		{Success: true, ExecutionID: "e", Status: jobs.StatusCompleted, Data: map[string]any{"a": 1.5}},
		{Success: false, Error: &errText, Code: jobs.CodeUnavailable, Metadata: map[string]string{"k": "v"}},
	} {
		h, body, err := encodeResponse(context.Background(), "/jetjobs/imp", "imp", "id", time.Now(), &resp)
		if err != nil {
			t.Fatal(err)
		}
		fast, ok := engineResponse(h, body)
		if !ok {
			t.Fatalf("engine reply %v not read on the fast path", h)
		}
		ev, err := Decode(h, body)
		if err != nil {
			t.Fatal(err)
		}
		var full jobs.Response
		if err := json.Unmarshal(ev.Data(), &full); err != nil {
			t.Fatal(err)
		}
		full.Code = jobs.Code(extString(&ev, "errorcode"))
		if !reflect.DeepEqual(*fast, full) {
			t.Fatalf("fast %+v, full %+v", *fast, full)
		}
	}
	// Structured mode and foreign header spellings take the full path.
	if _, ok := engineResponse(nats.Header{"Content-Type": {"application/cloudevents+json"}}, []byte(`{}`)); ok {
		t.Fatal("structured mode on the fast path")
	}
	if _, ok := engineResponse(nats.Header{"Ce-Specversion": {"1.0"}, "Ce-Type": {jobs.EventStageResponse},
		"Content-Type": {"application/json"}}, []byte(`{}`)); ok {
		t.Fatal("capitalised headers on the fast path")
	}
	// And a malformed reply is still refused.
	if _, err := DecodeResponse(nats.Header{"ce-specversion": {"1.0"}, "ce-type": {jobs.EventStageResponse},
		"Content-Type": {"application/json"}}, []byte(`{not json`)); err == nil {
		t.Fatal("malformed reply accepted")
	}
}

func BenchmarkEventEncode(b *testing.B) {
	p := NewEventPublisher(nil, "jobs", "data-job-events")
	ev := &jobs.Event{ID: "imp.e-1.JOB_COMPLETED", Data: jobs.EventData{EventType: jobs.EventCompleted,
		ExecutionID: "e-1", JobType: "imp", Success: true, Status: jobs.StatusCompleted, Timestamp: time.Now()}}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		m, err := p.encode(ctx, ev)
		if err != nil {
			b.Fatal(err)
		}
		m.Release()
	}
}
