package bus

import (
	"fmt"
	"maps"
	"mime"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
)

// inEvent is what the worker reads of a command's CloudEvent: the
// attributes decodeCommand, delayStart and the trace context use, and
// the extensions as strings.
type inEvent struct {
	id, typ, subject string
	dct              string // datacontenttype; "" when absent
	data             []byte
	ext              []extAttr
}

// extString reads an extension; "" when absent.
func (e *inEvent) extString(name string) string {
	for _, x := range e.ext {
		if x.name == name {
			return x.value
		}
	}
	return ""
}

// decodeInEvent reads a command message as Decode does, with the same
// checks and the same errors (FuzzDecodeCommand holds them equal), but
// reads binary mode, the engine's own, without building an SDK event on
// every command. Structured mode goes through Decode.
func decodeInEvent(h nats.Header, body []byte) (in inEvent, err error) {
	defer func() {
		if r := recover(); r != nil { // as Decode: an error, never a crash
			in, err = inEvent{}, malformed("cannot decode: %v", r)
		}
	}()
	ct, err := headerValue(h, contentTypeHeader)
	if err != nil {
		return inEvent{}, err
	}
	if isStructured(ct) {
		ev, err := decodeStructured(ct, body)
		if err != nil {
			return inEvent{}, err
		}
		return inEventOf(&ev), nil
	}
	attrs := ceAttrs{ext: make([]extAttr, 0, 8)}
	if err := collectCE(&attrs, h); err != nil {
		return inEvent{}, err
	}
	return binaryInEvent(&attrs, ct, body)
}

// inEventOf is the inEvent of a decoded SDK event.
func inEventOf(ev *event.Event) inEvent {
	in := inEvent{id: ev.ID(), typ: ev.Type(), subject: ev.Subject(), dct: ev.DataContentType(), data: ev.Data()}
	if ev.Context == nil {
		return in
	}
	exts := contextV1(*ev).Extensions
	for _, name := range slices.Sorted(maps.Keys(exts)) {
		in.ext = append(in.ext, extAttr{name, extString(ev, name)})
	}
	return in
}

// binaryInEvent is binaryEvent followed by validateEvent, on the
// attributes alone: the same checks in the same order, with the same
// messages.
func binaryInEvent(attrs *ceAttrs, ct string, body []byte) (inEvent, error) {
	sv, ok := attrs.get("specversion")
	if !ok {
		return inEvent{}, malformed("missing attribute %q", "specversion")
	}
	if sv != ceSpecVersion {
		return inEvent{}, malformed("invalid specversion %q", sv)
	}
	in := inEvent{ext: attrs.ext}
	in.id, _ = attrs.get("id")
	in.typ, _ = attrs.get("type")
	sourceBlank := true
	if s, ok := attrs.get("source"); ok {
		u, err := url.Parse(s)
		if err != nil {
			return inEvent{}, malformed("header ce-source: invalid URI-reference %q", s)
		}
		sourceBlank = uriBlank(u)
	}
	subject, hasSubject := attrs.get("subject")
	in.subject = subject
	if s, ok := attrs.get("time"); ok {
		if _, err := time.Parse(time.RFC3339, s); err != nil {
			return inEvent{}, malformed("header ce-time: invalid time %q", s)
		}
	}
	schemaAbs, hasSchema := false, false
	if s, ok := attrs.get("dataschema"); ok {
		u, err := url.Parse(s)
		if err != nil {
			return inEvent{}, malformed("header ce-dataschema: invalid URI %q", s)
		}
		schemaAbs, hasSchema = u.IsAbs(), true
	}
	dct, ok := attrs.get("datacontenttype")
	if !ok {
		dct = strings.TrimSpace(ct)
		if !utf8.ValidString(dct) {
			return inEvent{}, malformed("header Content-Type: value is not valid UTF-8")
		}
	}
	hasDCT := dct != "" || ok
	in.dct = dct
	if err := attrs.checkExtensions(); err != nil {
		return inEvent{}, err
	}
	if len(body) > 0 {
		in.data = body
	}

	// validateEvent: checkRequired, then the SDK's spec validation (its
	// messages, sorted by attribute name as validateEvent sorts them).
	for _, r := range [...]struct {
		name  string
		blank bool
	}{{"id", strings.TrimSpace(in.id) == ""}, {"source", sourceBlank}, {"type", strings.TrimSpace(in.typ) == ""}} {
		if r.blank {
			return inEvent{}, malformed("missing attribute %q", r.name)
		}
	}
	var msgs []string
	if hasDCT {
		if err := checkMediaType(dct); err != nil {
			msgs = append(msgs, fmt.Sprintf("invalid attribute %q: %v", "datacontenttype", err))
		}
	}
	if hasSchema && !schemaAbs {
		msgs = append(msgs, fmt.Sprintf("invalid attribute %q: %v", "dataschema",
			"if present, MUST adhere to the format specified in RFC 3986, Section 4.3. Absolute URI"))
	}
	if hasSubject && strings.TrimSpace(subject) == "" {
		msgs = append(msgs, fmt.Sprintf("invalid attribute %q: %v", "subject", "if present, MUST be a non-empty string"))
	}
	if msgs != nil {
		return inEvent{}, malformed("%s", strings.Join(msgs, "; "))
	}
	return in, nil
}

// uriBlank reports whether a parsed source is blank as the SDK sees it
// (its String, trimmed). A scheme, host, path or opaque part is never
// written blank; only the rest pays for String.
func uriBlank(u *url.URL) bool {
	if u.Scheme != "" || u.Host != "" || u.Path != "" || u.Opaque != "" {
		return false
	}
	return strings.TrimSpace(u.String()) == ""
}

// checkMediaType is the SDK's datacontenttype check. A plain type/subtype
// of token characters, as every command carries, is known good without
// mime.ParseMediaType and the map it builds.
func checkMediaType(dct string) error {
	dct = strings.TrimSpace(dct)
	if dct == "" {
		return fmt.Errorf("if present, MUST adhere to the format specified in RFC 2046")
	}
	if plainMediaType(dct) {
		return nil
	}
	if _, _, err := mime.ParseMediaType(dct); err != nil {
		return fmt.Errorf("failed to parse RFC 2046 media type %w", err)
	}
	return nil
}

// plainMediaType reports whether s is token "/" token (RFC 2045 token
// characters), which mime.ParseMediaType accepts.
func plainMediaType(s string) bool {
	slash := strings.IndexByte(s, '/')
	if slash <= 0 || slash == len(s)-1 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if i != slash && !isTokenChar(s[i]) {
			return false
		}
	}
	return true
}

// isTokenChar is RFC 2045's token character: printable ASCII but space and
// tspecials.
func isTokenChar(c byte) bool {
	return c > ' ' && c < 0x7f && !strings.ContainsRune(`()<>@,;:\"/[]?=`, rune(c))
}
