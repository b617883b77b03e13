package strictjson

import (
	"strconv"
	"unicode/utf8"
)

// Reader reads the plain subset of JSON that a caller's typed decoder can
// take without reflection: strings without escapes, control characters or
// invalid UTF-8, numbers, true/false/null, arrays and objects, nested up
// to maxPlainDepth. Everything it reads is what encoding/json would read
// from the same input (numbers as float64 in an any, arrays as a non-nil
// []any, objects as a non-nil map[string]any, the last of a repeated map
// key winning).
//
// On anything outside that subset, including invalid JSON, the reader
// stops and Failed reports it: the caller then decodes the input again
// with Decode, which gives the exact result or error. The reader never
// returns an error of its own, so it cannot disagree with Decode on one.
//
// The strings it returns share one copy of the input, made by NewReader,
// instead of one allocation per string.
type Reader struct {
	s   string
	i   int
	bad bool
}

// maxPlainDepth bounds the nesting the reader follows; deeper input goes to
// Decode.
const maxPlainDepth = 64

// NewReader reads data (copied once).
func NewReader(data []byte) Reader { return Reader{s: string(data)} }

// Failed reports whether the input left the plain subset (or is invalid).
func (r *Reader) Failed() bool { return r.bad }

func (r *Reader) fail() { r.bad = true }

func (r *Reader) ws() {
	for r.i < len(r.s) {
		switch r.s[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

// peek is the next byte after white space, 0 at the end.
func (r *Reader) peek() byte {
	r.ws()
	if r.i >= len(r.s) {
		return 0
	}
	return r.s[r.i]
}

// Begin reads the '{' of an object; anything else fails.
func (r *Reader) Begin() bool {
	if r.bad || r.peek() != '{' {
		r.fail()
		return false
	}
	r.i++
	return true
}

// Key reads the next member name of the object being read and its ':';
// false at the object's '}' (consumed) or on failure. first is true for
// the first call after Begin (or after an object value's '{').
func (r *Reader) Key(first bool) (string, bool) {
	if r.bad {
		return "", false
	}
	c := r.peek()
	if !first {
		switch c {
		case ',':
			r.i++
			c = r.peek()
		case '}':
			r.i++
			return "", false
		default:
			r.fail()
			return "", false
		}
	} else if c == '}' {
		r.i++
		return "", false
	}
	if c != '"' {
		r.fail()
		return "", false
	}
	k := r.str()
	if r.bad || r.peek() != ':' {
		r.fail()
		return "", false
	}
	r.i++
	return k, true
}

// End reports whether nothing but white space follows, and nothing failed.
func (r *Reader) End() bool {
	r.ws()
	return !r.bad && r.i == len(r.s)
}

// Null reads a null if one comes next.
func (r *Reader) Null() bool {
	if r.bad || r.peek() != 'n' {
		return false
	}
	return r.lit("null")
}

// String reads a string; a null reads as "" with null true (encoding/json
// leaves a string field as it is on null). Anything else fails.
func (r *Reader) String() (s string, null bool) {
	switch r.peek() {
	case '"':
		return r.str(), false
	case 'n':
		return "", r.lit("null")
	}
	r.fail()
	return "", false
}

// Int reads an integer literal that fits an int64, as encoding/json reads
// it into an int; anything else (a fraction, an exponent) fails.
func (r *Reader) Int() int64 {
	tok, isInt := r.number()
	if r.bad || !isInt {
		r.fail()
		return 0
	}
	n, err := strconv.ParseInt(tok, 10, 64)
	if err != nil {
		r.fail()
	}
	return n
}

// StringMap reads an object of strings (nil on null), as encoding/json
// reads it into a map[string]string. A null member fails.
func (r *Reader) StringMap() map[string]string {
	if r.Null() {
		return nil
	}
	if !r.Begin() {
		return nil
	}
	m := map[string]string{}
	for first := true; ; first = false {
		k, ok := r.Key(first)
		if !ok {
			break
		}
		if r.peek() != '"' {
			r.fail()
			return nil
		}
		m[k] = r.str()
	}
	return m
}

// Map reads an object (nil on null), as encoding/json reads it into a
// map[string]any.
func (r *Reader) Map() map[string]any {
	if r.Null() {
		return nil
	}
	if !r.Begin() {
		return nil
	}
	return r.object(1)
}

// object reads the members of an object whose '{' is read.
func (r *Reader) object(depth int) map[string]any {
	if depth > maxPlainDepth {
		r.fail()
		return nil
	}
	m := map[string]any{}
	for first := true; ; first = false {
		k, ok := r.Key(first)
		if !ok {
			break
		}
		m[k] = r.value(depth)
	}
	return m
}

func (r *Reader) value(depth int) any {
	switch c := r.peek(); c {
	case '"':
		return r.str()
	case '{':
		r.i++
		return r.object(depth + 1)
	case '[':
		r.i++
		return r.array(depth + 1)
	case 't':
		if r.lit("true") {
			return true
		}
		return nil
	case 'f':
		if r.lit("false") {
			return false
		}
		return nil
	case 'n':
		r.lit("null")
		return nil
	default:
		tok, _ := r.number()
		if r.bad {
			return nil
		}
		f, err := strconv.ParseFloat(tok, 64)
		if err != nil {
			r.fail() // out of range: encoding/json's error
			return nil
		}
		return f
	}
}

func (r *Reader) array(depth int) []any {
	if depth > maxPlainDepth {
		r.fail()
		return nil
	}
	a := make([]any, 0)
	if r.peek() == ']' {
		r.i++
		return a
	}
	for !r.bad {
		a = append(a, r.value(depth))
		switch r.peek() {
		case ',':
			r.i++
		case ']':
			r.i++
			return a
		default:
			r.fail()
		}
	}
	return nil
}

// lit reads the literal word (true, false or null).
func (r *Reader) lit(word string) bool {
	if len(r.s)-r.i < len(word) || r.s[r.i:r.i+len(word)] != word {
		r.fail()
		return false
	}
	r.i += len(word)
	return true
}

// str reads the string at r.s[r.i] (a '"'), as it is: an escape, a
// control character or invalid UTF-8 fails.
func (r *Reader) str() string {
	start := r.i + 1
	ascii := true
	for i := start; i < len(r.s); i++ {
		switch c := r.s[i]; {
		case c == '"':
			r.i = i + 1
			s := r.s[start:i]
			if !ascii && !utf8.ValidString(s) {
				r.fail() // encoding/json replaces invalid bytes
				return ""
			}
			return s
		case c == '\\' || c < 0x20:
			r.fail()
			return ""
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	r.fail()
	return ""
}

// number reads a number by JSON's grammar; isInt when it has neither a
// fraction nor an exponent.
func (r *Reader) number() (tok string, isInt bool) {
	start, i, s := r.i, r.i, r.s
	digits := func() bool {
		j := i
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
		return i > j
	}
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && '1' <= s[i] && s[i] <= '9':
		digits()
	default:
		r.fail()
		return "", false
	}
	isInt = true
	if i < len(s) && s[i] == '.' {
		i++
		if !digits() {
			r.fail()
			return "", false
		}
		isInt = false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if !digits() {
			r.fail()
			return "", false
		}
		isInt = false
	}
	r.i = i
	return s[start:i], isInt
}
