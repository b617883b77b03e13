package bus

import "github.com/jetjobs/jetjobs/internal/fastjson"

// MarshalJSON encodes the engine's own records (execution records, audit
// entries, event data, stored results) for storage. userData are the
// values inside v that came from jobs or callers (parameters, outputs):
// when all of them hold only JSON's own types, v is encoded with
// github.com/goccy/go-json, whose output for such records is byte for
// byte encoding/json's (tested) at about half the cost; anything else goes
// through encoding/json. See internal/fastjson.
func MarshalJSON(v any, userData ...any) ([]byte, error) {
	return fastjson.Marshal(v, userData...)
}
