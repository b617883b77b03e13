// Package fastjson encodes the engine's own records (execution records,
// audit entries, event data, stored results) as encoding/json does, byte
// for byte, at about half the cost: when every value that came from jobs
// or callers (parameters, outputs) holds only JSON's own types (what a
// JSON decoder produces: maps, slices, strings, numbers, booleans, nil),
// with github.com/goccy/go-json, whose output for such records is
// encoding/json's (tested in bus); anything else (a job's own struct, a
// type with its own MarshalJSON) goes through encoding/json, so it is
// written exactly as the standard library writes it. JSON encoding was 8%
// of the engine's CPU in a burn-down.
package fastjson

import (
	"encoding/json"
	"sync"

	gojson "github.com/goccy/go-json"
)

// Marshal encodes v; userData are the values inside v that came from jobs
// or callers.
func Marshal(v any, userData ...any) ([]byte, error) {
	if !plainAll(userData) {
		return json.Marshal(v)
	}
	return gojson.Marshal(v)
}

// Writer is a buffer the encoder appends to, reusable from one encoding
// to the next.
type Writer struct{ B []byte }

// Write appends p.
func (w *Writer) Write(p []byte) (int, error) {
	w.B = append(w.B, p...)
	return len(p), nil
}

// Encode sets w.B to v encoded as Marshal encodes it, reusing w.B's array;
// the result is w.B itself (json.Marshal's own slice on the slow path).
func (w *Writer) Encode(v any, userData ...any) ([]byte, error) {
	if !plainAll(userData) {
		return json.Marshal(v)
	}
	w.B = w.B[:0]
	// The encoder writes what Marshal returns, and a newline.
	if err := gojson.NewEncoder(w).Encode(v); err != nil {
		return nil, err
	}
	return w.B[:len(w.B)-1], nil
}

var sizers = sync.Pool{New: func() any { return new(Writer) }}

// maxPooled bounds the buffer a pooled Writer keeps.
const maxPooled = 64 << 10

// Size is the length of Marshal(v, userData...), without keeping the bytes.
func Size(v any, userData ...any) (int, error) {
	w := sizers.Get().(*Writer)
	b, err := w.Encode(v, userData...)
	n := len(b)
	if cap(w.B) <= maxPooled {
		sizers.Put(w)
	}
	return n, err
}

func plainAll(userData []any) bool {
	for _, d := range userData {
		if !Plain(d) {
			return false
		}
	}
	return true
}

// Plain reports whether v holds only the types a JSON decoder produces
// (to a bounded depth; deeper is treated as not plain).
func Plain(v any) bool { return plain(v, 0) }

func plain(v any, depth int) bool {
	if depth > 32 {
		return false
	}
	switch t := v.(type) {
	case nil, string, bool, float64, float32, int, int8, int16, int32, int64,
		uint, uint8, uint16, uint32, uint64, json.Number:
		return true
	case map[string]any:
		for _, e := range t {
			if !plain(e, depth+1) {
				return false
			}
		}
		return true
	case []any:
		for _, e := range t {
			if !plain(e, depth+1) {
				return false
			}
		}
		return true
	case map[string]string, []string, json.RawMessage:
		return true
	}
	return false
}
