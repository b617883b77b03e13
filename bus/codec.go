package bus

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"mime"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
	"github.com/nats-io/nats.go"
)

// ErrMalformed is wrapped by every error of Decode and Encode: the message is
// not a valid CloudEvent and retrying it cannot help (it belongs in the DLQ).
var ErrMalformed = errors.New("malformed cloudevent")

const (
	contentTypeHeader = "Content-Type"
	ceHeaderPrefix    = "ce-"
	ceSpecVersion     = event.CloudEventsVersionV1
)

// ceAttributes are the CloudEvents 1.0 context attributes; any other name is an
// extension.
var ceAttributes = []string{"specversion", "id", "source", "type", "subject", "time", "dataschema", "datacontenttype"}

type malformedError struct{ err error }

func (e *malformedError) Error() string   { return e.err.Error() }
func (e *malformedError) Unwrap() []error { return []error{ErrMalformed, e.err} }

func malformed(format string, args ...any) error {
	return &malformedError{err: fmt.Errorf("cloudevents: "+format, args...)}
}

// Decode reads a CloudEvent from a NATS message. A Content-Type starting with
// application/cloudevents selects structured mode (the event as JSON in the
// body); anything else is binary mode (ce-* headers, data in the body).
// Header names are matched ignoring case. The event's data shares body.
func Decode(h nats.Header, body []byte) (ev event.Event, err error) {
	// The SDK's JSON reader can panic on odd input (it slices data_base64
	// as if it were a string); a consumer must get an error, never a crash.
	defer func() {
		if r := recover(); r != nil {
			ev, err = event.Event{}, malformed("cannot decode: %v", r)
		}
	}()
	ct, err := headerValue(h, contentTypeHeader)
	if err != nil {
		return event.Event{}, err
	}
	if isStructured(ct) {
		return decodeStructured(ct, body)
	}
	return decodeBinary(h, ct, body)
}

// headerValue looks a header up by name, ignoring case (nats.Header is a plain
// map and does not canonicalize). A header given twice is an error: which one
// wins would depend on map order.
func headerValue(h nats.Header, name string) (string, error) {
	var val string
	n := 0
	for k, vs := range h {
		if strings.EqualFold(k, name) {
			n += len(vs)
			if len(vs) > 0 {
				val = vs[0]
			}
		}
	}
	if n > 1 {
		return "", malformed("header %s given more than once", name)
	}
	return val, nil
}

// isStructured reports whether a Content-Type selects structured mode.
func isStructured(ct string) bool {
	return hasPrefixFold(strings.TrimSpace(ct), "application/cloudevents")
}

func decodeBinary(h nats.Header, ct string, body []byte) (event.Event, error) {
	var attrs ceAttrs
	if err := collectCE(&attrs, h); err != nil {
		return event.Event{}, err
	}
	return binaryEvent(&attrs, ct, body)
}

// binaryEvent builds the event of a binary-mode message from its attributes.
func binaryEvent(attrs *ceAttrs, ct string, body []byte) (event.Event, error) {
	sv, ok := attrs.get("specversion")
	if !ok {
		return event.Event{}, malformed("missing attribute %q", "specversion")
	}
	if sv != ceSpecVersion {
		return event.Event{}, malformed("invalid specversion %q", sv)
	}
	// Fields are set directly, not through the SDK setters, because those trim
	// spaces and would break the round trip with structured mode.
	id, _ := attrs.get("id")
	typ, _ := attrs.get("type")
	ec := &event.EventContextV1{ID: id, Type: typ}
	if s, ok := attrs.get("source"); ok {
		u, err := url.Parse(s)
		if err != nil {
			return event.Event{}, malformed("header ce-source: invalid URI-reference %q", s)
		}
		ec.Source = types.URIRef{URL: *u}
	}
	if s, ok := attrs.get("subject"); ok {
		ec.Subject = &s
	}
	if s, ok := attrs.get("time"); ok {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return event.Event{}, malformed("header ce-time: invalid time %q", s)
		}
		ec.Time = &types.Timestamp{Time: t.UTC()}
	}
	if s, ok := attrs.get("dataschema"); ok {
		u, err := url.Parse(s)
		if err != nil {
			return event.Event{}, malformed("header ce-dataschema: invalid URI %q", s)
		}
		ec.DataSchema = &types.URI{URL: *u}
	}
	dct, ok := attrs.get("datacontenttype")
	if !ok {
		dct = strings.TrimSpace(ct)
		if !utf8.ValidString(dct) {
			return event.Event{}, malformed("header Content-Type: value is not valid UTF-8")
		}
	}
	if dct != "" || ok {
		ec.DataContentType = &dct
	}
	if err := attrs.checkExtensions(); err != nil {
		return event.Event{}, err
	}
	for _, e := range attrs.ext {
		if ec.Extensions == nil {
			ec.Extensions = make(map[string]any, len(attrs.ext))
		}
		ec.Extensions[e.name] = e.value
	}

	ev := event.Event{Context: ec}
	if len(body) > 0 {
		ev.DataEncoded = body
	}
	return ev, validateEvent(ev)
}

func decodeStructured(ct string, body []byte) (event.Event, error) {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return event.Event{}, malformed("invalid Content-Type %q", ct)
	}
	switch mt {
	case "application/cloudevents+json", "application/cloudevents":
	case "application/cloudevents-batch+json":
		return event.Event{}, malformed("batch mode (%s) is not supported", mt)
	default:
		return event.Event{}, malformed("unsupported structured format %q", mt)
	}

	// JSON is UTF-8 (RFC 8259); the SDK's reader would pass invalid bytes on
	// into attributes that binary mode cannot carry.
	if !utf8.Valid(body) {
		return event.Event{}, malformed("structured body is not valid UTF-8")
	}
	// A first pass with encoding/json is strict about the JSON itself and lets
	// us name bad members before the SDK reader sees them.
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil || fields == nil {
		if err == nil {
			err = errors.New("null")
		}
		return event.Event{}, malformed("structured body is not a JSON object: %v", err)
	}
	raw, ok := fields["specversion"]
	if !ok {
		return event.Event{}, malformed("missing attribute %q", "specversion")
	}
	if sv, err := jsonString(raw); err != nil || sv != ceSpecVersion {
		return event.Event{}, malformed("invalid specversion %s", raw)
	}
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		if slices.Contains(ceAttributes, name) || name == "data" || name == "data_base64" {
			continue
		}
		if err := checkExtensionName(name); err != nil {
			return event.Event{}, malformed("member %q: %v", name, err)
		}
	}
	if raw, ok := fields["time"]; ok {
		s, err := jsonString(raw)
		if err != nil {
			return event.Event{}, malformed("attribute time: invalid time %s", raw)
		}
		if _, err := time.Parse(time.RFC3339, s); err != nil {
			return event.Event{}, malformed("attribute time: invalid time %q", s)
		}
	}
	if raw, ok := fields["data_base64"]; ok {
		if _, ok := fields["data"]; ok {
			return event.Event{}, malformed("both data and data_base64 are set")
		}
		if _, err := jsonString(raw); err != nil {
			return event.Event{}, malformed("data_base64 is not a JSON string")
		}
	}

	ev := event.New()
	if err := json.Unmarshal(body, &ev); err != nil {
		return event.Event{}, malformed("structured body: %v", err)
	}
	ec, ok := ev.Context.(*event.EventContextV1)
	if !ok {
		return event.Event{}, malformed("invalid specversion %q", ev.SpecVersion())
	}
	if ec.Time != nil {
		ec.Time.Time = ec.Time.UTC()
	}
	for name, v := range ec.Extensions {
		s, err := types.Format(v)
		if err != nil {
			return event.Event{}, malformed("extension %q: %v", name, err)
		}
		ec.Extensions[name] = s
	}
	if len(ev.DataEncoded) == 0 {
		ev.DataEncoded = nil
	}
	return ev, validateEvent(ev)
}

// jsonString decodes a JSON string; null and other types are errors.
func jsonString(raw json.RawMessage) (string, error) {
	if !bytes.HasPrefix(bytes.TrimSpace(raw), []byte(`"`)) {
		return "", errors.New("not a JSON string")
	}
	var s string
	err := json.Unmarshal(raw, &s)
	return s, err
}

// checkExtensionName enforces the spec's lowercase-alphanumeric names. The SDK
// would silently lowercase an uppercase name, which hides a producer bug.
func checkExtensionName(name string) error {
	if name == "" {
		return errors.New("empty extension name")
	}
	for _, c := range name {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return fmt.Errorf("invalid extension name %q (lowercase letters and digits only)", name)
		}
	}
	if name == "data" || slices.Contains(ceAttributes, name) {
		return fmt.Errorf("extension name %q is reserved", name)
	}
	return nil
}

// validateEvent validates an event: required attributes first (with the clearest
// message), then the SDK's spec validation.
func validateEvent(ev event.Event) error {
	if err := checkRequired(ev); err != nil {
		return err
	}
	err := ev.Validate()
	if err == nil {
		return nil
	}
	var ve event.ValidationError
	if !errors.As(err, &ve) {
		return malformed("%v", err)
	}
	var msgs []string
	for _, k := range slices.Sorted(maps.Keys(ve)) {
		msgs = append(msgs, fmt.Sprintf("invalid attribute %q: %v", k, ve[k]))
	}
	return malformed("%s", strings.Join(msgs, "; "))
}

// contextV1 is ev's context as 1.0 attributes, not copied when it already
// is (AsV1 copies it to the heap).
func contextV1(ev event.Event) *event.EventContextV1 {
	if ec, ok := ev.Context.(*event.EventContextV1); ok {
		return ec
	}
	return ev.Context.AsV1()
}

// checkRequired is the cheap part of validation: specversion, the required
// attributes and the extension names. Encode needs no more (the SDK's full
// validation is for what arrives from outside).
func checkRequired(ev event.Event) error {
	if ev.Context == nil {
		return malformed("missing attribute %q", "specversion")
	}
	if sv := ev.SpecVersion(); sv != ceSpecVersion {
		return malformed("invalid specversion %q", sv)
	}
	ec := contextV1(ev)
	required := []struct{ name, val string }{{"id", ec.ID}, {"source", ec.Source.String()}, {"type", ec.Type}}
	for _, r := range required {
		if strings.TrimSpace(r.val) == "" {
			return malformed("missing attribute %q", r.name)
		}
	}
	for name := range ec.Extensions {
		if err := checkExtensionName(name); err != nil {
			return malformed("%v", err)
		}
	}
	return nil
}

// Encode writes ev in binary mode: every attribute a percent-encoded ce-*
// header, data in the body. The id doubles as Nats-Msg-Id so that JetStream
// drops a republished command inside the duplicate window. Time is sent only
// when set: producers set it, and inventing one would break round trips.
func Encode(ev event.Event) (nats.Header, []byte, error) {
	if err := checkRequired(ev); err != nil {
		return nil, nil, err
	}
	ec := contextV1(ev)
	h := make(nats.Header, 8+len(ec.Extensions))
	notUTF8 := "" // Decode would reject it, so Encode does too
	set := func(name, v string) {
		if !utf8.ValidString(v) && notUTF8 == "" {
			notUTF8 = name
		}
		h.Set(ceHeaderPrefix+name, pctEncode(v))
	}
	set("specversion", ceSpecVersion)
	set("id", ec.ID)
	set("source", ec.Source.String())
	set("type", ec.Type)
	if ec.Time != nil {
		t := ec.Time.UTC()
		if t.Year() < 0 || t.Year() > 9999 {
			return nil, nil, malformed("attribute time: year %d cannot be written as RFC 3339", t.Year())
		}
		set("time", t.Format(time.RFC3339Nano))
	}
	if ec.Subject != nil {
		set("subject", *ec.Subject)
	}
	if ec.DataSchema != nil {
		set("dataschema", ec.DataSchema.String())
	}
	if ec.DataContentType != nil {
		dct := *ec.DataContentType
		set("datacontenttype", dct)
		// Content-Type is for clients that ignore ce-* headers. It is not
		// percent-encoded, so it is skipped when it could break the header
		// block or flip a reader into structured mode.
		if headerSafe(dct) && !strings.HasPrefix(strings.ToLower(strings.TrimSpace(dct)), "application/cloudevents") {
			h.Set(contentTypeHeader, dct)
		}
	}
	for name, v := range ec.Extensions {
		s, err := types.Format(v)
		if err != nil {
			return nil, nil, malformed("extension %q: %v", name, err)
		}
		set(name, s)
	}
	if notUTF8 != "" {
		return nil, nil, malformed("attribute %s: value is not valid UTF-8", notUTF8)
	}
	h.Set(nats.MsgIdHdr, pctEncode(ec.ID))
	return h, ev.Data(), nil
}

// pctEncode escapes what the binding requires: space, double quote, percent
// and everything outside printable ASCII (control characters and the UTF-8
// bytes of non-ASCII runes). Decode reverses it with url.PathUnescape.
func pctEncode(s string) string {
	const hex = "0123456789ABCDEF"
	n := 0
	for i := 0; i < len(s); i++ {
		if mustEscape(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if mustEscape(c) {
			b = append(b, '%', hex[c>>4], hex[c&15])
		} else {
			b = append(b, c)
		}
	}
	return string(b)
}

func mustEscape(c byte) bool {
	return c <= ' ' || c >= 0x7f || c == '"' || c == '%'
}

// headerSafe reports whether s can be a raw NATS header value: printable
// ASCII and inner spaces or tabs, nothing that could end the header line.
func headerSafe(s string) bool {
	if s != strings.TrimSpace(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < ' ' && c != '\t') || c >= 0x7f {
			return false
		}
	}
	return true
}
