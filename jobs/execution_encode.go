package jobs

import "github.com/jetjobs/jetjobs/internal/fastjson"

// AppendJSON appends the record as encoding/json writes it, by hand: the
// record is written at least once per job, and the general encoder
// (reflection-driven) cost about twice as much. false (b unchanged) when
// it leaves the record to the general encoder: parameters that are not
// plain JSON (fastjson.Plain), a time encoding/json refuses.
// TestExecutionAppendJSON holds it to encoding/json, with every field set.
func (e *Execution) AppendJSON(b []byte) ([]byte, bool) {
	start := len(b)
	b = append(b, `{"executionId":`...)
	b = fastjson.AppendString(b, e.ExecutionID)
	b = append(b, `,"jobType":`...)
	b = fastjson.AppendString(b, e.JobType)
	b = append(b, `,"mode":`...)
	b = fastjson.AppendString(b, e.Mode)
	b = append(b, `,"status":`...)
	b = fastjson.AppendString(b, string(e.Status))
	b = append(b, `,"lastStage":`...)
	b = fastjson.AppendString(b, string(e.LastStage))
	var ok bool
	if len(e.Parameters) > 0 {
		b = append(b, `,"parameters":`...)
		if b, ok = fastjson.AppendPlain(b, e.Parameters); !ok {
			return b[:start], false
		}
	}
	b = append(b, `,"progressPercentage":`...)
	b = fastjson.AppendInt(b, int64(e.ProgressPercentage))
	b = fastjson.AppendOmitEmpty(b, `,"message":`, e.Message)
	b = fastjson.AppendOmitEmpty(b, `,"error":`, e.Error)
	b = fastjson.AppendOmitEmpty(b, `,"requestId":`, e.RequestID)
	b = fastjson.AppendOmitEmpty(b, `,"initiator":`, e.Initiator)
	if len(e.Metadata) > 0 {
		b = append(b, `,"metadata":`...)
		b = fastjson.AppendStringMap(b, e.Metadata)
	}
	b = fastjson.AppendOmitEmpty(b, `,"sagaId":`, e.SagaID)
	b = fastjson.AppendOmitEmpty(b, `,"commandId":`, e.CommandID)
	b = append(b, `,"attempts":`...)
	b = fastjson.AppendInt(b, int64(e.Attempts))
	b = append(b, `,"checks":`...)
	b = fastjson.AppendInt(b, int64(e.Checks))
	b = append(b, `,"createdAt":`...)
	if b, ok = fastjson.AppendTime(b, e.CreatedAt); !ok {
		return b[:start], false
	}
	b = append(b, `,"updatedAt":`...)
	if b, ok = fastjson.AppendTime(b, e.UpdatedAt); !ok {
		return b[:start], false
	}
	if e.EndedAt != nil {
		b = append(b, `,"endedAt":`...)
		if b, ok = fastjson.AppendTime(b, *e.EndedAt); !ok {
			return b[:start], false
		}
	}
	b = append(b, `,"deadline":`...)
	if b, ok = fastjson.AppendTime(b, e.Deadline); !ok {
		return b[:start], false
	}
	if e.TerminalEventSent {
		b = append(b, `,"terminalEventSent":true`...)
	}
	if e.Pending {
		b = append(b, `,"pending":true`...)
	}
	return append(b, '}'), true
}

// AppendJSON appends the result as encoding/json writes it, by hand, for
// the same reason as Execution's (a sync job's result is sized and stored
// on every EXECUTE); false (b unchanged) for outputs that are not plain
// JSON, or a time encoding/json refuses. TestResultAppendJSON holds it to
// encoding/json.
func (r *Result) AppendJSON(b []byte) ([]byte, bool) {
	start := len(b)
	b = append(b, `{"executionId":`...)
	b = fastjson.AppendString(b, r.ExecutionID)
	b = append(b, `,"jobType":`...)
	b = fastjson.AppendString(b, r.JobType)
	b = append(b, `,"status":`...)
	b = fastjson.AppendString(b, string(r.Status))
	b = fastjson.AppendOmitEmpty(b, `,"message":`, r.Message)
	var ok bool
	if r.RawOutput != nil {
		b = append(b, `,"rawOutput":`...)
		if b, ok = fastjson.AppendPlain(b, r.RawOutput); !ok {
			return b[:start], false
		}
	}
	if len(r.TransformedOutput) > 0 {
		b = append(b, `,"transformedOutput":`...)
		if b, ok = fastjson.AppendPlain(b, r.TransformedOutput); !ok {
			return b[:start], false
		}
	}
	b = append(b, `,"completedAt":`...)
	if b, ok = fastjson.AppendTime(b, r.CompletedAt); !ok {
		return b[:start], false
	}
	b = fastjson.AppendOmitEmpty(b, `,"requestId":`, r.RequestID)
	b = fastjson.AppendOmitEmpty(b, `,"initiator":`, r.Initiator)
	if len(r.Metadata) > 0 {
		b = append(b, `,"metadata":`...)
		b = fastjson.AppendStringMap(b, r.Metadata)
	}
	b = fastjson.AppendOmitEmpty(b, `,"sagaId":`, r.SagaID)
	b = append(b, `,"sizeBytes":`...)
	b = fastjson.AppendInt(b, r.SizeBytes)
	b = fastjson.AppendOmitEmpty(b, `,"refused":`, r.Refused)
	return append(b, '}'), true
}
