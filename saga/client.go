package saga

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/jobs"
)

// Saga command types, on P.sagacmd.<saga>.<start|resume|cancel>, and the
// type of the answer published on a command's replyto subject.
const (
	CommandStart  = "SAGA_START"
	CommandResume = "SAGA_RESUME"
	CommandCancel = "SAGA_CANCEL"
	ResponseType  = "SAGA_RESPONSE"
)

// CommandData is the data of a saga command.
type CommandData struct {
	SagaID    string         `json:"sagaId,omitempty"` // start: default a random UUID; resume, cancel: required
	Input     map[string]any `json:"input,omitempty"`  // start
	Initiator string         `json:"initiator,omitempty"`
	Reason    string         `json:"reason,omitempty"` // cancel
}

// Response answers a saga command that had a replyto.
type Response struct {
	Success bool      `json:"success"`
	Saga    string    `json:"saga"`
	SagaID  string    `json:"sagaId,omitempty"`
	Status  Status    `json:"status,omitempty"`
	Error   string    `json:"error,omitempty"`
	Code    jobs.Code `json:"code,omitempty"`
}

// ClientOptions configure a Client; zero values take the defaults.
type ClientOptions struct {
	Prefix string // jobs
	Bucket string // SAGAS
	Source string // /jetjobs/saga: CloudEvents source of the commands
}

// Client starts and watches sagas from any process with a NATS connection:
// it publishes saga commands and reads the SAGAS bucket. It needs no
// coordinator of its own.
type Client struct {
	js   jetstream.JetStream
	opts ClientOptions
	subj bus.Subjects

	mu sync.Mutex
	st *store
}

// NewClient returns a client on an open JetStream context.
func NewClient(js jetstream.JetStream, o ClientOptions) *Client {
	if o.Prefix == "" {
		o.Prefix = "jobs"
	}
	if o.Bucket == "" {
		o.Bucket = Bucket
	}
	if o.Source == "" {
		o.Source = "/jetjobs/saga"
	}
	return &Client{js: js, opts: o, subj: bus.Subjects{Prefix: o.Prefix}}
}

// Start sends SAGA_START and returns the saga id once the command is
// stored. A coordinator creates the instance soon after (Get, Wait);
// starting an id that exists changes nothing.
func (c *Client) Start(ctx context.Context, saga string, req StartRequest) (string, error) {
	_, id, err := c.start(ctx, saga, req)
	return id, err
}

// start returns the command's id too: the instance records which start
// created it.
func (c *Client) start(ctx context.Context, saga string, req StartRequest) (cmdID, sagaID string, err error) {
	if req.SagaID == "" {
		req.SagaID = jobs.NewExecutionID()
	}
	cmdID = jobs.NewExecutionID()
	err = c.send(ctx, saga, "start", cmdID, "", CommandData{SagaID: req.SagaID, Input: req.Input, Initiator: req.Initiator})
	return cmdID, req.SagaID, err
}

// Resume sends SAGA_RESUME: retry the failed compensations of a FAILED saga.
func (c *Client) Resume(ctx context.Context, saga, sagaID string) error {
	return c.send(ctx, saga, "resume", "", "", CommandData{SagaID: sagaID})
}

// Cancel sends SAGA_CANCEL: stop a RUNNING saga and undo its completed steps.
func (c *Client) Cancel(ctx context.Context, saga, sagaID, reason string) error {
	return c.send(ctx, saga, "cancel", "", "", CommandData{SagaID: sagaID, Reason: reason})
}

// Request sends a command (action start, resume or cancel) with a replyto
// and waits for the coordinator's answer: it has applied the command, or
// says why not (unknown saga, a resume of a saga that is not FAILED).
func (c *Client) Request(ctx context.Context, saga, action string, data CommandData) (*Response, error) {
	if action == "start" && data.SagaID == "" {
		data.SagaID = jobs.NewExecutionID()
	}
	nc := c.js.Conn()
	inbox := nc.NewRespInbox()
	sub, err := nc.SubscribeSync(inbox)
	if err != nil {
		return nil, &jobs.Error{Code: jobs.CodeUnavailable, Msg: "subscribe for the answer", Err: err}
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := c.send(ctx, saga, action, "", inbox, data); err != nil {
		return nil, err
	}
	m, err := sub.NextMsgWithContext(ctx)
	if err != nil {
		return nil, &jobs.Error{Code: jobs.CodeTimeout, Msg: fmt.Sprintf("no answer to %s of saga %s %s (is a coordinator running it?); "+
			"the command was sent and a coordinator may still apply it: look the saga up by that id", action, saga, data.SagaID), Err: err}
	}
	ev, err := bus.Decode(m.Header, m.Data)
	if err != nil {
		return nil, err
	}
	var resp Response
	if err := json.Unmarshal(ev.Data(), &resp); err != nil {
		return nil, fmt.Errorf("saga: answer: %w", err)
	}
	return &resp, nil
}

func (c *Client) send(ctx context.Context, saga, action, id, replyTo string, data CommandData) error {
	typ, ok := commandTypes[action]
	if !ok {
		return jobs.Errorf(jobs.CodeInvalidArgument, "unknown saga command %q (want start, resume or cancel)", action)
	}
	if err := ValidateSagaName(saga); err != nil {
		return err
	}
	if err := ValidateSagaID(data.SagaID); err != nil {
		return err
	}
	ev := event.New()
	ev.SetID(firstNonEmpty(id, jobs.NewExecutionID()))
	ev.SetSource(c.opts.Source)
	ev.SetType(typ)
	ev.SetTime(time.Now().UTC())
	ev.SetSubject(data.SagaID)
	ev.SetExtension("sagaid", data.SagaID)
	if replyTo != "" {
		ev.SetExtension("replyto", replyTo)
	}
	for k, v := range captureTrace(ctx) {
		ev.SetExtension(k, v)
	}
	if err := ev.SetData("application/json", data); err != nil {
		return err
	}
	h, body, err := bus.Encode(ev)
	if err != nil {
		return err
	}
	// Resent with the same Nats-Msg-Id while JetStream does not answer (an
	// election), so a caller sees a slower answer rather than an error.
	msg := &nats.Msg{Subject: c.subj.Prefix + ".sagacmd." + saga + "." + action, Header: h, Data: body}
	if _, err := bus.PublishRetrying(ctx, c.js, msg, bus.DefaultPublishRetry); err != nil {
		return &jobs.Error{Code: jobs.CodeUnavailable, Msg: "publish " + typ, Err: err}
	}
	return nil
}

func (c *Client) store(ctx context.Context) (*store, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.st != nil {
		return c.st, nil
	}
	st, err := bindStore(ctx, c.js, c.opts.Bucket)
	if err != nil {
		return nil, err
	}
	c.st = st
	return st, nil
}

// Get reads an instance; an error matching jobs.ErrNotFound if there is
// none (yet).
func (c *Client) Get(ctx context.Context, saga, sagaID string) (*Instance, error) {
	if err := ValidateSagaID(sagaID); err != nil {
		return nil, err
	}
	st, err := c.store(ctx)
	if err != nil {
		return nil, err
	}
	in, _, err := st.get(ctx, saga, sagaID)
	return in, err
}

// List returns the ids of a saga's instances.
func (c *Client) List(ctx context.Context, saga string) ([]string, error) {
	if err := ValidateSagaName(saga); err != nil {
		return nil, err
	}
	st, err := c.store(ctx)
	if err != nil {
		return nil, err
	}
	return st.list(ctx, saga)
}

// Wait watches an instance until done says so (nil: until it is terminal)
// or ctx ends, and returns its last state.
func (c *Client) Wait(ctx context.Context, saga, sagaID string, done func(*Instance) bool) (*Instance, error) {
	if done == nil {
		done = func(in *Instance) bool { return in.Status.Terminal() }
	}
	if err := ValidateSagaID(sagaID); err != nil {
		return nil, err
	}
	st, err := c.store(ctx)
	if err != nil {
		return nil, err
	}
	w, err := st.kv.Watch(ctx, key(saga, sagaID))
	if err != nil {
		return nil, translate(err)
	}
	defer func() { _ = w.Stop() }()
	var last *Instance
	for {
		select {
		case e, ok := <-w.Updates():
			if !ok {
				return last, errors.New("saga: watch ended")
			}
			if e == nil || e.Operation() != jetstream.KeyValuePut {
				continue // nil marks the end of the initial values
			}
			var in Instance
			if err := json.Unmarshal(e.Value(), &in); err != nil {
				return last, fmt.Errorf("saga: instance %s: %w", e.Key(), err)
			}
			last = &in
			if done(last) {
				return last, nil
			}
		case <-ctx.Done():
			return last, &jobs.Error{Code: jobs.CodeTimeout, Msg: fmt.Sprintf("saga %s/%s: still waiting", saga, sagaID), Err: ctx.Err()}
		}
	}
}

func natsMsg(subject string, data []byte) *nats.Msg {
	return &nats.Msg{Subject: subject, Header: nats.Header{}, Data: data}
}
