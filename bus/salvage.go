package bus

import (
	"encoding/json"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
)

// salvageReplyTo reads the replyto of a message that is not a valid
// CloudEvent (no specversion, a raw % in another header, a structured body
// with a bad member), so that its sender still gets an error answer. Only
// the replyto itself must be readable: the ce-replyto header given once,
// percent-decodable and UTF-8 (binary mode), or a string member "replyto"
// of the JSON object in the body (structured mode). "" when it is not.
// The answer goes through Worker.reply, with every rule that applies to a
// replyto there.
func salvageReplyTo(h nats.Header, body []byte) string {
	ct, err := headerValue(h, contentTypeHeader)
	if err != nil {
		return ""
	}
	if strings.HasPrefix(strings.ToLower(strings.TrimSpace(ct)), "application/cloudevents") {
		var members map[string]json.RawMessage
		if json.Unmarshal(body, &members) != nil {
			return ""
		}
		var s string
		if raw, ok := members["replyto"]; !ok || json.Unmarshal(raw, &s) != nil {
			return ""
		}
		return strings.TrimSpace(s)
	}
	raw, err := headerValue(h, ceHeaderPrefix+"replyto")
	if err != nil || raw == "" {
		return ""
	}
	v, err := url.PathUnescape(raw)
	if err != nil || !utf8.ValidString(v) {
		return ""
	}
	return strings.TrimSpace(v)
}
