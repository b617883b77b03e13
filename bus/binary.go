package bus

import (
	"context"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
)

// binaryHeaders writes the headers of a binary-mode CloudEvent with JSON
// data as Encode writes them, for the engine's direct encoders (events,
// replies, commands), which tests hold byte-equal to the SDK path.
type binaryHeaders struct {
	h       nats.Header
	vals    []string // one backing array for the values
	id      string
	notUTF8 string // the first attribute Decode would reject, as Encode refuses it
}

// newBinaryHeaders starts with the attributes every such event has.
func newBinaryHeaders(id, source, typ string, at time.Time) binaryHeaders {
	b := binaryHeaders{h: make(nats.Header, 14), vals: make([]string, 0, 11), id: id}
	b.set("specversion", ceSpecVersion)
	b.set("id", id)
	b.set("source", source)
	b.set("type", typ)
	b.set("time", at.UTC().Format(time.RFC3339Nano))
	b.set("datacontenttype", "application/json")
	return b
}

// set adds the ce-<name> header, percent-encoded.
func (b *binaryHeaders) set(name, v string) {
	if b.notUTF8 == "" && !utf8.ValidString(v) {
		b.notUTF8 = name
	}
	b.vals = append(b.vals, pctEncode(v))
	b.h[ceHeaderPrefix+name] = b.vals[len(b.vals)-1 : len(b.vals) : len(b.vals)]
}

// done adds the trace context, Content-Type and the id as Nats-Msg-Id.
func (b *binaryHeaders) done(ctx context.Context) (nats.Header, error) {
	if b.notUTF8 != "" {
		return nil, malformed("attribute %s: value is not valid UTF-8", b.notUTF8)
	}
	traceContext.Inject(ctx, ceHeaderCarrier(b.h))
	b.h[contentTypeHeader] = []string{"application/json"}
	b.h[nats.MsgIdHdr] = []string{pctEncode(b.id)}
	return b.h, nil
}
