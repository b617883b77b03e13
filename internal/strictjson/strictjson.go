// Package strictjson reads JSON from outside the engine strictly: one
// value, only the fields its Go type has, and nothing but white space after
// it, so that a malformed request is refused rather than half read.
package strictjson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"

	gojson "github.com/goccy/go-json"
)

// Decode parses data into v. Its errors are encoding/json's (for callers
// that describe them) or one naming the byte where unexpected data follows
// the value.
//
// A flat struct (see flatNames) read into its zero value from plain JSON
// (see plainJSON), the common case (a JobStageRequest per command), is
// checked by encoding/json's scanner, read by github.com/goccy/go-json
// (three times faster, half the allocations) and its top-level member
// names checked against the fields. Anything that path does not accept is
// decoded again by the strict decoder, from the zero value, for its exact
// result and error; FuzzDecodeFlat holds the two paths equal.
func Decode(data []byte, v any) error {
	if names := flatNames(reflect.TypeOf(v)); names != nil && plainJSON(data) {
		if rv := reflect.ValueOf(v); !rv.IsNil() && rv.Elem().IsZero() {
			if json.Valid(data) && gojson.Unmarshal(data, v) == nil && knownKeys(data, names) {
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

// plainJSON reports whether data is printable ASCII and JSON white space,
// without a backslash, an exponent or a run of more than 15 digits: no
// escape, no invalid UTF-8 and no number beyond a float64's exact range,
// where two JSON readers could differ. It looks at the bytes only (a
// string that looks like such a number is taken the slow way too).
func plainJSON(data []byte) bool {
	digits := 0
	for i, c := range data {
		switch {
		case '0' <= c && c <= '9':
			if digits++; digits > 15 {
				return false
			}
			continue
		case c == 'e' || c == 'E':
			if i > 0 && (data[i-1] == '.' || '0' <= data[i-1] && data[i-1] <= '9') {
				return false
			}
		case (c < ' ' && c != '\t' && c != '\n' && c != '\r') || c >= 0x7f || c == '\\':
			return false
		}
		digits = 0
	}
	return true
}
