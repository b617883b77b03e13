// Package strictjson reads JSON from outside the engine strictly: one
// value, only the fields its Go type has, and nothing but white space after
// it, so that a malformed request is refused rather than half read.
package strictjson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
)

// Decode parses data into v. Its errors are encoding/json's (for callers
// that describe them) or one naming the byte where unexpected data follows
// the value.
//
// A flat struct (see flatNames) read into its zero value, the common case
// (a JobStageRequest per command), goes through json.Unmarshal and a scan
// of the top-level keys, which spares the json.Decoder, its reader and its
// copy of the input. Anything that path does not accept is decoded again
// by the strict decoder, from the zero value, for its exact result and
// error.
func Decode(data []byte, v any) error {
	if names := flatNames(reflect.TypeOf(v)); names != nil {
		if rv := reflect.ValueOf(v); !rv.IsNil() && rv.Elem().IsZero() {
			if json.Unmarshal(data, v) == nil && knownKeys(data, names) {
				return nil
			}
			rv.Elem().SetZero()
		}
	}
	return decodeStrict(data, v)
}

// decodeStrict is the strict decoder every input can go through.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if off := dec.InputOffset(); len(bytes.TrimSpace(data[off:])) > 0 {
		return fmt.Errorf("unexpected data after the JSON value at byte %d", off)
	}
	return nil
}
