package bus

import (
	"github.com/jetjobs/jetjobs/internal/fastjson"
	"github.com/jetjobs/jetjobs/jobs"
)

// appendEventData appends d as encoding/json writes it, by hand: every
// job has two or more events, and the general encoder (goccy's,
// reflection-driven) cost about twice as much. false (b unchanged) for
// event data it leaves to the general encoder: one with data (a job's
// output), a timestamp encoding/json refuses. TestAppendEventData holds
// it to encoding/json, every field included.
func appendEventData(b []byte, d *jobs.EventData) ([]byte, bool) {
	if len(d.Data) > 0 {
		return b, false
	}
	start := len(b)
	b = append(b, `{"eventType":`...)
	b = fastjson.AppendString(b, d.EventType)
	b = append(b, `,"executionId":`...)
	b = fastjson.AppendString(b, d.ExecutionID)
	b = append(b, `,"jobType":`...)
	b = fastjson.AppendString(b, d.JobType)
	if d.Success {
		b = append(b, `,"success":true,"status":`...)
	} else {
		b = append(b, `,"success":false,"status":`...)
	}
	b = fastjson.AppendString(b, string(d.Status))
	b = append(b, `,"error":`...)
	if d.Error == nil {
		b = append(b, "null"...)
	} else {
		b = fastjson.AppendString(b, *d.Error)
	}
	b = append(b, `,"timestamp":`...)
	var ok bool
	if b, ok = fastjson.AppendTime(b, d.Timestamp); !ok {
		return b[:start], false
	}
	b = fastjson.AppendOmitEmpty(b, `,"sagaId":`, d.SagaID)
	if d.ProgressPercentage != nil {
		b = append(b, `,"progressPercentage":`...)
		b = fastjson.AppendInt(b, int64(*d.ProgressPercentage))
	}
	b = fastjson.AppendOmitEmpty(b, `,"message":`, d.Message)
	b = fastjson.AppendOmitEmpty(b, `,"requestId":`, d.RequestID)
	b = fastjson.AppendOmitEmpty(b, `,"initiator":`, d.Initiator)
	if len(d.Metadata) > 0 {
		b = append(b, `,"metadata":`...)
		b = fastjson.AppendStringMap(b, d.Metadata)
	}
	return append(b, '}'), true
}
