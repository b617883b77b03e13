package kv

import (
	"encoding/json"
	"time"

	"github.com/jetjobs/jetjobs/jobs"
)

// liveRecord is the part of a record (jobs.Execution) the timer
// reconciler's lean listing (LiveSummary) reads.
type liveRecord struct {
	ExecutionID string      `json:"executionId"`
	Status      jobs.Status `json:"status"`
	Pending     bool        `json:"pending"`
	Deadline    time.Time   `json:"deadline"`
}

// decodeLiveRecord is json.Unmarshal(b, r) for a zero r, by the same
// direct reading of the top-level keys as decodeIndexRecord (and its
// scanners), so that listing a job type's live executions does not decode
// their parameters and metadata; whatever the fast path is not sure to
// read exactly as encoding/json does is left to encoding/json
// (FuzzDecodeLiveRecord holds the two equal).
func decodeLiveRecord(b []byte, r *liveRecord) error {
	if fastLiveRecord(b, r) {
		return nil
	}
	*r = liveRecord{}
	return json.Unmarshal(b, r)
}

// The fields of liveRecord by their JSON names.
const (
	lNone = iota
	lFold // matches a field only case-insensitively: encoding/json's business
	lExecutionID
	lStatus
	lPending
	lDeadline
)

var liveFieldNames = [...]string{"executionId", "status", "pending", "deadline"}

// liveField names the field of an ASCII key without escapes.
func liveField(key []byte) int {
	switch string(key) {
	case "executionId":
		return lExecutionID
	case "status":
		return lStatus
	case "pending":
		return lPending
	case "deadline":
		return lDeadline
	}
	for _, name := range liveFieldNames {
		if asciiEqualFold(key, name) {
			return lFold
		}
	}
	return lNone
}

// fastLiveRecord decodes a record if it is an object of plain keys whose
// read fields hold values of their own type; false leaves the record to
// encoding/json (r may then hold part of it).
func fastLiveRecord(b []byte, r *liveRecord) bool {
	*r = liveRecord{}
	return walkPlainObject(b, func(key, v []byte) bool { return setLiveField(r, liveField(key), v) })
}

// setLiveField stores one value (syntax already checked); false for a
// value encoding/json must judge (null, another type).
func setLiveField(r *liveRecord, f int, v []byte) bool {
	switch f {
	case lNone:
		return true
	case lFold:
		return false
	case lPending:
		switch string(v) {
		case "true":
			r.Pending = true
			return true
		case "false":
			r.Pending = false
			return true
		}
		return false
	case lDeadline:
		return v[0] == '"' && r.Deadline.UnmarshalJSON(v) == nil
	}
	if v[0] != '"' {
		return false
	}
	if f == lStatus && plain(v) {
		r.Status = internStatus(v[1 : len(v)-1])
		return true
	}
	s, ok := plainString(v)
	if !ok {
		return false
	}
	if f == lExecutionID {
		r.ExecutionID = s
	} else {
		r.Status = jobs.Status(s)
	}
	return true
}
