package bus

import (
	"bytes"
	"context"
	"fmt"
	"runtime/debug"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/jetjobs/jetjobs/jobs"
)

// badCommand is a command that can never run: it goes to the DLQ.
type badCommand struct {
	job, stage, reason string
	replyTo            string
	executionID        string
}

// decodeCommand turns a command message into a jobs.Command, or says why it
// cannot be one.
// A replyto that rule refuses makes the command bad, and is dropped so that
// nothing is ever published to it.
// Its Delivery is for the caller to set.
func decodeCommand(prefix string, rule *ReplyRule, subject string, h nats.Header, body []byte, ev *inEvent, decodeErr error) (*jobs.Command, string, *badCommand) {
	rest, _ := strings.CutPrefix(subject, prefix+".cmd.")
	job, stageTok, _ := strings.Cut(rest, ".")
	bad := badCommand{job: job, stage: stageTok} // a value: only a bad command pays for its allocation
	if decodeErr != nil {
		// Not a CloudEvent, but a readable replyto still gets the reason:
		// the caller would otherwise wait for its own timeout.
		bad.reason = decodeErr.Error()
		bad.replyTo = salvageReplyTo(h, body)
		return nil, "", bad.escape()
	}
	if rt := ev.extString("replyto"); rt != "" {
		if err := rule.Check(rt); err != nil {
			bad.reason = err.Error()
			return nil, "", bad.escape()
		}
		bad.replyTo = rt
	}
	stage, ok := stageOfToken(stageTok)
	if !ok {
		bad.reason = fmt.Sprintf("unknown stage %q in subject %s (want start, check, collect, result, stop or execute)", stageTok, subject)
		return nil, "", bad.escape()
	}
	if !isCommandType(ev.typ, stage) {
		bad.reason = fmt.Sprintf("command type %q does not match subject stage %q (want %s)", ev.typ, stageTok, stage.CommandType())
		return nil, "", bad.escape()
	}
	if ct := ev.dct; ct != "" && !strings.HasPrefix(ct, "application/json") {
		bad.reason = fmt.Sprintf("unsupported datacontenttype %q: want application/json", ct)
		return nil, "", bad.escape()
	}
	var req jobs.Request
	if data := bytes.TrimSpace(ev.data); len(data) > 0 {
		if err := jobs.DecodeRequestInto(data, &req); err != nil {
			bad.reason = "data is not a valid JobStageRequest: " + err.Error()
			return nil, "", bad.escape()
		}
	}
	ext := ev.extString("executionid")
	switch {
	case req.ExecutionID == "" && ext != "":
		req.ExecutionID = ext
	case req.ExecutionID != "" && ext != "" && ext != req.ExecutionID:
		bad.reason = fmt.Sprintf("executionId %q in data and executionid extension %q differ", req.ExecutionID, ext)
		return nil, "", bad.escape()
	}
	if req.ExecutionID == "" && stage != jobs.StageStart && stage != jobs.StageExecute {
		req.ExecutionID = ev.subject
	}
	bad.executionID = req.ExecutionID
	if req.ExecutionID != "" {
		if err := jobs.ValidateExecutionID(req.ExecutionID); err != nil {
			bad.reason = err.Error()
			return nil, "", bad.escape()
		}
	} else if stage != jobs.StageStart && stage != jobs.StageExecute {
		bad.reason = fmt.Sprintf("%s needs an executionId (data, executionid extension or subject)", stage)
		return nil, "", bad.escape()
	}
	cmd := &jobs.Command{ID: ev.id, JobType: job, Stage: stage, Request: req, SagaID: ev.extString("sagaid"),
		ReplayedBy: ev.extString(ExtReplayedBy), ReplayOf: ev.extString(ExtReplayOf)}
	return cmd, bad.replyTo, nil
}

// escape is the bad command as decodeCommand returns it.
func (b badCommand) escape() *badCommand { return &b }

// isCommandType reports whether typ is stage.CommandType() without
// building that string.
func isCommandType(typ string, stage jobs.Stage) bool {
	rest, ok := strings.CutPrefix(typ, "JOB_")
	return ok && rest == string(stage)
}

// stageOfToken is the stage whose Token is tok, as jobs.ParseStage
// followed by a Token check, without the two case conversions.
func stageOfToken(tok string) (jobs.Stage, bool) {
	for _, st := range jobs.Stages {
		if len(tok) == len(st) && hasPrefixFold(string(st), tok) {
			return st, true
		}
	}
	return "", false
}

// handleCommand is the life of one command message: decode, run, reply,
// ack, in that order, so nothing is acknowledged before its state is stored.
// A panic anywhere in it is a poison delivery, not a crash.
func (w *Worker) handleCommand(msg jetstream.Msg) {
	ctx := w.ctx
	var cmd *jobs.Command
	var replyTo string
	defer func() {
		if v := recover(); v != nil {
			err := &jobs.PanicError{Value: v, Stack: debug.Stack()}
			w.log.Error().Str("subject", msg.Subject()).Str("panic", fmt.Sprint(v)).Bytes("stack", err.Stack).
				Msg("command handling panicked; redelivering")
			if cmd == nil {
				cmd = &jobs.Command{}
				if meta, merr := msg.Metadata(); merr == nil {
					cmd.Delivery = int(meta.NumDelivered)
				}
			}
			w.retryLater(ctx, msg, cmd, replyTo, err)
		}
	}()
	h, body := msg.Headers(), msg.Data()
	ev, decodeErr := decodeInEvent(h, body)
	var bad *badCommand
	cmd, replyTo, bad = decodeCommand(w.cfg.Prefix, w.cfg.ReplyRule, msg.Subject(), h, body, &ev, decodeErr)
	if bad != nil {
		w.reject(ctx, msg, bad)
		return
	}
	if meta, err := msg.Metadata(); err == nil {
		cmd.Delivery = int(meta.NumDelivered)
	}
	if w.delayStart(ctx, msg, &ev, cmd, replyTo) { // a START with startat or delay (delayed.go)
		return
	}
	ctx = contextFromCommand(ctx, &ev)
	ctx, span := w.cfg.Tracer.Start(ctx, "process "+msg.Subject(), trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(attribute.String("messaging.system", "nats"),
			attribute.String("messaging.destination.name", msg.Subject()),
			attribute.String("messaging.message.id", cmd.ID),
			attribute.String("jetjobs.job_type", cmd.JobType), attribute.String("jetjobs.stage", string(cmd.Stage)),
			attribute.String("jetjobs.execution_id", cmd.Request.ExecutionID)))
	defer span.End()
	stop := KeepAlive(msg, w.cfg.AckWait)
	defer stop() // also on a panic
	ctx, pipe := withPipeline(ctx, w.acks)
	resp, err := w.rt.HandleBatch(ctx, jobs.NewBatch(pipe), cmd) // waits for the pipeline
	if err == nil && cmd.ReplayedBy != "" {
		// A replay from the DLQ also resumes its execution (jobs/resume.go).
		err = w.rt.ResumeBatch(ctx, jobs.NewBatch(pipe), cmd)
	}
	stop()
	if err == nil && resp.Code.Refusal() && replyTo == "" {
		// Refused before it ran (breaker open, limiter, bulkhead) and nobody
		// is waiting for an answer: keep the command and try it later
		// rather than lose it.
		err = &refusedError{code: resp.Code, msg: resp.ErrorText()}
	}
	if err != nil {
		w.answerStorageFull(ctx, replyTo, cmd, err)
		w.retryLater(ctx, msg, cmd, replyTo, err)
		return
	}
	w.reply(ctx, replyTo, cmd.JobType, resp)
	w.poison.forget(streamSeq(msg))
	if err := msg.Ack(); err != nil {
		w.log.Warn().Err(err).Str("jobType", cmd.JobType).Str("executionId", resp.ExecutionID).Msg("ack failed; the command will be redelivered")
	}
}

// refusedError is a command refused before it ran with nobody to tell:
// an open breaker, the rate limiter, a full bulkhead. It is waited out.
type refusedError struct {
	code jobs.Code
	msg  string
}

func (e *refusedError) Error() string { return e.msg }

// Is makes a refusal match its jobs sentinel (jobs.ErrUnavailable,
// jobs.ErrRejected).
func (e *refusedError) Is(target error) bool {
	t, ok := target.(*jobs.Error)
	return ok && t.Msg == "" && t.Err == nil && t.Code == e.code
}

func streamSeq(msg jetstream.Msg) uint64 {
	if meta, err := msg.Metadata(); err == nil {
		return meta.Sequence.Stream
	}
	return 0
}

// retryLater handles a command the runtime could not process. An outage (a
// port error, a refusal) is waited out: redelivered on the backoff
// schedule however long it lasts. Poison (see classify) is redelivered
// too, and dead-lettered on its max-deliver-th poison delivery.
func (w *Worker) retryLater(ctx context.Context, msg jetstream.Msg, cmd *jobs.Command, replyTo string, err error) {
	delay := redeliveryDelay(w.cfg.RedeliveryBackoff, cmd.Delivery)
	if classify(err) == poisonous {
		seq := streamSeq(msg)
		n := w.poison.add(seq)
		log := w.log.Warn().Err(err).Str("jobType", cmd.JobType).Str("stage", string(cmd.Stage)).
			Str("executionId", cmd.Request.ExecutionID).Int("delivery", cmd.Delivery).Int("poisonDeliveries", n)
		if n >= w.cfg.MaxDeliver {
			log.Msg("command failed permanently: dead-lettered")
			w.reject(ctx, msg, &badCommand{job: cmd.JobType, stage: cmd.Stage.Token(), replyTo: replyTo,
				executionID: cmd.Request.ExecutionID,
				reason:      fmt.Sprintf("failed on %d deliveries: %v", n, err)})
			return
		}
		log.Dur("retryIn", delay).Msg("command failed; redelivering")
		_ = msg.NakWithDelay(delay)
		return
	}
	w.waitOut(cmd, err, delay)
	_ = msg.NakWithDelay(delay)
}

// waitOut logs a command put back to wait for an outage to end: the first
// ones in full, then a line per interval with how many were held back.
func (w *Worker) waitOut(cmd *jobs.Command, err error, delay time.Duration) {
	ok, held := w.waitLog.allow(time.Now())
	if !ok {
		return
	}
	w.log.Warn().Err(err).Str("jobType", cmd.JobType).Str("stage", string(cmd.Stage)).
		Str("executionId", cmd.Request.ExecutionID).Int("delivery", cmd.Delivery).Dur("retryIn", delay).
		Int("alsoWaiting", held).Msg("command not processed (a dependency is unavailable); redelivering")
}

// reject dead-letters a command, answers its replyto if it had one, and acks
// it so it never blocks the consumer.
func (w *Worker) reject(ctx context.Context, msg jetstream.Msg, bad *badCommand) {
	meta, _ := msg.Metadata()
	var seq, delivered uint64
	if meta != nil {
		seq, delivered = meta.Sequence.Stream, meta.NumDelivered
	}
	if err := w.deadLetter(ctx, msg.Subject(), msg.Headers(), msg.Data(), seq, delivered, bad); err != nil {
		// The dead letter is not stored: let the server redeliver rather
		// than lose the command.
		// The dead letter is not stored: the command stays in the command
		// stream and is tried again (the consumer has no max-deliver).
		w.log.Error().Err(err).Str("subject", msg.Subject()).Msg("dead-lettering failed; redelivering")
		_ = msg.NakWithDelay(redeliveryDelay(w.cfg.RedeliveryBackoff, int(delivered)))
		return
	}
	w.poison.forget(seq)
	_ = msg.Ack()
}

// deadLetter stores a command in the DLQ with its reason and answers its
// replyto, if it had one.
func (w *Worker) deadLetter(ctx context.Context, subject string, h nats.Header, data []byte, seq, delivered uint64, bad *badCommand) error {
	w.log.Warn().Str("subject", subject).Str("reason", bad.reason).Msg("command dead-lettered")
	if err := w.dlq.put(ctx, subject, h, data, bad.job, bad.stage, bad.reason, seq, delivered); err != nil {
		return err
	}
	if bad.replyTo != "" {
		resp := &jobs.Response{Success: false, ExecutionID: bad.executionID, Timestamp: time.Now().UTC(),
			Error: &bad.reason, Code: jobs.CodeInvalidArgument}
		if st, err := jobs.ParseStage(bad.stage); err == nil {
			resp.Stage = st
		}
		w.reply(ctx, bad.replyTo, bad.job, resp)
	}
	return nil
}

// reply publishes a stage's JobStageResponse as a CloudEvent on the
// command's replyto subject (core NATS: the caller is waiting on it).
func (w *Worker) reply(ctx context.Context, replyTo, job string, resp *jobs.Response) {
	if replyTo == "" {
		return
	}
	if err := w.cfg.ReplyRule.Check(replyTo); err != nil {
		w.log.Warn().Err(err).Msg("no reply sent")
		return
	}
	h, body, err := w.encodeReply(ctx, job, resp)
	if err == nil && int64(len(body)) > w.nc.MaxPayload()-replyHeadroom {
		// Too large for one message: answer without the data, which the
		// result store keeps for a RESULT call.
		cp := *resp
		cp.Data = nil
		note := fmt.Sprintf("%s (%d bytes): the REST adapter answers it in full from the JOBS_RESULTS bucket", LargeDataNote, len(body))
		if cp.Error != nil { // e.g. the result was too large to be stored at all
			note = *cp.Error + "; " + note
		}
		cp.Error = &note
		h, body, err = w.encodeReply(ctx, job, &cp)
	}
	if err != nil {
		w.log.Error().Err(err).Msg("encoding a stage response failed")
		return
	}
	h.Del(headerMsgID) // core NATS: dedup ids mean nothing here
	if err := w.nc.PublishMsg(natsMsg(replyTo, h, body)); err != nil {
		w.log.Warn().Err(err).Str("replyto", replyTo).Msg("reply not sent")
	}
}

// LargeDataNote starts the error of an answer sent without its data
// because the data does not fit in one NATS message.
const LargeDataNote = "the data is larger than a NATS message"

// replyHeadroom leaves room for the headers of a reply under the NATS
// max payload.
const replyHeadroom = 8 << 10

func (w *Worker) encodeReply(ctx context.Context, job string, resp *jobs.Response) (nats.Header, []byte, error) {
	return encodeResponse(ctx, w.source(job), job, newID(), time.Now(), resp)
}

// encodeResponse writes a JobStageResponse as a binary-mode CloudEvent of
// type JOB_STAGE_RESPONSE, directly: the same headers and body Encode
// writes for the SDK event (a test holds them equal), without building
// one per reply.
func encodeResponse(ctx context.Context, source, job, id string, at time.Time, resp *jobs.Response) (nats.Header, []byte, error) {
	body, err := MarshalJSON(resp, resp.Data)
	if err != nil {
		return nil, nil, err
	}
	b := newBinaryHeaders(id, source, jobs.EventStageResponse, at)
	if resp.ExecutionID != "" {
		b.set("subject", resp.ExecutionID)
		b.set("executionid", resp.ExecutionID)
	}
	if jobs.ValidateJobName(job) == nil {
		b.set("jobtype", job)
	}
	if resp.Code != "" {
		b.set("errorcode", string(resp.Code))
	}
	h, err := b.done(ctx)
	if err != nil {
		return nil, nil, err
	}
	return h, body, nil
}

// extString reads an extension as a string. It reads the context's map
// directly: Event.Extensions() copies it on every call.
func extString(ev *event.Event, name string) string {
	if ev.Context == nil {
		return ""
	}
	// Not AsV1() nor GetExtensions(): they copy the context or the map.
	if v, ok := contextV1(*ev).Extensions[name]; ok {
		if s, ok := v.(string); ok {
			return s
		}
		return fmt.Sprint(v)
	}
	return ""
}

// validPublishSubject accepts a subject we may publish to: non-empty tokens,
// no wildcards, no white space.
func validPublishSubject(s string) bool {
	if s == "" || len(s) > 1024 {
		return false
	}
	for _, tok := range strings.Split(s, ".") {
		if tok == "" || tok == "*" || tok == ">" || strings.ContainsAny(tok, " \t\r\n") {
			return false
		}
	}
	return true
}
