package bus_test

import (
	"strings"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/jetjobs/jetjobs/bus"
)

// parseHeaders turns "Name: value" lines into a header, roughly as NATS
// would (values trimmed, names kept as sent).
func parseHeaders(s string) nats.Header {
	h := nats.Header{}
	for line := range strings.SplitSeq(s, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		h.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	return h
}

func FuzzDecode(f *testing.F) {
	binary := "ce-specversion: 1.0\nce-id: id-1\nce-source: /s\nce-type: JOB_START\n"
	f.Add(binary, []byte(nil))
	f.Add(binary+"ce-time: 2026-11-26T10:00:00.123+01:00\nce-subject: exec%20%C3%B6\nContent-Type: application/json\nce-jobtype: demo", []byte(`{"parameters":{}}`))
	f.Add("CE-SPECVERSION: 1.0\nCE-ID: x\nCe-Source: https://example.com/a%20b\nce-type: T\nce-datacontenttype: text/plain\nce-dataschema: https://example.com/s", []byte("hi"))
	f.Add(binary+"ce-time: x", []byte(nil))
	f.Add(binary+"ce-Bad_Name: v", []byte(nil))
	structured := "Content-Type: application/cloudevents+json"
	f.Add(structured, []byte(`{"specversion":"1.0","id":"s","source":"/s","type":"T","time":"2026-11-26T10:00:00Z","data":{"a":[1,2]},"datacontenttype":"application/json","n":5,"b":true}`))
	f.Add(structured, []byte(`{"specversion":"1.0","id":"s","source":"/s","type":"T","datacontenttype":"text/plain","data":"hello"}`))
	f.Add(structured, []byte(`{"specversion":"1.0","id":"s","source":"/s","type":"T","data_base64":"AAEC"}`))
	f.Add(structured, []byte(`{"specversion":"0.3","id":"s","source":"/s","type":"T"}`))
	f.Add(structured, []byte(`{"specversion":"1.0",`))

	f.Fuzz(func(t *testing.T, headers string, body []byte) {
		ev, err := bus.Decode(parseHeaders(headers), body)
		if err != nil {
			return
		}
		h, b, err := bus.Encode(ev)
		if err != nil {
			t.Fatalf("Decode accepted %v but Encode fails: %v", ev, err)
		}
		for k, vs := range h {
			for _, v := range vs {
				// Anything else would break or be trimmed by the NATS header block.
				if strings.ContainsAny(k, "\r\n: ") || strings.ContainsAny(v, "\r\n") || v != strings.TrimSpace(v) {
					t.Fatalf("unsafe header %q: %q", k, v)
				}
			}
		}
		ev2, err := bus.Decode(h, b)
		if err != nil {
			t.Fatalf("Decode(Encode(ev)) fails: %v\nevent %v\nheaders %v", err, ev, h)
		}
		if d := diffEvents(ev, ev2); d != "" {
			t.Fatalf("round trip changed the event: %s", d)
		}
	})
}
