// Package strictjson reads JSON from outside the engine strictly: one
// value, only the fields its Go type has, and nothing but white space after
// it, so that a malformed request is refused rather than half read.
package strictjson

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Decode parses data into v. Its errors are encoding/json's (for callers
// that describe them) or one naming the byte where unexpected data follows
// the value.
func Decode(data []byte, v any) error {
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
