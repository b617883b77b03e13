package bus

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	gojson "github.com/goccy/go-json"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetjobs/jetjobs/jobs"
)

// Client sends commands the way any service does: CloudEvents on
// P.cmd.<job>.<stage>. Call waits for the stage's JobStageResponse on a
// replyto subject. The REST adapter and the CLI are built on it.
type Client struct {
	nc       *nats.Conn
	js       jetstream.JetStream
	subjects Subjects
	source   string
	srcURI   string // source as the SDK writes it (sdkSource)
	srcOK    bool
	// publishRetry bounds the resends of an unanswered publish (Send).
	publishRetry time.Duration

	once    sync.Once
	initErr error
	inbox   string // replies arrive on <inbox>.<token>
	sub     *nats.Subscription
	seq     atomic.Uint64 // the last reply token
	mu      sync.Mutex
	waiting map[string]chan *nats.Msg
}

// ClientOption configures a Client.
type ClientOption func(*Client)

// WithPrefix sets the subject prefix (default "jobs").
func WithPrefix(p string) ClientOption { return func(c *Client) { c.subjects.Prefix = p } }

// WithSource sets the CloudEvents source of the commands (default "/jetjobs/client").
func WithSource(s string) ClientOption { return func(c *Client) { c.source = s } }

// WithPublishRetry sets how long Send and Call resend a command that got
// no answer from JetStream, with the same Nats-Msg-Id (default
// DefaultPublishRetry; 0: publish once).
func WithPublishRetry(d time.Duration) ClientOption { return func(c *Client) { c.publishRetry = d } }

// NewClient returns a client on an open connection.
func NewClient(nc *nats.Conn, js jetstream.JetStream, opts ...ClientOption) *Client {
	c := &Client{nc: nc, js: js, subjects: Subjects{Prefix: "jobs"}, source: "/jetjobs/client",
		waiting: map[string]chan *nats.Msg{}, publishRetry: DefaultPublishRetry}
	for _, o := range opts {
		o(c)
	}
	c.srcURI, c.srcOK = sdkSource(c.source)
	return c
}

// SendOptions are the optional attributes of a command.
type SendOptions struct {
	ID      string // CloudEvents id and dedup id; default random
	SagaID  string
	ReplyTo string
}

// Command builds the CloudEvent of a command, ready to Encode.
func (c *Client) Command(ctx context.Context, job string, stage jobs.Stage, req *jobs.Request, o SendOptions) (event.Event, error) {
	return c.command(ctx, job, stage, req, o, time.Now())
}

func (c *Client) command(ctx context.Context, job string, stage jobs.Stage, req *jobs.Request, o SendOptions, at time.Time) (event.Event, error) {
	if err := jobs.ValidateJobName(job); err != nil {
		return event.Event{}, err
	}
	if req.ExecutionID != "" {
		if err := jobs.ValidateExecutionID(req.ExecutionID); err != nil {
			return event.Event{}, err
		}
	}
	ev := event.New()
	ev.SetID(o.ID)
	if o.ID == "" {
		ev.SetID(newID())
	}
	ev.SetSource(c.source)
	ev.SetType(stage.CommandType())
	ev.SetTime(at.UTC())
	ev.SetExtension("jobtype", job)
	if req.ExecutionID != "" {
		ev.SetSubject(req.ExecutionID)
		ev.SetExtension("executionid", req.ExecutionID)
	}
	if o.SagaID != "" {
		ev.SetExtension("sagaid", o.SagaID)
	}
	if o.ReplyTo != "" {
		ev.SetExtension("replyto", o.ReplyTo)
	}
	injectTrace(ctx, &ev)
	if err := ev.SetData("application/json", req); err != nil {
		return event.Event{}, err
	}
	return ev, nil
}

// Send publishes a command and returns once JetStream stored it. A publish
// that gets no answer (a stream leader election) is sent again with the
// same Nats-Msg-Id for up to the client's publish retry (WithPublishRetry),
// so the caller sees a slower answer rather than an error.
func (c *Client) Send(ctx context.Context, job string, stage jobs.Stage, req *jobs.Request, o SendOptions) (string, error) {
	id, m, err := c.commandMsg(ctx, c.subjects.Command(job, stage.Token()), job, stage, req, o, time.Now())
	if err != nil {
		return "", err
	}
	// Sent again, if at all, before PublishRetrying returns; nats.go has
	// copied it by then.
	_, err = PublishRetrying(ctx, c.js, &m.msg, c.publishRetry)
	m.Release()
	if err != nil {
		return "", PortError("publish command", err)
	}
	return id, nil
}

// Call publishes a command with a replyto and waits for the stage's
// response until ctx ends. The response's Code comes from the `errorcode`
// extension.
//
// When ctx ends before the answer, the command is stored and may still
// run: Call then returns an *UnansweredError together with a response
// that has no answer in it but names the execution the command runs as
// (ExecutionID; Code CodeTimeout): req's executionId, or, for a START or
// EXECUTE without one, the command's id, under which the engine starts
// it. A caller can ask for that execution instead of starting another.
func (c *Client) Call(ctx context.Context, job string, stage jobs.Stage, req *jobs.Request, o SendOptions) (*jobs.Response, error) {
	c.once.Do(c.listen)
	if c.initErr != nil {
		return nil, c.initErr
	}
	// The token only tells this client's waiters apart under its own
	// inbox: a counter does, without a random UUID per call.
	token := strconv.FormatUint(c.seq.Add(1), 36)
	ch := make(chan *nats.Msg, 1)
	c.mu.Lock()
	c.waiting[token] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.waiting, token)
		c.mu.Unlock()
	}()
	o.ReplyTo = c.inbox + "." + token
	id, err := c.Send(ctx, job, stage, req, o)
	if err != nil {
		return nil, err
	}
	select {
	case m := <-ch:
		return DecodeResponse(m.Header, m.Data)
	case <-ctx.Done():
		return &jobs.Response{ExecutionID: runsAs(req, id), Stage: stage, Code: jobs.CodeTimeout},
			&UnansweredError{CommandID: id,
				err: &jobs.Error{Code: jobs.CodeTimeout, Msg: fmt.Sprintf("no answer to %s %s", job, stage), Err: ctx.Err()}}
	}
}

// runsAs is the execution a command with this id runs as: req's
// executionId, else the command's id when that is a valid execution id (as
// Call's random ids are): the engine starts a START or EXECUTE without an
// executionId under its command's id.
func runsAs(req *jobs.Request, commandID string) string {
	if req.ExecutionID != "" {
		return req.ExecutionID
	}
	if jobs.ValidateExecutionID(commandID) != nil {
		return ""
	}
	return commandID
}

// UnansweredError is Call's error when ctx ended before the answer: the
// command is stored and may still run (Call's response then names the
// execution it runs as). It unwraps to a *jobs.Error with CodeTimeout.
type UnansweredError struct {
	CommandID string
	err       error
}

func (e *UnansweredError) Error() string { return e.err.Error() }
func (e *UnansweredError) Unwrap() error { return e.err }

// DecodeResponse reads a JOB_STAGE_RESPONSE CloudEvent. A binary-mode
// reply with the headers as the engine writes them is read from those
// headers directly; anything else goes through Decode.
func DecodeResponse(h nats.Header, body []byte) (*jobs.Response, error) {
	if resp, ok := engineResponse(h, body); ok {
		return resp, nil
	}
	ev, err := Decode(h, body)
	if err != nil {
		return nil, err
	}
	if ev.Type() != jobs.EventStageResponse {
		return nil, fmt.Errorf("%w: reply type %q, want %s", ErrMalformed, ev.Type(), jobs.EventStageResponse)
	}
	var resp jobs.Response
	if err := json.Unmarshal(ev.Data(), &resp); err != nil {
		return nil, fmt.Errorf("%w: reply data: %v", ErrMalformed, err)
	}
	resp.Code = jobs.Code(extString(&ev, "errorcode"))
	return &resp, nil
}

// engineResponse reads a reply as the engine writes it (binary mode,
// lower-case ce-* headers, one value each); false for anything else,
// which DecodeResponse then decodes in full.
func engineResponse(h nats.Header, body []byte) (*jobs.Response, bool) {
	one := func(name string) (string, bool) {
		v := h[name]
		return strings.Join(v, ""), len(v) == 1
	}
	if sv, ok := one(ceHeaderPrefix + "specversion"); !ok || sv != ceSpecVersion {
		return nil, false
	}
	if typ, ok := one(ceHeaderPrefix + "type"); !ok || typ != jobs.EventStageResponse {
		return nil, false
	}
	if ct, ok := one(contentTypeHeader); !ok || ct != "application/json" {
		return nil, false
	}
	var resp jobs.Response
	if err := unmarshalResponse(body, &resp); err != nil {
		return nil, false // let the full path say what is wrong
	}
	if code, ok := h[ceHeaderPrefix+"errorcode"]; ok {
		c, err := url.PathUnescape(strings.Join(code, ""))
		if err != nil || len(code) != 1 {
			return nil, false
		}
		resp.Code = jobs.Code(c)
	}
	return &resp, true
}

// unmarshalResponse decodes a reply's JobStageResponse body with
// github.com/goccy/go-json: what encoding/json would decode, at a sixth of
// the cost (it was a fifth of the REST adapter's CPU per EXECUTE). A
// differential fuzz test (FuzzResponseDecodersAgree) holds the two equal
// on every input both accept; one that it refuses goes on to the full
// path, which decodes with encoding/json and says what is wrong.
func unmarshalResponse(body []byte, resp *jobs.Response) error {
	return gojson.Unmarshal(body, resp)
}

// listen subscribes once to the client's reply subjects.
func (c *Client) listen() {
	c.inbox = c.nc.NewInbox() // under the connection's inbox prefix (nats.inbox-prefix)
	c.sub, c.initErr = c.nc.Subscribe(c.inbox+".*", func(m *nats.Msg) {
		token := m.Subject[len(c.inbox)+1:]
		c.mu.Lock()
		ch := c.waiting[token]
		c.mu.Unlock()
		if ch != nil {
			select {
			case ch <- m:
			default:
			}
		}
	})
}

// Close ends the reply subscription.
func (c *Client) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sub != nil {
		_ = c.sub.Unsubscribe()
		c.sub = nil
	}
}
