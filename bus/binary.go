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
	notUTF8 string  // the first attribute Decode would reject, as Encode refuses it
	out     *OutMsg // the message whose map and values these are, if any
}

// newBinaryHeaders starts with the attributes every such event has.
func newBinaryHeaders(id, source, typ string, at time.Time) binaryHeaders {
	return startBinaryHeaders(make(nats.Header, 14), make([]string, 0, 11), id, source, typ, at)
}

// binaryHeadersOf writes the headers into m's pooled map and values; done
// leaves them in m.
func binaryHeadersOf(m *OutMsg, id, source, typ string, at time.Time) binaryHeaders {
	b := startBinaryHeaders(m.msg.Header, m.vals, id, source, typ, at)
	b.out = m
	return b
}

// startBinaryHeaders writes into h (empty) with the values in vals'
// backing array (length 0).
func startBinaryHeaders(h nats.Header, vals []string, id, source, typ string, at time.Time) binaryHeaders {
	b := binaryHeaders{h: h, vals: vals, id: id}
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
	b.add(ceKey(name), pctEncode(v))
}

// add sets header key to one value, in the shared backing array (capacity
// one: an append to a value never writes over the next).
func (b *binaryHeaders) add(key, v string) {
	b.vals = append(b.vals, v)
	n := len(b.vals)
	b.h[key] = b.vals[n-1 : n : n]
}

// ceKey is the ce-<name> header: a constant for the attributes the engine
// writes, so that writing one allocates nothing.
func ceKey(name string) string {
	switch name {
	case "specversion":
		return ceHeaderPrefix + "specversion"
	case "id":
		return ceHeaderPrefix + "id"
	case "source":
		return ceHeaderPrefix + "source"
	case "type":
		return ceHeaderPrefix + "type"
	case "time":
		return ceHeaderPrefix + "time"
	case "datacontenttype":
		return ceHeaderPrefix + "datacontenttype"
	case "subject":
		return ceHeaderPrefix + "subject"
	case "jobtype":
		return ceHeaderPrefix + "jobtype"
	case "executionid":
		return ceHeaderPrefix + "executionid"
	case "sagaid":
		return ceHeaderPrefix + "sagaid"
	case "replyto":
		return ceHeaderPrefix + "replyto"
	case "errorcode":
		return ceHeaderPrefix + "errorcode"
	}
	return ceHeaderPrefix + name
}

// done adds the trace context, Content-Type and the id as Nats-Msg-Id.
func (b *binaryHeaders) done(ctx context.Context) (nats.Header, error) {
	if b.notUTF8 != "" {
		return nil, malformed("attribute %s: value is not valid UTF-8", b.notUTF8)
	}
	traceContext.Inject(ctx, ceHeaderCarrier(b.h))
	b.add(contentTypeHeader, "application/json")
	b.add(nats.MsgIdHdr, pctEncode(b.id))
	if b.out != nil {
		b.out.vals = b.vals // keep the array, grown or not, for the next message
	}
	return b.h, nil
}
