package bus

import (
	"context"
	"net/url"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/jetjobs/jetjobs/jobs"
)

// encodeCommand writes the command Command builds, as Encode writes it,
// directly: the same headers and body (a test holds them equal), without
// an SDK event per call. at is the command's time.
func (c *Client) encodeCommand(ctx context.Context, job string, stage jobs.Stage, req *jobs.Request, o SendOptions,
	at time.Time) (id string, h nats.Header, body []byte, err error) {
	source, ok := c.srcURI, c.srcOK
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
	if body, err = MarshalJSON(req, req.Parameters, req.Data); err != nil {
		return "", nil, nil, err
	}
	b := newBinaryHeaders(id, source, stage.CommandType(), at)
	b.set("jobtype", job)
	if req.ExecutionID != "" {
		b.set("subject", req.ExecutionID)
		b.set("executionid", req.ExecutionID)
	}
	if o.SagaID != "" {
		b.set("sagaid", o.SagaID)
	}
	if o.ReplyTo != "" {
		b.set("replyto", o.ReplyTo)
	}
	if h, err = b.done(ctx); err != nil {
		return "", nil, nil, err
	}
	return id, h, body, nil
}

// sdkSource is a source as the SDK writes it (a URI-reference's String),
// and false if the SDK would refuse it.
func sdkSource(s string) (string, bool) {
	u, err := url.Parse(s)
	if err != nil || s == "" {
		return s, false
	}
	return u.String(), true
}
