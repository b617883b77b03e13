package bus

import (
	"context"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go"

	"github.com/jetjobs/jetjobs/jobs"
)

// encodeCommand writes the command Command builds, as Encode writes it,
// directly: the same headers and body (a test holds them equal), without
// an SDK event per call. at is the command's time.
func (c *Client) encodeCommand(ctx context.Context, job string, stage jobs.Stage, req *jobs.Request, o SendOptions,
	at time.Time) (id string, h nats.Header, body []byte, err error) {
	source, ok := c.uriSource()
	if !ok { // a source the SDK rejects: let its path say so
		ev, err := c.command(ctx, job, stage, req, o, at)
		if err != nil {
			return "", nil, nil, err
		}
		h, body, err := Encode(ev)
		return ev.ID(), h, body, err
	}
	if err := jobs.ValidateJobName(job); err != nil {
		return "", nil, nil, err
	}
	if req.ExecutionID != "" {
		if err := jobs.ValidateExecutionID(req.ExecutionID); err != nil {
			return "", nil, nil, err
		}
	}
	id = o.ID
	if id == "" {
		id = newID()
	}
	if strings.TrimSpace(id) == "" {
		return "", nil, nil, malformed("missing attribute %q", "id")
	}
	if body, err = MarshalJSON(req, req.Parameters); err != nil {
		return "", nil, nil, err
	}
	h = make(nats.Header, 14)
	vals := make([]string, 0, 11) // one backing array for the values
	notUTF8 := ""
	set := func(name, v string) {
		if notUTF8 == "" && !utf8.ValidString(v) {
			notUTF8 = name
		}
		vals = append(vals, pctEncode(v))
		h[ceHeaderPrefix+name] = vals[len(vals)-1 : len(vals) : len(vals)]
	}
	set("specversion", ceSpecVersion)
	set("id", id)
	set("source", source)
	set("type", stage.CommandType())
	set("time", at.UTC().Format(time.RFC3339Nano))
	set("datacontenttype", "application/json")
	set("jobtype", job)
	if req.ExecutionID != "" {
		set("subject", req.ExecutionID)
		set("executionid", req.ExecutionID)
	}
	if o.SagaID != "" {
		set("sagaid", o.SagaID)
	}
	if o.ReplyTo != "" {
		set("replyto", o.ReplyTo)
	}
	if notUTF8 != "" {
		return "", nil, nil, malformed("attribute %s: value is not valid UTF-8", notUTF8)
	}
	traceContext.Inject(ctx, ceHeaderCarrier(h))
	h[contentTypeHeader] = []string{"application/json"}
	h[nats.MsgIdHdr] = []string{pctEncode(id)}
	return id, h, body, nil
}

// uriSource is the client's source as the SDK writes it (a URI-reference),
// and false if it is not one.
func (c *Client) uriSource() (string, bool) {
	c.srcOnce.Do(func() {
		u, err := url.Parse(c.source)
		c.srcOK = err == nil && c.source != ""
		if c.srcOK {
			c.srcURI = u.String()
		}
	})
	return c.srcURI, c.srcOK
}
