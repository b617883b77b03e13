package fastjson

import (
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// The Append functions write one value as encoding/json's Marshal writes
// it, for encoders of the engine's own records written by hand (no
// reflection, no intermediate): the hottest records are a few strings,
// times and numbers. FuzzAppendString holds AppendString to encoding/json.

const hexDigits = "0123456789abcdef"

// plainByte marks the ASCII bytes AppendString writes as they are.
var plainByte = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// AppendString appends s as a JSON string, escaped as encoding/json
// escapes it (HTML characters, U+2028 and U+2029 included; invalid UTF-8
// written as U+FFFD).
func AppendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if plainByte[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// AppendTime appends t as time.Time's MarshalJSON writes it; false (b
// unchanged) for a time it refuses (a year outside 0..9999).
func AppendTime(b []byte, t time.Time) ([]byte, bool) {
	out, ok := appendRFC3339Nano(append(b, '"'), t)
	if !ok {
		return b, false
	}
	return append(out, '"'), true
}

// AppendFloat64 appends f as encoding/json writes a float64; false (b
// unchanged) for NaN and the infinities, which it refuses.
func AppendFloat64(b []byte, f float64) ([]byte, bool) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return b, false
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, true
}

// AppendOmitEmpty writes a string field tagged omitempty (key with its
// leading comma and colon, e.g. `,"error":`) unless v is empty.
func AppendOmitEmpty(b []byte, key, v string) []byte {
	if v == "" {
		return b
	}
	return AppendString(append(b, key...), v)
}

// AppendInt appends n.
func AppendInt(b []byte, n int64) []byte { return strconv.AppendInt(b, n, 10) }

// AppendStringMap appends m with its keys sorted, as encoding/json writes
// a map[string]string.
func AppendStringMap(b []byte, m map[string]string) []byte {
	if m == nil {
		return append(b, "null"...)
	}
	var buf [8]string
	keys := sortedKeys(buf[:0], m)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendString(b, k)
		b = append(b, ':')
		b = AppendString(b, m[k])
	}
	return append(b, '}')
}

// sortedKeys appends m's keys to buf, sorted as encoding/json orders a
// map's; buf is a small array of the caller's, so a short map allocates
// nothing.
func sortedKeys[V any](buf []string, m map[string]V) []string {
	for k := range m {
		buf = append(buf, k)
	}
	slices.Sort(buf)
	return buf
}

// AppendPlain appends v, a caller's data, as encoding/json writes it, when
// it holds only strings, float64s, ints, booleans, nil, []any and
// map[string]any (to a bounded depth); false (b unchanged) otherwise: the
// caller then takes the general encoder.
func AppendPlain(b []byte, v any) ([]byte, bool) {
	out, ok := appendPlain(b, v, 0)
	if !ok {
		return b, false
	}
	return out, true
}

func appendPlain(b []byte, v any, depth int) ([]byte, bool) {
	if depth > 32 {
		return b, false
	}
	switch t := v.(type) {
	case nil:
		return append(b, "null"...), true
	case string:
		return AppendString(b, t), true
	case bool:
		if t {
			return append(b, "true"...), true
		}
		return append(b, "false"...), true
	case float64:
		return AppendFloat64(b, t)
	case int:
		return AppendInt(b, int64(t)), true
	case int64:
		return AppendInt(b, t), true
	case []any:
		if t == nil {
			return append(b, "null"...), true
		}
		b = append(b, '[')
		for i, e := range t {
			if i > 0 {
				b = append(b, ',')
			}
			var ok bool
			if b, ok = appendPlain(b, e, depth+1); !ok {
				return b, false
			}
		}
		return append(b, ']'), true
	case map[string]any:
		if t == nil {
			return append(b, "null"...), true
		}
		var buf [8]string
		keys := sortedKeys(buf[:0], t)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = AppendString(b, k)
			b = append(b, ':')
			var ok bool
			if b, ok = appendPlain(b, t[k], depth+1); !ok {
				return b, false
			}
		}
		return append(b, '}'), true
	}
	return b, false
}
