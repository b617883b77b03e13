package jobs

import (
	"strings"

	"github.com/jetjobs/jetjobs/internal/strictjson"
)

// requestFields are the JSON names of Request's wire fields, in the order
// of decodePlain's switch.
var requestFields = [...]string{"executionId", "parameters", "reason", "requestId", "initiator", "metadata",
	"progressPercentage", "message", "status", "data", "error"}

// decodePlain reads a JobStageRequest that stays within the plain subset
// of JSON (strictjson.Reader): one object, each field once, strings
// without escapes. It reads what strictjson.Decode would, without
// reflection and with one copy of the input for all its strings; false
// means the input is outside the subset (or invalid), and req must be
// decoded again by strictjson.Decode, which has the exact result or error
// (FuzzDecodeRequest holds the two equal). Every command's data goes
// through here: encoding/json was a tenth of the engine's own CPU on a
// command.
func decodePlain(data []byte, req *Request) bool {
	r := strictjson.NewReader(data)
	if !r.Begin() {
		return false
	}
	var seen uint16
	for first := true; ; first = false {
		key, ok := r.Key(first)
		if !ok {
			break
		}
		f := requestField(key)
		if f < 0 || seen&(1<<f) != 0 {
			return false // unknown (an error) or repeated (encoding/json merges maps): Decode decides
		}
		seen |= 1 << f
		switch f {
		case 0:
			req.ExecutionID, _ = r.String()
		case 1:
			req.Parameters = r.Map()
		case 2:
			req.Reason, _ = r.String()
		case 3:
			req.RequestID, _ = r.String()
		case 4:
			req.Initiator, _ = r.String()
		case 5:
			req.Metadata = r.StringMap()
		case 6:
			if !r.Null() {
				p := int(r.Int())
				req.ProgressPercentage = &p
			}
		case 7:
			req.Message, _ = r.String()
		case 8:
			s, _ := r.String()
			req.Status = Status(s)
		case 9:
			req.Data = r.Map()
		case 10:
			req.Error, _ = r.String()
		}
		if r.Failed() {
			return false
		}
	}
	return r.End()
}

// requestField is the index in requestFields of key, matched ignoring
// ASCII case as encoding/json does (the names do not clash); -1 when it
// is none, or not plain ASCII (encoding/json folds some other letters).
func requestField(key string) int {
	for i := 0; i < len(key); i++ {
		if key[i] >= 0x80 {
			return -1
		}
	}
	for i, n := range requestFields {
		if len(n) == len(key) && (n == key || strings.EqualFold(n, key)) {
			return i
		}
	}
	return -1
}
