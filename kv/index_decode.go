package kv

import (
	"encoding/json"
	"time"

	"github.com/jetjobs/jetjobs/jobs"
)

// indexRecord is the part of a record (jobs.Execution) the index and the
// timer reconciliation's listing (Live) read.
type indexRecord struct {
	ExecutionID        string      `json:"executionId"`
	JobType            string      `json:"jobType"`
	Status             jobs.Status `json:"status"`
	ProgressPercentage int         `json:"progressPercentage"`
	Error              string      `json:"error"`
	SagaID             string      `json:"sagaId"`
	CreatedAt          time.Time   `json:"createdAt"`
	UpdatedAt          time.Time   `json:"updatedAt"`
}

// decodeIndexRecord is json.Unmarshal(b, r) for a zero r, in a fraction of
// its time for the records the engine writes: the two background readers
// of the whole bucket (the index and Live) decoded every record update
// with encoding/json, about 4% of the engine's CPU in a burn-down. The
// fast path reads the top-level keys and skips the values it does not
// need (parameters, metadata, ...), checking their syntax as it goes;
// whatever it is not sure to read exactly as encoding/json does is left to
// encoding/json (FuzzDecodeIndexRecord holds the two equal).
func decodeIndexRecord(b []byte, r *indexRecord) error {
	if fastIndexRecord(b, r) {
		return nil
	}
	*r = indexRecord{}
	return json.Unmarshal(b, r)
}

// The fields of indexRecord by their JSON names.
const (
	fNone = iota
	fFold // matches a field only case-insensitively: encoding/json's business
	fExecutionID
	fJobType
	fStatus
	fProgress
	fError
	fSagaID
	fCreatedAt
	fUpdatedAt
)

var indexFieldNames = [...]string{fExecutionID: "executionId", fJobType: "jobType", fStatus: "status",
	fProgress: "progressPercentage", fError: "error", fSagaID: "sagaId", fCreatedAt: "createdAt", fUpdatedAt: "updatedAt"}

// indexField names the field of an ASCII key without escapes.
func indexField(key []byte) int {
	switch string(key) {
	case "executionId":
		return fExecutionID
	case "jobType":
		return fJobType
	case "status":
		return fStatus
	case "progressPercentage":
		return fProgress
	case "error":
		return fError
	case "sagaId":
		return fSagaID
	case "createdAt":
		return fCreatedAt
	case "updatedAt":
		return fUpdatedAt
	}
	for f := fExecutionID; f < len(indexFieldNames); f++ {
		if asciiEqualFold(key, indexFieldNames[f]) {
			return fFold
		}
	}
	return fNone
}

// asciiEqualFold is bytes.EqualFold for ASCII, without a conversion.
func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// fastIndexRecord decodes a record if it is an object of plain keys whose
// read fields hold values of their own type; false leaves the record to
// encoding/json (r may then hold part of it).
func fastIndexRecord(b []byte, r *indexRecord) bool {
	*r = indexRecord{}
	return walkPlainObject(b, func(key, v []byte) bool { return setIndexField(r, indexField(key), v) })
}

// walkPlainObject calls set with each key and raw value of b, a JSON
// object, while set says yes; false if b is not an object of plain keys
// (an escape or a non-ASCII byte in a key leaves it to encoding/json's
// folding rules) or set refused a value. The index's and the live
// listing's fast readers share it.
func walkPlainObject(b []byte, set func(key, value []byte) bool) bool {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return skipWS(b, i+1) == len(b)
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return false
		}
		ke, special := scanString(b, i)
		if ke < 0 || special {
			return false
		}
		key := b[i+1 : ke-1]
		i = skipWS(b, ke)
		if i >= len(b) || b[i] != ':' {
			return false
		}
		vs := skipWS(b, i+1)
		ve := skipValue(b, vs, 0)
		if ve < 0 || !set(key, b[vs:ve]) {
			return false
		}
		i = skipWS(b, ve)
		if i >= len(b) {
			return false
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case '}':
			return skipWS(b, i+1) == len(b)
		default:
			return false
		}
	}
}

// setIndexField stores one value (syntax already checked); false for a
// value encoding/json must judge (null, another type, a number that is not
// a small integer).
func setIndexField(r *indexRecord, f int, v []byte) bool {
	switch f {
	case fNone:
		return true
	case fFold:
		return false
	case fProgress:
		n, ok := smallInt(v)
		r.ProgressPercentage = n
		return ok
	case fCreatedAt:
		return v[0] == '"' && r.CreatedAt.UnmarshalJSON(v) == nil
	case fUpdatedAt:
		return v[0] == '"' && r.UpdatedAt.UnmarshalJSON(v) == nil
	}
	if v[0] != '"' {
		return false
	}
	if f == fStatus && plain(v) {
		r.Status = internStatus(v[1 : len(v)-1])
		return true
	}
	s, ok := plainString(v)
	if !ok {
		return false
	}
	switch f {
	case fExecutionID:
		r.ExecutionID = s
	case fJobType:
		r.JobType = s
	case fStatus:
		r.Status = jobs.Status(s)
	case fError:
		r.Error = s
	case fSagaID:
		r.SagaID = s
	}
	return true
}

// plainString is a JSON string's value: copied as is when it holds no
// escape and only ASCII, else as encoding/json reads it (escapes, invalid
// UTF-8 replaced); ok false if that fails.
func plainString(v []byte) (string, bool) {
	if !plain(v) {
		var s string
		if json.Unmarshal(v, &s) != nil {
			return "", false
		}
		return s, true
	}
	if len(v) == 2 {
		return "", true
	}
	return string(v[1 : len(v)-1]), true
}

// plain reports whether a JSON string (quotes included) holds no escape
// and only ASCII.
func plain(v []byte) bool {
	for _, c := range v[1 : len(v)-1] {
		if c == '\\' || c >= 0x80 {
			return false
		}
	}
	return true
}

// internStatus returns the constant for a known status, so that decoding
// one allocates nothing.
func internStatus(b []byte) jobs.Status {
	for _, s := range statuses {
		if string(s) == string(b) {
			return s
		}
	}
	return jobs.Status(b)
}

// smallInt parses -?[0-9]{1,18} (syntax already checked): what an int
// field takes without question.
func smallInt(v []byte) (int, bool) {
	neg := v[0] == '-'
	if neg {
		v = v[1:]
	}
	if len(v) == 0 || len(v) > 18 {
		return 0, false
	}
	n := 0
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

// scanString returns the index after the string starting at b[i] (a
// quote), or -1 if it is not valid JSON; special reports an escape or a
// non-ASCII byte.
func scanString(b []byte, i int) (end int, special bool) {
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return j + 1, special
		case c == '\\':
			special = true
			j++
			if j >= len(b) {
				return -1, special
			}
			switch b[j] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if j+4 >= len(b) {
					return -1, special
				}
				for _, h := range b[j+1 : j+5] {
					if !isHex(h) {
						return -1, special
					}
				}
				j += 4
			default:
				return -1, special
			}
		case c < 0x20:
			return -1, special
		case c >= 0x80:
			special = true
		}
	}
	return -1, special
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// maxSkipDepth bounds the nesting skipValue follows; deeper values are
// left to encoding/json (whose own bound is 10,000).
const maxSkipDepth = 256

// skipValue returns the index after the JSON value at b[i], or -1 if
// there is none there (or it nests deeper than maxSkipDepth).
func skipValue(b []byte, i, depth int) int {
	if i >= len(b) || depth > maxSkipDepth {
		return -1
	}
	switch c := b[i]; {
	case c == '"':
		end, _ := scanString(b, i)
		return end
	case c == '{':
		i = skipWS(b, i+1)
		if i < len(b) && b[i] == '}' {
			return i + 1
		}
		for {
			if i >= len(b) || b[i] != '"' {
				return -1
			}
			if i, _ = scanString(b, i); i < 0 {
				return -1
			}
			if i = skipWS(b, i); i >= len(b) || b[i] != ':' {
				return -1
			}
			if i = skipValue(b, skipWS(b, i+1), depth+1); i < 0 {
				return -1
			}
			if i = skipWS(b, i); i >= len(b) {
				return -1
			}
			if b[i] == '}' {
				return i + 1
			}
			if b[i] != ',' {
				return -1
			}
			i = skipWS(b, i+1)
		}
	case c == '[':
		i = skipWS(b, i+1)
		if i < len(b) && b[i] == ']' {
			return i + 1
		}
		for {
			if i = skipValue(b, i, depth+1); i < 0 {
				return -1
			}
			if i = skipWS(b, i); i >= len(b) {
				return -1
			}
			if b[i] == ']' {
				return i + 1
			}
			if b[i] != ',' {
				return -1
			}
			i = skipWS(b, i+1)
		}
	case c == 't':
		return literal(b, i, "true")
	case c == 'f':
		return literal(b, i, "false")
	case c == 'n':
		return literal(b, i, "null")
	case c == '-' || (c >= '0' && c <= '9'):
		return skipNumber(b, i)
	}
	return -1
}

func literal(b []byte, i int, lit string) int {
	if len(b)-i >= len(lit) && string(b[i:i+len(lit)]) == lit {
		return i + len(lit)
	}
	return -1
}

// skipNumber follows JSON's number grammar.
func skipNumber(b []byte, i int) int {
	if b[i] == '-' {
		i++
	}
	digits := func() bool {
		s := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i > s
	}
	switch {
	case i >= len(b):
		return -1
	case b[i] == '0':
		i++
	case !digits():
		return -1
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return -1
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return -1
		}
	}
	return i
}
