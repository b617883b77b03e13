package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetjobs/jetjobs/internal/fastjson"
	"github.com/jetjobs/jetjobs/jobs"
)

// StreamAudit keeps the audit trail: one subject per execution,
// P.audit.<job>.<executionId>, max age = persistence.audit-retention-days.
const StreamAudit = "JOBS_AUDIT"

// EnsureAuditStream creates or updates JOBS_AUDIT; maxAge 0 keeps entries
// forever, maxBytes 0 bounds no size (a full trail drops its oldest
// entries). Changing the retention takes effect on the next start.
func EnsureAuditStream(ctx context.Context, js jetstream.JetStream, prefix string, replicas int, maxAge time.Duration, maxBytes int64) error {
	if maxBytes <= 0 {
		maxBytes = -1
	}
	_, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: StreamAudit, Description: "jetjobs audit trail, one subject per execution",
		Subjects: []string{prefix + ".audit.>"}, Retention: jetstream.LimitsPolicy, MaxAge: maxAge,
		MaxBytes: maxBytes, Discard: jetstream.DiscardOld,
		Replicas: max(replicas, 1), Storage: jetstream.FileStorage,
	})
	if err != nil {
		return StreamError(StreamAudit, err)
	}
	return nil
}

// AuditLog appends audit entries to JOBS_AUDIT and reads them back. It
// implements jobs.AuditSink.
type AuditLog struct {
	js       jetstream.JetStream
	subjects Subjects
}

var _ jobs.AuditSink = (*AuditLog)(nil)

// NewAuditLog writes under prefix.
func NewAuditLog(js jetstream.JetStream, prefix string) *AuditLog {
	return &AuditLog{js: js, subjects: Subjects{Prefix: prefix}}
}

// Append stores the entries of one execution as one message: a JSON array,
// so the stages one command ran cost one write.
func (a *AuditLog) Append(ctx context.Context, entries ...*jobs.AuditEntry) error {
	if len(entries) == 0 {
		return nil
	}
	e := entries[0]
	m := NewOutMsg(a.subjects.Audit(e.JobType, e.ExecutionID))
	if b, ok := appendAuditEntries(m.data.B[:0], entries); ok {
		m.data.B, m.msg.Data = b, b
	} else if err := m.EncodeJSON(entries, auditUserData(entries)); err != nil {
		m.Release()
		return fmt.Errorf("bus: encode audit entry: %w", err)
	}
	m.SetHeader(contentTypeHeader, "application/json")
	return PublishOut(ctx, a.js, m)
}

// auditUserData is what MarshalJSON needs to know of entries' parameters:
// its fast path holds when every entry's parameters are plain JSON; one
// that is not is passed on, to take the other path.
func auditUserData(entries []*jobs.AuditEntry) any {
	for _, e := range entries {
		if !fastjson.Plain(e.Parameters) {
			return e.Parameters
		}
	}
	return nil
}

// Entries reads an execution's audit trail in order. An execution with no
// entry (or none left after retention) gives an empty list.
func (a *AuditLog) Entries(ctx context.Context, job, executionID string) ([]jobs.AuditEntry, error) {
	if err := jobs.ValidateJobName(job); err != nil {
		return nil, err
	}
	if err := jobs.ValidateExecutionID(executionID); err != nil {
		return nil, err
	}
	subject := a.subjects.Audit(job, executionID)
	stream, err := a.js.Stream(ctx, StreamAudit)
	if err != nil {
		return nil, &jobs.Error{Code: jobs.CodeUnavailable, Msg: "audit stream", Err: err}
	}
	last, err := stream.GetLastMsgForSubject(ctx, subject)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return []jobs.AuditEntry{}, nil
	}
	if err != nil {
		return nil, &jobs.Error{Code: jobs.CodeUnavailable, Msg: "audit stream", Err: err}
	}
	cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}})
	if err != nil {
		return nil, &jobs.Error{Code: jobs.CodeUnavailable, Msg: "audit stream", Err: err}
	}
	var out []jobs.AuditEntry
	for {
		wait := 5 * time.Second
		if dl, ok := ctx.Deadline(); ok {
			wait = time.Until(dl)
		}
		msg, err := cons.Next(jetstream.FetchMaxWait(max(wait, time.Millisecond)))
		if err != nil {
			return nil, &jobs.Error{Code: jobs.CodeUnavailable, Msg: "reading the audit trail", Err: err}
		}
		var batch []jobs.AuditEntry
		if err := json.Unmarshal(msg.Data(), &batch); err == nil {
			out = append(out, batch...)
		}
		meta, err := msg.Metadata()
		if err != nil || meta.Sequence.Stream >= last.Sequence {
			return out, nil
		}
	}
}
