package bus

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/trace"

	"github.com/jetjobs/jetjobs/jobs"
)

// decodeCommandSDK is decodeCommand as it was on the SDK event Decode
// builds: the reference FuzzDecodeCommand holds the direct decoder to.
func decodeCommandSDK(prefix string, rule *ReplyRule, subject string, h nats.Header, body []byte, ev *event.Event, decodeErr error) (*jobs.Command, string, *badCommand) {
	rest, _ := strings.CutPrefix(subject, prefix+".cmd.")
	job, stageTok, _ := strings.Cut(rest, ".")
	bad := &badCommand{job: job, stage: stageTok}
	if decodeErr != nil {
		bad.reason = decodeErr.Error()
		bad.replyTo = salvageReplyTo(h, body)
		return nil, "", bad
	}
	if rt := extString(ev, "replyto"); rt != "" {
		if err := rule.Check(rt); err != nil {
			bad.reason = err.Error()
			return nil, "", bad
		}
		bad.replyTo = rt
	}
	stage, err := jobs.ParseStage(stageTok)
	if err != nil || stageTok != stage.Token() {
		bad.reason = fmt.Sprintf("unknown stage %q in subject %s (want start, check, collect, result, stop or execute)", stageTok, subject)
		return nil, "", bad
	}
	if want := stage.CommandType(); ev.Type() != want {
		bad.reason = fmt.Sprintf("command type %q does not match subject stage %q (want %s)", ev.Type(), stageTok, want)
		return nil, "", bad
	}
	if ct := ev.DataContentType(); ct != "" && !strings.HasPrefix(ct, "application/json") {
		bad.reason = fmt.Sprintf("unsupported datacontenttype %q: want application/json", ct)
		return nil, "", bad
	}
	var req jobs.Request
	if data := bytes.TrimSpace(ev.Data()); len(data) > 0 {
		r, err := jobs.DecodeRequest(data)
		if err != nil {
			bad.reason = "data is not a valid JobStageRequest: " + err.Error()
			return nil, "", bad
		}
		req = *r
	}
	ext := extString(ev, "executionid")
	switch {
	case req.ExecutionID == "" && ext != "":
		req.ExecutionID = ext
	case req.ExecutionID != "" && ext != "" && ext != req.ExecutionID:
		bad.reason = fmt.Sprintf("executionId %q in data and executionid extension %q differ", req.ExecutionID, ext)
		return nil, "", bad
	}
	if req.ExecutionID == "" && stage != jobs.StageStart && stage != jobs.StageExecute {
		req.ExecutionID = ev.Subject()
	}
	bad.executionID = req.ExecutionID
	if req.ExecutionID != "" {
		if err := jobs.ValidateExecutionID(req.ExecutionID); err != nil {
			bad.reason = err.Error()
			return nil, "", bad
		}
	} else if stage != jobs.StageStart && stage != jobs.StageExecute {
		bad.reason = fmt.Sprintf("%s needs an executionId (data, executionid extension or subject)", stage)
		return nil, "", bad
	}
	cmd := &jobs.Command{ID: ev.ID(), JobType: job, Stage: stage, Request: req, SagaID: extString(ev, "sagaid"),
		ReplayedBy: extString(ev, ExtReplayedBy), ReplayOf: extString(ev, ExtReplayOf)}
	return cmd, bad.replyTo, nil
}

// fuzzHeaders turns "Name: value" lines into a header, names as sent.
func fuzzHeaders(s string) nats.Header {
	h := nats.Header{}
	for line := range strings.SplitSeq(s, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			h.Add(strings.TrimSpace(k), strings.TrimSpace(v))
		}
	}
	return h
}

// engineCommand is a command's header block as the client writes it.
const engineCommand = "ce-specversion: 1.0\nce-id: 01JF3W7J6Q8Y2H9K4M5N6P7R8S\nce-source: /jetjobs/client\n" +
	"ce-type: JOB_START\nce-time: 2026-12-07T20:16:12.123456789Z\nce-datacontenttype: application/json\n" +
	"ce-jobtype: demo\nContent-Type: application/json\nNats-Msg-Id: 01JF3W7J6Q8Y2H9K4M5N6P7R8S\n" +
	"ce-traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\nce-tracestate: k=v"

func FuzzDecodeCommand(f *testing.F) {
	start := "jobs.cmd.demo.start"
	f.Add(start, engineCommand, []byte(`{"parameters":{"n":1,"s":"x"},"metadata":{"a":"b"}}`))
	f.Add(start, engineCommand+"\nce-startat: 2026-12-08T00:00:00Z", []byte(`{}`))
	f.Add(start, engineCommand+"\nce-delay: 5m\nce-replyto: _INBOX.abc", []byte(nil))
	f.Add(start, engineCommand+"\nce-delay: -1s\nce-startat: x", []byte(nil))
	f.Add(start, engineCommand+"\nce-replyto: jobs.evil", []byte(`{"parameters":{}}`))
	f.Add(start, engineCommand+"\nce-sagaid: saga-1\nce-replayedby: ops\nce-replayof: 7", []byte(` {"executionId":"e-1"} `))
	f.Add(start, engineCommand+"\nce-executionid: e-2", []byte(`{"executionId":"e-1"}`))
	f.Add(start, engineCommand, []byte(`{"parameters":{},"unknown":1}`))
	f.Add(start, engineCommand, []byte(`{"parameters":{}} trailing`))
	f.Add(start, engineCommand, []byte(`[1,2]`))
	f.Add("jobs.cmd.demo.check", strings.Replace(engineCommand, "JOB_START", "JOB_CHECK", 1)+"\nce-subject: exec-1", []byte(nil))
	f.Add("jobs.cmd.demo.check", strings.Replace(engineCommand, "JOB_START", "JOB_CHECK", 1), []byte(nil))
	f.Add("jobs.cmd.demo.stop", strings.Replace(engineCommand, "JOB_START", "JOB_STOP", 1)+"\nce-executionid: bad id", []byte(`{"reason":"r"}`))
	f.Add("jobs.cmd.demo.bogus", engineCommand, []byte(nil))
	f.Add("jobs.cmd.demo.START", engineCommand, []byte(nil))
	f.Add(start, strings.Replace(engineCommand, "application/json\nce-jobtype", "text/plain\nce-jobtype", 1), []byte("hi"))
	f.Add(start, "CE-SPECVERSION: 1.0\nCe-Id: x\nce-source: #\nce-type: JOB_START", []byte(nil))
	f.Add(start, "ce-specversion: 1.0\nce-id: %20\nce-source: /s\nce-type: JOB_START\nce-subject: %20\nce-dataschema: rel", []byte(nil))
	f.Add(start, "ce-specversion: 1.0\nce-id: x\nce-source: /s\nce-type: JOB_START\nce-datacontenttype: a/b;c=\"d\nce-subject: %20\nce-dataschema: rel", []byte(nil))
	f.Add(start, "ce-specversion: 1.0\nce-id: x\nce-source: /s\nce-type: JOB_START\nContent-Type:  application/json ; charset=utf-8", []byte(`{}`))
	f.Add(start, "ce-specversion: 1.0\nce-id: x\nce-source: /s\nce-type: JOB_START\nce-Bad_Name: v\nce-BAD: w\nce-time: nope", []byte(nil))
	f.Add(start, "ce-specversion: 0.3\nce-id: x\nce-source: /s\nce-type: JOB_START\nce-id: y", []byte(nil))
	f.Add(start, "ce-specversion: 1.0\nce-id: x\nce-source: %zz\nce-type: JOB_START\nce-: v", []byte(nil))
	f.Add(start, "ce-specversion: 1.0\nce-id: x\nce-source: :bad\nce-type: JOB_START\ncontent-type: a\nContent-Type: b", []byte(nil))
	f.Add(start, "ce-specversion: 1.0\nce-id: x\nce-source: /s\nce-type: JOB_START\nce-datacontenttype: %C3%28", []byte(nil))
	f.Add(start, "Content-Type: application/cloudevents+json", []byte(`{"specversion":"1.0","id":"s","source":"/s","type":"JOB_START","data":{"parameters":{}},"datacontenttype":"application/json","replyto":"_INBOX.x","n":5}`))
	f.Add(start, "Content-Type: application/cloudevents+json", []byte(`{"specversion":"1.0","id":"s","source":"/s","type":"JOB_START","data_base64":"e30="}`))
	f.Add(start, "Content-Type: application/cloudevents+json", []byte(`{"specversion":"1.0",`))

	rule, err := NewReplyRule("jobs", "", nil)
	if err != nil {
		f.Fatal(err)
	}
	now := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, subject, headers string, body []byte) {
		h := fuzzHeaders(headers)
		ev, refErr := Decode(h, body)
		in, err := decodeInEvent(h, body)
		if d := diffErr(refErr, err); d != "" {
			t.Fatalf("decode: %s", d)
		}
		if refErr == nil {
			if ref := inEventOf(&ev); !sameInEvent(ref, in) {
				t.Fatalf("decode: reference %+v, direct %+v", ref, in)
			}
		}
		refCmd, refReply, refBad := decodeCommandSDK("jobs", rule, subject, h, body, &ev, refErr)
		cmd, reply, bad := decodeCommand("jobs", rule, subject, h, body, &in, err)
		if !reflect.DeepEqual(refCmd, cmd) || refReply != reply || !reflect.DeepEqual(refBad, bad) {
			t.Fatalf("decodeCommand: reference %+v %q %+v, direct %+v %q %+v", refCmd, refReply, refBad, cmd, reply, bad)
		}
		if refErr != nil {
			return
		}
		refAt, refAtErr := startAtSDK(&ev, now)
		at, atErr := startAt(&in, now)
		if !refAt.Equal(at) || fmt.Sprint(refAtErr) != fmt.Sprint(atErr) {
			t.Fatalf("startAt: reference %v %v, direct %v %v", refAt, refAtErr, at, atErr)
		}
		refSC := trace.SpanContextFromContext(traceContext.Extract(context.Background(), extCarrier{&ev}))
		sc := trace.SpanContextFromContext(contextFromCommand(context.Background(), &in))
		if !refSC.Equal(sc) {
			t.Fatalf("trace: reference %v, direct %v", refSC, sc)
		}
	})
}

// startAtSDK is startAt on the SDK event: the extensions read as the SDK
// reads them, parsed alike (parseStartAt).
func startAtSDK(ev *event.Event, now time.Time) (time.Time, error) {
	return parseStartAt(extString(ev, ExtStartAt), extString(ev, ExtDelay), now)
}

// diffErr says how two decode errors differ: presence, message, or the
// ErrMalformed and *malformedError they must both be.
func diffErr(ref, got error) string {
	switch {
	case (ref == nil) != (got == nil):
		return fmt.Sprintf("reference error %v, direct error %v", ref, got)
	case ref == nil:
		return ""
	case ref.Error() != got.Error():
		return fmt.Sprintf("reference error %q, direct error %q", ref, got)
	case errors.Is(ref, ErrMalformed) != errors.Is(got, ErrMalformed) || reflect.TypeOf(ref) != reflect.TypeOf(got):
		return fmt.Sprintf("reference error %T, direct error %T", ref, got)
	}
	return ""
}

// sameInEvent compares two inEvents, extensions as a set.
func sameInEvent(a, b inEvent) bool {
	cmp := func(x, y extAttr) int { return strings.Compare(x.name, y.name) }
	ea, eb := slices.SortedFunc(slices.Values(a.ext), cmp), slices.SortedFunc(slices.Values(b.ext), cmp)
	return a.id == b.id && a.typ == b.typ && a.subject == b.subject && a.dct == b.dct &&
		bytes.Equal(a.data, b.data) && (a.data == nil) == (b.data == nil) && slices.Equal(ea, eb)
}

func TestDecodeInEventEngineCommand(t *testing.T) {
	t.Parallel()
	in, err := decodeInEvent(fuzzHeaders(engineCommand+"\nce-replyto: _INBOX.x"), []byte(`{"parameters":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	if in.id != "01JF3W7J6Q8Y2H9K4M5N6P7R8S" || in.typ != "JOB_START" || in.dct != "application/json" ||
		in.extString("replyto") != "_INBOX.x" || in.extString("jobtype") != "demo" || in.extString("nope") != "" {
		t.Errorf("got %+v", in)
	}
}

func BenchmarkDecodeCommand(b *testing.B) {
	h := fuzzHeaders(engineCommand + "\nce-replyto: _INBOX.abc")
	body := []byte(`{"parameters":{"n":1}}`)
	rule, err := NewReplyRule("jobs", "", nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("sdk", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ev, err := Decode(h, body)
			if _, _, bad := decodeCommandSDK("jobs", rule, "jobs.cmd.demo.start", h, body, &ev, err); bad != nil {
				b.Fatal(bad.reason)
			}
			_ = traceContext.Extract(context.Background(), extCarrier{&ev})
		}
	})
	b.Run("direct", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			in, err := decodeInEvent(h, body)
			if _, _, bad := decodeCommand("jobs", rule, "jobs.cmd.demo.start", h, body, &in, err); bad != nil {
				b.Fatal(bad.reason)
			}
			_ = contextFromCommand(context.Background(), &in)
		}
	})
}
