package bus

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetjobs/jetjobs/jobs"
)

// Headers added to a dead letter; the original headers (but its Nats-*
// control headers, see isControlHeader) and body are kept.
const (
	HeaderDLQReason     = "Jobs-Dlq-Reason"
	HeaderDLQSubject    = "Jobs-Dlq-Subject"
	HeaderDLQStreamSeq  = "Jobs-Dlq-Stream-Seq"
	HeaderDLQDeliveries = "Jobs-Dlq-Deliveries"
	HeaderDLQTime       = "Jobs-Dlq-Time"
	headerMsgID         = "Nats-Msg-Id"
)

// deadLetters writes to JOBS_DLQ.
type deadLetters struct {
	js       jetstream.JetStream
	subjects Subjects
}

// put stores a dead letter on P.dlq.<job>.<stage>. Tokens that are not a
// valid job name or stage are replaced, so nothing a client sent ever forms
// a subject by itself. The dedup id is the original's stream sequence, so a
// command is dead-lettered at most once.
func (d *deadLetters) put(ctx context.Context, subject string, orig nats.Header, data []byte,
	job, stage, reason string, seq, delivered uint64) error {
	if jobs.ValidateJobName(job) != nil {
		job = "_invalid"
	}
	if st, err := jobs.ParseStage(stage); err != nil || st.Token() != stage {
		stage = "_unknown"
	}
	h := nats.Header{}
	for k, v := range orig {
		if isControlHeader(k) {
			continue
		}
		h[k] = append([]string(nil), v...)
	}
	h.Set(HeaderDLQReason, reason)
	h.Set(HeaderDLQSubject, subject)
	h.Set(HeaderDLQTime, time.Now().UTC().Format(time.RFC3339Nano))
	h.Set(HeaderDLQDeliveries, strconv.FormatUint(delivered, 10))
	if seq > 0 {
		h.Set(HeaderDLQStreamSeq, strconv.FormatUint(seq, 10))
		h.Set(headerMsgID, "dlq-"+strconv.FormatUint(seq, 10))
	} else {
		h.Del(headerMsgID)
	}
	_, err := d.js.PublishMsg(ctx, natsMsg(d.subjects.DLQ(job, stage), h, data))
	return err
}

// isControlHeader reports a header JetStream acts on (Nats-Expected-Stream,
// Nats-Msg-Id, Nats-TTL, Nats-Rollup, ...): a dead letter carries none of
// the original's, or JOBS_DLQ would refuse it or apply them to itself.
func isControlHeader(k string) bool {
	return len(k) >= 5 && strings.EqualFold(k[:5], "Nats-")
}

func natsMsg(subject string, h nats.Header, data []byte) *nats.Msg {
	return &nats.Msg{Subject: subject, Header: h, Data: data}
}

// newID is an id the engine or a client chooses: a command's CloudEvents id
// (which becomes the execution id of a START without one), a reply token.
// A random UUID (122 random bits from crypto/rand), not a NUID, whose
// sequential part lets anyone who saw one id guess its neighbours.
func newID() string { return uuid.NewString() }
