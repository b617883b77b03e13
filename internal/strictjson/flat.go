package strictjson

import (
	"encoding"
	"encoding/json"
	"reflect"
	"strings"
	"sync"
)

// flatCache holds flatNames by type: []string, or nil for a type the fast
// path does not take.
var flatCache sync.Map

var (
	unmarshalerType     = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// flatNames is the JSON names of the fields of *struct type t, when only
// its top-level object can hold an unknown field: no embedded struct, no
// struct reachable from a field (but for types that read themselves, such
// as time.Time), no name encoding/json would treat in a way this package
// does not model. nil otherwise.
func flatNames(t reflect.Type) []string {
	if t == nil {
		return nil
	}
	if v, ok := flatCache.Load(t); ok {
		names, _ := v.([]string)
		return names
	}
	names := computeFlatNames(t)
	flatCache.Store(t, names)
	return names
}

func computeFlatNames(t reflect.Type) []string {
	if t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct || readsItself(t.Elem()) {
		return nil
	}
	st := t.Elem()
	names := []string{}
	for i := range st.NumField() {
		f := st.Field(i)
		if f.Anonymous {
			return nil
		}
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		if !plainName(name) || !leafOnly(f.Type, 0) {
			return nil
		}
		for _, n := range names {
			if strings.EqualFold(n, name) {
				return nil // encoding/json's rules for clashing names are not modelled
			}
		}
		names = append(names, name)
	}
	return names
}

// plainName accepts the ASCII letters, digits, '_' and '-' of a name this
// package compares as encoding/json does.
func plainName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return s != ""
}

// readsItself reports whether encoding/json hands t's JSON to t's own
// method, where DisallowUnknownFields does not reach.
func readsItself(t reflect.Type) bool {
	return t.Implements(unmarshalerType) || reflect.PointerTo(t).Implements(unmarshalerType) ||
		t.Implements(textUnmarshalerType) || reflect.PointerTo(t).Implements(textUnmarshalerType)
}

// leafOnly reports whether no value of type t decodes a JSON object into a
// struct.
func leafOnly(t reflect.Type, depth int) bool {
	if depth > 8 {
		return false
	}
	if readsItself(t) {
		return true
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Func, reflect.Chan, reflect.UnsafePointer, reflect.Complex64, reflect.Complex128:
		return false
	case reflect.Interface:
		return t.NumMethod() == 0
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return leafOnly(t.Elem(), depth+1)
	case reflect.Map:
		return leafOnly(t.Key(), depth+1) && leafOnly(t.Elem(), depth+1)
	}
	return true
}

// knownKeys reports whether every member name of the top-level object of
// data, valid JSON, is one of names, ignoring ASCII case as encoding/json
// does. A name with an escape or a non-ASCII byte, or anything unexpected,
// is false: the strict decoder then decides.
func knownKeys(data []byte, names []string) bool {
	i := skipWS(data, 0)
	if i >= len(data) || data[i] != '{' {
		return true // null, the only other value a struct accepts
	}
	i++
	for {
		i = skipWS(data, i)
		if i >= len(data) {
			return false
		}
		if data[i] == '}' {
			return true
		}
		if data[i] != '"' {
			return false
		}
		start := i + 1
		i = start
		for i < len(data) && data[i] != '"' {
			if c := data[i]; c == '\\' || c >= 0x80 {
				return false
			}
			i++
		}
		if i >= len(data) || !known(data[start:i], names) {
			return false
		}
		i = skipWS(data, i+1)
		if i >= len(data) || data[i] != ':' {
			return false
		}
		if i = skipValue(data, skipWS(data, i+1)); i < 0 {
			return false
		}
		i = skipWS(data, i)
		if i >= len(data) {
			return false
		}
		switch data[i] {
		case ',':
			i++
		case '}':
			return true
		default:
			return false
		}
	}
}

func known(key []byte, names []string) bool {
	for _, n := range names {
		if len(n) == len(key) && strings.EqualFold(n, string(key)) {
			return true
		}
	}
	return false
}

func skipWS(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

// skipValue returns the index just after the valid JSON value at data[i]
// (a scalar ends at the next delimiter), or -1.
func skipValue(data []byte, i int) int {
	depth := 0
	for i < len(data) {
		c := data[i]
		switch {
		case c == '"':
			if i = skipString(data, i); i < 0 {
				return -1
			}
		case c == '{' || c == '[':
			depth++
			i++
		case c == '}' || c == ']':
			if depth == 0 {
				return i
			}
			depth--
			i++
		case c == ',' && depth == 0:
			return i
		default:
			i++
		}
		if depth == 0 && (c == '"' || c == '}' || c == ']') {
			return i
		}
	}
	if depth == 0 {
		return i
	}
	return -1
}

// skipString returns the index after the string starting at data[i], or -1.
func skipString(data []byte, i int) int {
	for i++; i < len(data); i++ {
		switch data[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return -1
}
