package bus_test

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"

	"github.com/jetjobs/jetjobs/bus"
)

// hdr builds a header from name/value pairs, keeping the names as given.
func hdr(kv ...string) nats.Header {
	h := nats.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

// base is a minimal valid binary-mode header plus kv.
func base(kv ...string) nats.Header {
	return hdr(append([]string{"ce-specversion", "1.0", "ce-id", "id-1", "ce-source", "/src", "ce-type", "JOB_START"}, kv...)...)
}

// without drops a header from base().
func without(name string) nats.Header {
	h := base()
	h.Del(name)
	return h
}

const ceJSON = "application/cloudevents+json"

func TestDecode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		h       nats.Header
		body    string
		wantErr string // substring; "" = success
		check   func(t *testing.T, ev event.Event)
	}{
		{name: "blank id", h: hdr("ce-specversion", "1.0", "ce-id", "%20", "ce-source", "/s", "ce-type", "T"), wantErr: `missing attribute "id"`},
		{name: "binary minimal", h: base(), check: func(t *testing.T, ev event.Event) {
			if ev.ID() != "id-1" || ev.Source() != "/src" || ev.Type() != "JOB_START" || ev.Data() != nil {
				t.Errorf("got %v", ev)
			}
		}},
		{name: "binary full", h: base("ce-time", "2026-11-26T10:00:00.5+01:00", "ce-subject", "exec-123",
			"ce-dataschema", "https://example.com/s.json", "ce-datacontenttype", "application/json",
			"ce-executionid", "exec-123", "ce-replyto", "_INBOX.x"), body: `{"a":1}`,
			check: func(t *testing.T, ev event.Event) {
				want := time.Date(2026, 11, 26, 9, 0, 0, 5e8, time.UTC)
				if !ev.Time().Equal(want) || ev.Time().Location() != time.UTC {
					t.Errorf("time = %v, want %v in UTC", ev.Time(), want)
				}
				if ev.Subject() != "exec-123" || ev.DataSchema() != "https://example.com/s.json" || ev.DataContentType() != "application/json" {
					t.Errorf("got %v", ev)
				}
				if got := ev.Extensions(); got["executionid"] != "exec-123" || got["replyto"] != "_INBOX.x" {
					t.Errorf("extensions = %v", got)
				}
				if string(ev.Data()) != `{"a":1}` {
					t.Errorf("data = %q", ev.Data())
				}
			}},
		{name: "header names in odd case", h: hdr("CE-SPECVERSION", "1.0", "CE-ID", "x", "Ce-Source", "/s", "cE-tYpE", "T", "CE-JobType", "demo"),
			check: func(t *testing.T, ev event.Event) {
				if ev.ID() != "x" || ev.Type() != "T" || ev.Extensions()["jobtype"] != "demo" {
					t.Errorf("got %v", ev)
				}
			}},
		{name: "percent-encoded values", h: base("ce-subject", "hello%20w%C3%B6rld%20%22q%22%20100%25", "ce-tenant", "a+b%0A"),
			check: func(t *testing.T, ev event.Event) {
				if ev.Subject() != `hello wörld "q" 100%` {
					t.Errorf("subject = %q", ev.Subject())
				}
				if ev.Extensions()["tenant"] != "a+b\n" {
					t.Errorf("tenant = %q", ev.Extensions()["tenant"])
				}
			}},
		{name: "datacontenttype from Content-Type", h: base("Content-Type", "application/json"), body: "{}",
			check: func(t *testing.T, ev event.Event) {
				if ev.DataContentType() != "application/json" {
					t.Errorf("datacontenttype = %q", ev.DataContentType())
				}
			}},
		{name: "ce-datacontenttype wins", h: base("content-type", "text/plain", "ce-datacontenttype", "application/json"),
			check: func(t *testing.T, ev event.Event) {
				if ev.DataContentType() != "application/json" {
					t.Errorf("datacontenttype = %q", ev.DataContentType())
				}
			}},
		{name: "missing id", h: without("ce-id"), wantErr: `cloudevents: missing attribute "id"`},
		{name: "missing source", h: without("ce-source"), wantErr: `cloudevents: missing attribute "source"`},
		{name: "missing type", h: without("ce-type"), wantErr: `cloudevents: missing attribute "type"`},
		{name: "missing specversion", h: without("ce-specversion"), wantErr: `cloudevents: missing attribute "specversion"`},
		{name: "no headers at all", h: nil, body: "x", wantErr: `missing attribute "specversion"`},
		{name: "bad specversion", h: hdr("ce-specversion", "0.1", "ce-id", "x", "ce-source", "/s", "ce-type", "T"), wantErr: `cloudevents: invalid specversion "0.1"`},
		{name: "bad time", h: base("ce-time", "x"), wantErr: `cloudevents: header ce-time: invalid time "x"`},
		{name: "duplicate across case", h: base("CE-ID", "other"), wantErr: `header ce-id given more than once`},
		{name: "duplicate Content-Type", h: base("Content-Type", "a/b", "content-type", "c/d"), wantErr: `header Content-Type given more than once`},
		{name: "bad extension name", h: base("ce-my_ext", "v"), wantErr: `invalid extension name "my_ext"`},
		{name: "reserved extension name", h: base("ce-data", "v"), wantErr: `extension name "data" is reserved`},
		{name: "bad percent-encoding", h: base("ce-subject", "100%"), wantErr: `header ce-subject: invalid percent-encoding "100%"`},
		{name: "invalid UTF-8", h: base("ce-subject", "%FF"), wantErr: `header ce-subject: value is not valid UTF-8`},
		{name: "empty subject", h: base("ce-subject", ""), wantErr: `invalid attribute "subject"`},
		{name: "bad datacontenttype", h: base("ce-datacontenttype", "not%20a%20type"), wantErr: `invalid attribute "datacontenttype"`},
		{name: "relative dataschema", h: base("ce-dataschema", "/rel"), wantErr: `invalid attribute "dataschema"`},

		{name: "structured", h: hdr("Content-Type", ceJSON), body: `{"specversion":"1.0","id":"s-1","source":"/s","type":"T",
			"subject":"exec-1","time":"2026-11-26T10:00:00+02:00","datacontenttype":"application/json","data":{"a":1},
			"executionid":"exec-1","count":42,"flag":true}`,
			check: func(t *testing.T, ev event.Event) {
				if ev.ID() != "s-1" || ev.Subject() != "exec-1" || string(ev.Data()) != `{"a":1}` {
					t.Errorf("got %v", ev)
				}
				if !ev.Time().Equal(time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)) || ev.Time().Location() != time.UTC {
					t.Errorf("time = %v", ev.Time())
				}
				want := map[string]any{"executionid": "exec-1", "count": "42", "flag": "true"}
				if !maps.Equal(ev.Extensions(), want) {
					t.Errorf("extensions = %v, want %v (all strings)", ev.Extensions(), want)
				}
			}},
		{name: "structured ignores ce headers", h: hdr("content-type", "Application/CloudEvents+JSON; charset=utf-8", "ce-id", "hdr"),
			body: `{"specversion":"1.0","id":"body","source":"/s","type":"T"}`,
			check: func(t *testing.T, ev event.Event) {
				if ev.ID() != "body" {
					t.Errorf("id = %q, want the body's", ev.ID())
				}
			}},
		{name: "structured data_base64", h: hdr("Content-Type", ceJSON),
			body: `{"specversion":"1.0","id":"b","source":"/s","type":"T","datacontenttype":"application/octet-stream","data_base64":"AAEC"}`,
			check: func(t *testing.T, ev event.Event) {
				if !bytes.Equal(ev.Data(), []byte{0, 1, 2}) {
					t.Errorf("data = %v", ev.Data())
				}
			}},
		{name: "structured bad JSON", h: hdr("Content-Type", ceJSON), body: `{"specversion":"1.0",`, wantErr: `structured body is not a JSON object`},
		{name: "structured null", h: hdr("Content-Type", ceJSON), body: `null`, wantErr: `structured body is not a JSON object`},
		{name: "structured missing id", h: hdr("Content-Type", ceJSON), body: `{"specversion":"1.0","source":"/s","type":"T"}`, wantErr: `missing attribute "id"`},
		{name: "structured missing source", h: hdr("Content-Type", ceJSON), body: `{"specversion":"1.0","id":"x","type":"T"}`, wantErr: `missing attribute "source"`},
		{name: "structured bad specversion", h: hdr("Content-Type", ceJSON), body: `{"specversion":"0.3","id":"x","source":"/s","type":"T"}`, wantErr: `invalid specversion "0.3"`},
		{name: "structured bad time", h: hdr("Content-Type", ceJSON), body: `{"specversion":"1.0","id":"x","source":"/s","type":"T","time":"yesterday"}`, wantErr: `attribute time: invalid time "yesterday"`},
		{name: "structured uppercase extension", h: hdr("Content-Type", ceJSON), body: `{"specversion":"1.0","id":"x","source":"/s","type":"T","myExt":"v"}`, wantErr: `invalid extension name "myExt"`},
		{name: "structured object extension", h: hdr("Content-Type", ceJSON), body: `{"specversion":"1.0","id":"x","source":"/s","type":"T","ext":{"a":1}}`, wantErr: `cloudevents:`},
		{name: "structured data_base64 not a string", h: hdr("Content-Type", ceJSON), body: `{"specversion":"1.0","id":"x","source":"/s","type":"T","data_base64":1}`, wantErr: `data_base64 is not a JSON string`},
		{name: "structured invalid UTF-8", h: hdr("Content-Type", ceJSON), body: "{\"specversion\":\"1.0\",\"id\":\"\xff\",\"source\":\"/s\",\"type\":\"T\"}", wantErr: `structured body is not valid UTF-8`},
		{name: "structured null time", h: hdr("Content-Type", ceJSON), body: `{"specversion":"1.0","id":"x","source":"/s","type":"T","time":null}`, wantErr: `attribute time: invalid time null`},
		{name: "structured lone surrogate", h: hdr("Content-Type", ceJSON), body: `{"specversion":"1.0","id":"\ud800","source":"/s","type":"T","ext":"\u0000"}`},
		{name: "batch", h: hdr("Content-Type", "application/cloudevents-batch+json"), body: `[]`, wantErr: `batch mode`},
		{name: "other structured format", h: hdr("Content-Type", "application/cloudevents+avro"), body: `x`, wantErr: `unsupported structured format`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var body []byte
			if tt.body != "" {
				body = []byte(tt.body)
			}
			ev, err := bus.Decode(tt.h, body)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("Decode succeeded with %v, want error containing %q", ev, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("error = %q, want it to contain %q", err, tt.wantErr)
				}
				if !errors.Is(err, bus.ErrMalformed) {
					t.Errorf("error %q does not wrap ErrMalformed", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if tt.check != nil {
				tt.check(t, ev)
			}
			// Every event that decodes must survive Encode -> Decode unchanged.
			h2, b2, err := bus.Encode(ev)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			ev2, err := bus.Decode(h2, b2)
			if err != nil {
				t.Fatalf("Decode(Encode): %v\nheaders %v", err, h2)
			}
			if d := diffEvents(ev, ev2); d != "" {
				t.Errorf("round trip changed the event: %s", d)
			}
		})
	}
}

func TestEncode(t *testing.T) {
	t.Parallel()
	ev := event.New()
	ev.SetID("id 1")
	ev.SetSource("/data-job-events/demo")
	ev.SetType("JOB_STARTED")
	ev.SetSubject("exec wörld")
	ev.SetTime(time.Date(2026, 11, 26, 11, 0, 0, 123, time.FixedZone("x", 3600)))
	ev.SetExtension("jobtype", "demo")
	ev.SetExtension("attempt", 3)
	ev.SetExtension("urgent", true)
	if err := ev.SetData("application/json", map[string]int{"n": 1}); err != nil {
		t.Fatal(err)
	}
	h, body, err := bus.Encode(ev)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"ce-specversion":     "1.0",
		"ce-id":              "id%201",
		"ce-source":          "/data-job-events/demo",
		"ce-type":            "JOB_STARTED",
		"ce-subject":         "exec%20w%C3%B6rld",
		"ce-time":            "2026-11-26T10:00:00.000000123Z",
		"ce-datacontenttype": "application/json",
		"ce-jobtype":         "demo",
		"ce-attempt":         "3",
		"ce-urgent":          "true",
		"Content-Type":       "application/json",
		"Nats-Msg-Id":        "id%201",
	}
	for k, v := range want {
		if got := h.Values(k); len(got) != 1 || got[0] != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	if len(h) != len(want) {
		t.Errorf("headers = %v, want exactly %v", h, want)
	}
	if string(body) != `{"n":1}` {
		t.Errorf("body = %q", body)
	}
}

func TestEncodeRejects(t *testing.T) {
	t.Parallel()
	noID := event.New()
	noID.SetSource("/s")
	noID.SetType("T")

	badExt := event.New()
	badExt.SetID("x")
	badExt.SetSource("/s")
	badExt.SetType("T")
	badExt.Context.(*event.EventContextV1).Extensions = map[string]any{"MyExt": "v"}

	badUTF8 := event.New()
	badUTF8.SetID("x")
	badUTF8.SetSource("/s")
	badUTF8.SetType("T")
	badUTF8.SetExtension("note", "\xff")

	old := event.New(event.CloudEventsVersionV03)
	old.SetID("x")
	old.SetSource("/s")
	old.SetType("T")

	for name, tc := range map[string]struct {
		ev   event.Event
		want string
	}{
		"no id":         {noID, `missing attribute "id"`},
		"bad extension": {badExt, `invalid extension name "MyExt"`},
		"v0.3":          {old, `invalid specversion "0.3"`},
		"not UTF-8":     {badUTF8, `attribute note: value is not valid UTF-8`},
		"zero event":    {event.Event{}, `missing attribute "specversion"`},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, _, err := bus.Encode(tc.ev)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, bus.ErrMalformed) {
				t.Errorf("Encode error = %v, want ErrMalformed containing %q", err, tc.want)
			}
		})
	}
}

// TestCodecOverNATS checks that encoded headers survive the real wire format.
func TestCodecOverNATS(t *testing.T) {
	t.Parallel()
	_, nc, _ := startAndConnect(t)
	sub, err := nc.SubscribeSync("codec.test")
	if err != nil {
		t.Fatal(err)
	}
	ev := event.New()
	ev.SetID("id-%-\"quoted\"")
	ev.SetSource("https://example.com/a b")
	ev.SetType("JOB_START")
	ev.SetSubject("  leading and trailing spaces  ")
	ev.SetExtension("note", "tab\tnewline\r\nünïcode ✓")
	ev.SetTime(time.Now().UTC())
	if err := ev.SetData("text/plain; charset=utf-8", "hello"); err != nil {
		t.Fatal(err)
	}
	// SetSubject trims; put the spaces back to prove they travel.
	s := "  leading and trailing spaces  "
	ev.Context.(*event.EventContextV1).Subject = &s
	h, body, err := bus.Encode(ev)
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.PublishMsg(&nats.Msg{Subject: "codec.test", Header: h, Data: body}); err != nil {
		t.Fatal(err)
	}
	msg, err := sub.NextMsg(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	got, err := bus.Decode(msg.Header, msg.Data)
	if err != nil {
		t.Fatalf("Decode after NATS: %v (headers %v)", err, msg.Header)
	}
	if d := diffEvents(ev, got); d != "" {
		t.Errorf("event changed over NATS: %s", d)
	}
}

// diffEvents compares what the binding carries: attributes by their string
// forms, extensions and data. "" means equal.
func diffEvents(a, b event.Event) string {
	var d []string
	cmp := func(name string, x, y any) {
		if x != y {
			d = append(d, fmt.Sprintf("%s: %q != %q", name, x, y))
		}
	}
	cmp("specversion", a.SpecVersion(), b.SpecVersion())
	cmp("id", a.ID(), b.ID())
	cmp("source", a.Source(), b.Source())
	cmp("type", a.Type(), b.Type())
	cmp("subject", a.Subject(), b.Subject())
	cmp("dataschema", a.DataSchema(), b.DataSchema())
	cmp("datacontenttype", a.DataContentType(), b.DataContentType())
	if !a.Time().Equal(b.Time()) || a.Time().Location() != b.Time().Location() {
		d = append(d, fmt.Sprintf("time: %v != %v", a.Time(), b.Time()))
	}
	if !maps.Equal(a.Extensions(), b.Extensions()) {
		d = append(d, fmt.Sprintf("extensions: %v != %v", a.Extensions(), b.Extensions()))
	}
	if !bytes.Equal(a.Data(), b.Data()) {
		d = append(d, fmt.Sprintf("data: %q != %q", a.Data(), b.Data()))
	}
	return strings.Join(d, "; ")
}
