package saga

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/internal/strictjson"
	"github.com/jetjobs/jetjobs/jobs"
)

var commandTypes = map[string]string{"start": CommandStart, "resume": CommandResume, "cancel": CommandCancel}

// handleCommand applies one saga command: start (create the instance unless
// it exists), resume or cancel, then drives the instance. It answers on
// replyto once the state change is stored.
func (c *Coordinator) handleCommand(ctx context.Context, msg jetstream.Msg) error {
	rest, _ := strings.CutPrefix(msg.Subject(), c.cfg.Prefix+".sagacmd.")
	saga, action, _ := strings.Cut(rest, ".")
	ev, err := bus.Decode(msg.Headers(), msg.Data())
	if err != nil {
		return fmt.Errorf("%w: %v", errTerm, err)
	}
	replyTo := extString(&ev, "replyto")
	if replyTo != "" {
		// The answer would be published with the coordinator's
		// credentials: a refused replyto refuses the command, unapplied
		// and unanswered (docs/sagas.md).
		if err := c.cfg.ReplyRule.Check(replyTo); err != nil {
			return fmt.Errorf("%w: %s: %v", errTerm, msg.Subject(), err)
		}
	}
	answer := func(resp Response) {
		resp.Saga = saga
		c.reply(replyTo, resp)
	}
	fail := func(err error) error {
		answer(Response{Error: err.Error(), Code: jobs.CodeOf(err)})
		return nil
	}
	want, ok := commandTypes[action]
	if !ok || ev.Type() != want {
		return fail(jobs.Errorf(jobs.CodeInvalidArgument, "command %q on %s: want SAGA_START, SAGA_RESUME or SAGA_CANCEL on %s.sagacmd.<saga>.<start|resume|cancel>",
			ev.Type(), msg.Subject(), c.cfg.Prefix))
	}
	var cmd CommandData
	if data := bytes.TrimSpace(ev.Data()); len(data) > 0 {
		if err := strictjson.Decode(data, &cmd); err != nil {
			return fail(jobs.Errorf(jobs.CodeInvalidArgument, "command data: %v", err))
		}
	}
	if ext := extString(&ev, "sagaid"); cmd.SagaID != "" && ext != "" && ext != cmd.SagaID {
		return fail(jobs.Errorf(jobs.CodeInvalidArgument, "sagaId %q in data and sagaid extension %q differ", cmd.SagaID, ext))
	}
	cmd.SagaID = firstNonEmpty(cmd.SagaID, extString(&ev, "sagaid"))
	if cmd.SagaID == "" && action == "start" {
		cmd.SagaID = executionIDFor(ev.ID())
	}
	if err := ValidateSagaID(cmd.SagaID); err != nil {
		return fail(err)
	}
	d, ok := c.defs[saga]
	if !ok {
		return fail(jobs.Errorf(jobs.CodeNotFound, "unknown saga %q", saga))
	}
	trace := eventTrace(&ev)
	ctx = traceContext(ctx, trace)
	var in *Instance
	now := time.Now().UTC()
	switch action {
	case "start":
		in, err = c.ensure(ctx, c.store, d, StartRequest{SagaID: cmd.SagaID, Input: cmd.Input, Initiator: cmd.Initiator}, trace, ev.ID())
	case "resume":
		in, err = c.store.modify(ctx, saga, cmd.SagaID, func(in *Instance) (bool, error) { return true, resume(d, in, now) })
	case "cancel":
		in, err = c.store.modify(ctx, saga, cmd.SagaID, func(in *Instance) (bool, error) {
			return true, cancel(d, in, firstNonEmpty(cmd.Reason, "cancelled by "+firstNonEmpty(cmd.Initiator, ev.Source())), now)
		})
	}
	switch {
	case errors.Is(err, jobs.ErrConflict) || errors.Is(err, jobs.ErrNotFound):
		// Not applicable (a saga id taken by another saga, a resume of a
		// saga that is not FAILED): answer; if the instance exists, still
		// drive it, in case an earlier delivery applied this and died.
		_ = fail(err)
		if action == "start" || errors.Is(err, jobs.ErrNotFound) {
			return nil
		}
	case err != nil:
		return err
	default:
		answer(Response{Success: true, SagaID: in.SagaID, Status: in.Status})
	}
	return c.drive(ctx, d, saga, cmd.SagaID)
}

// executionIDFor turns a command id into a saga id when it is a valid one.
func executionIDFor(id string) string {
	if ValidateSagaID(id) == nil {
		return id
	}
	return jobs.NewExecutionID()
}

// reply publishes a command's answer as a CloudEvent on core NATS.
func (c *Coordinator) reply(replyTo string, resp Response) {
	if replyTo == "" {
		return
	}
	ev := event.New()
	ev.SetID(jobs.NewExecutionID())
	ev.SetSource(c.cfg.Source + "/" + resp.Saga)
	ev.SetType(ResponseType)
	ev.SetTime(time.Now().UTC())
	if resp.SagaID != "" {
		ev.SetSubject(resp.SagaID)
		ev.SetExtension("sagaid", resp.SagaID)
	}
	if resp.Code != "" {
		ev.SetExtension("errorcode", string(resp.Code))
	}
	if err := ev.SetData("application/json", resp); err != nil {
		return
	}
	h, body, err := bus.Encode(ev)
	if err != nil {
		return
	}
	h.Del(nats.MsgIdHdr)
	if err := c.js.Conn().PublishMsg(&nats.Msg{Subject: replyTo, Header: h, Data: body}); err != nil {
		c.log.Warn().Err(err).Str("replyto", replyTo).Msg("saga command answer not sent")
	}
}
