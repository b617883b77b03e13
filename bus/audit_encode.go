package bus

import (
	"github.com/jetjobs/jetjobs/internal/fastjson"
	"github.com/jetjobs/jetjobs/jobs"
)

// appendAuditEntries appends entries as encoding/json writes the slice,
// written by hand: the entries of every command go through here, and the
// general encoder (goccy's, reflection-driven) was half the cost of the
// audit append. false (b unchanged) for an entry it leaves to the general
// encoder: one with parameters that are not plain JSON (a job's own
// types; fastjson.AppendPlain), a time or duration encoding/json refuses.
// TestAppendAuditEntries holds it to encoding/json.
func appendAuditEntries(b []byte, entries []*jobs.AuditEntry) ([]byte, bool) {
	start := len(b)
	b = append(b, '[')
	for i, e := range entries {
		if i > 0 {
			b = append(b, ',')
		}
		var ok bool
		if b, ok = appendAuditEntry(b, e); !ok {
			return b[:start], false
		}
	}
	return append(b, ']'), true
}

// appendAuditEntry writes the fields of jobs.AuditEntry in their order,
// with their omitempty rules.
func appendAuditEntry(b []byte, e *jobs.AuditEntry) ([]byte, bool) {
	if e == nil {
		return append(b, "null"...), true
	}
	var ok bool
	b = append(b, `{"executionId":`...)
	b = fastjson.AppendString(b, e.ExecutionID)
	b = append(b, `,"jobType":`...)
	b = fastjson.AppendString(b, e.JobType)
	b = append(b, `,"stage":`...)
	b = fastjson.AppendString(b, string(e.Stage))
	if e.Status != "" {
		b = append(b, `,"status":`...)
		b = fastjson.AppendString(b, string(e.Status))
	}
	b = append(b, `,"outcome":`...)
	b = fastjson.AppendString(b, e.Outcome)
	b = append(b, `,"startedAt":`...)
	if b, ok = fastjson.AppendTime(b, e.StartedAt); !ok {
		return b, false
	}
	b = append(b, `,"endedAt":`...)
	if b, ok = fastjson.AppendTime(b, e.EndedAt); !ok {
		return b, false
	}
	b = append(b, `,"durationMs":`...)
	if b, ok = fastjson.AppendFloat64(b, e.DurationMs); !ok {
		return b, false
	}
	b = append(b, `,"attempt":`...)
	b = fastjson.AppendInt(b, int64(e.Attempt))
	if len(e.Parameters) > 0 {
		b = append(b, `,"parameters":`...)
		if b, ok = fastjson.AppendPlain(b, e.Parameters); !ok {
			return b, false
		}
	}
	b = fastjson.AppendOmitEmpty(b, `,"message":`, e.Message)
	b = fastjson.AppendOmitEmpty(b, `,"error":`, e.Error)
	b = fastjson.AppendOmitEmpty(b, `,"errorType":`, string(e.ErrorType))
	b = fastjson.AppendOmitEmpty(b, `,"stackTrace":`, e.StackTrace)
	b = fastjson.AppendOmitEmpty(b, `,"requestId":`, e.RequestID)
	b = fastjson.AppendOmitEmpty(b, `,"initiator":`, e.Initiator)
	if len(e.Metadata) > 0 {
		b = append(b, `,"metadata":`...)
		b = fastjson.AppendStringMap(b, e.Metadata)
	}
	b = fastjson.AppendOmitEmpty(b, `,"sagaId":`, e.SagaID)
	return append(b, '}'), true
}
