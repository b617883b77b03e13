package bus

import (
	"bytes"
	"context"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/jetjobs/jetjobs/jobs"
)

// encodeCommand writes the command Command builds, as Encode writes it,
// directly: the same headers and body (a test holds them equal), without
// an SDK event per call. at is the command's time. It returns copies of
// what commandMsg writes.
func (c *Client) encodeCommand(ctx context.Context, job string, stage jobs.Stage, req *jobs.Request, o SendOptions,
	at time.Time) (id string, h nats.Header, body []byte, err error) {
	id, m, err := c.commandMsg(ctx, "", job, stage, req, o, at)
	if err != nil {
		return "", nil, nil, err
	}
	defer m.Release()
	h = make(nats.Header, len(m.msg.Header))
	for k, v := range m.msg.Header {
		h[k] = slices.Clone(v)
	}
	return id, h, bytes.Clone(m.msg.Data), nil
}

// commandMsg writes the command Command builds, as Encode writes it, into
// a pooled OutMsg on subject: no header map, values array, data buffer or
// message per command. The caller publishes it and then releases it.
func (c *Client) commandMsg(ctx context.Context, subject, job string, stage jobs.Stage, req *jobs.Request, o SendOptions,
	at time.Time) (id string, m *OutMsg, err error) {
	source, ok := c.srcURI, c.srcOK
	if !ok { // a source the SDK rejects: let its path say so
		ev, err := c.command(ctx, job, stage, req, o, at)
		if err != nil {
			return "", nil, err
		}
		h, body, err := Encode(ev)
		if err != nil {
			return "", nil, err
		}
		m = newOutMsg(eventOutMsgs, subject)
		for k, v := range h {
			m.msg.Header[k] = v
		}
		m.msg.Data = body
		return ev.ID(), m, nil
	}
	if err := jobs.ValidateJobName(job); err != nil {
		return "", nil, err
	}
	if req.ExecutionID != "" {
		if err := jobs.ValidateExecutionID(req.ExecutionID); err != nil {
			return "", nil, err
		}
	}
	id = o.ID
	if id == "" {
		id = newID()
	}
	if strings.TrimSpace(id) == "" {
		return "", nil, malformed("missing attribute %q", "id")
	}
	m = newOutMsg(eventOutMsgs, subject)
	if err := m.EncodeJSON(req, req.Parameters, req.Data); err != nil {
		m.Release()
		return "", nil, err
	}
	b := binaryHeadersOf(m, id, source, stage.CommandType(), at)
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
	if _, err := b.done(ctx); err != nil {
		m.Release()
		return "", nil, err
	}
	return id, m, nil
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
