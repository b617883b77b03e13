package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// minSecretLen is the shortest secret value searched for in free text:
// shorter ones would mask ordinary words ("a", "on"). They are still masked
// under their keys.
const minSecretLen = 4

// Scrubber masks what one command may leak: values under sensitive keys
// (Sanitizer's rule), and the values it found under sensitive keys of the
// command's parameters and metadata wherever they appear in text: an error
// such as fmt.Errorf("login failed for %s", password), a message, a string
// of the raw output. A nil Scrubber masks nothing (sanitizing is off).
type Scrubber struct {
	san    *Sanitizer
	values []string // longest first, so no value is cut by a shorter one inside it
}

// Scrubber builds the scrubber of one command from its parameters and
// metadata; nil when s is nil.
func (s *Sanitizer) Scrubber(params map[string]any, meta map[string]string) *Scrubber {
	if s == nil {
		return nil
	}
	sc := Scrubber{san: s}
	for k, v := range meta {
		if s.Sensitive(k) {
			sc.add(v)
		}
	}
	s.collect(params, false, &sc)
	if len(sc.values) == 0 && s.none.san == s {
		// Nothing to search for (the common case): the sanitizer's own
		// scrubber, which masks sensitive keys only, shared and never
		// changed.
		return &s.none
	}
	slices.SortFunc(sc.values, func(a, b string) int { return len(b) - len(a) })
	sc.values = slices.Compact(sc.values)
	out := sc // only now on the heap
	return &out
}

// collect adds to sc the scalar values under sensitive keys of v; under is
// true below such a key, where every scalar is a secret.
func (s *Sanitizer) collect(v any, under bool, sc *Scrubber) {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			s.collect(e, under || s.Sensitive(k), sc)
		}
	case map[string]string:
		for k, e := range t {
			if under || s.Sensitive(k) {
				sc.add(e)
			}
		}
	case []any:
		for _, e := range t {
			s.collect(e, under, sc)
		}
	case []map[string]any:
		for _, e := range t {
			s.collect(e, under, sc)
		}
	case []string:
		for _, e := range t {
			if under {
				sc.add(e)
			}
		}
	case string:
		if under {
			sc.add(t)
		}
	case json.Number:
		if under {
			sc.add(t.String())
		}
	case float64:
		if under {
			sc.add(strconv.FormatFloat(t, 'f', -1, 64))
		}
	case int:
		if under {
			sc.add(strconv.Itoa(t))
		}
	case int64:
		if under {
			sc.add(strconv.FormatInt(t, 10))
		}
	}
}

func (sc *Scrubber) add(v string) {
	if utf8.RuneCountInString(v) >= minSecretLen && v != Mask {
		sc.values = append(sc.values, v)
	}
}

// Secrets reports how many secret values the scrubber searches text for.
func (sc *Scrubber) Secrets() int {
	if sc == nil {
		return 0
	}
	return len(sc.values)
}

// Text masks the known secret values in s.
func (sc *Scrubber) Text(s string) string {
	if sc == nil || s == "" {
		return s
	}
	for _, v := range sc.values {
		if strings.Contains(s, v) {
			s = strings.ReplaceAll(s, v, Mask)
		}
	}
	return s
}

// TextPtr is Text of an optional string; the pointer is kept when nothing
// changes.
func (sc *Scrubber) TextPtr(s *string) *string {
	if sc == nil || s == nil {
		return s
	}
	if t := sc.Text(*s); t != *s {
		return &t
	}
	return s
}

// Error masks the known secret values in err's message; errors.Is and As
// still see err.
func (sc *Scrubber) Error(err error) error {
	if sc == nil || err == nil {
		return err
	}
	msg := err.Error()
	if t := sc.Text(msg); t != msg {
		return &scrubbedError{msg: t, err: err}
	}
	return err
}

type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

// Map masks sensitive keys and secret values in m. m itself is returned
// when there is nothing to mask (it is never modified).
func (sc *Scrubber) Map(m map[string]any) map[string]any {
	if sc == nil || m == nil || sc.clean(m) {
		return m
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		if sc.san.Sensitive(k) {
			out[k] = Mask
			continue
		}
		out[k] = sc.Any(v)
	}
	return out
}

// Strings masks sensitive keys and secret values in a string map.
func (sc *Scrubber) Strings(m map[string]string) map[string]string {
	if sc == nil || m == nil || sc.clean(m) {
		return m
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		if sc.san.Sensitive(k) {
			v = Mask
		}
		out[k] = sc.Text(v)
	}
	return out
}

// Any masks a value of any shape: maps and lists are walked, strings (and
// UTF-8 bytes) have the secret values masked, and any other type (a
// struct, a typed map) is turned into its JSON form first, as it would be
// stored.
func (sc *Scrubber) Any(v any) any {
	if sc == nil {
		return v
	}
	switch t := v.(type) {
	case nil, bool, float64, float32, int, int64, int32, uint, uint64, uint32, json.Number:
		return v
	case string:
		return sc.Text(t)
	case []byte:
		if !utf8.Valid(t) {
			return v
		}
		if s := string(t); sc.Text(s) != s {
			return []byte(sc.Text(s))
		}
		return v
	case map[string]any:
		return sc.Map(t)
	case map[string]string:
		return sc.Strings(t)
	case []any:
		if sc.clean(t) {
			return v
		}
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = sc.Any(e)
		}
		return out
	case []string:
		if sc.clean(t) {
			return v
		}
		out := make([]string, len(t))
		for i, e := range t {
			out[i] = sc.Text(e)
		}
		return out
	case []map[string]any:
		out := make([]map[string]any, len(t))
		for i, e := range t {
			out[i] = sc.Map(e)
		}
		return out
	}
	b, err := json.Marshal(v)
	if err != nil {
		return v // not storable anyway: the caller reports it
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var generic any
	if d.Decode(&generic) != nil {
		return v
	}
	return sc.Any(generic)
}

// clean reports whether v holds nothing to mask, without copying; a nil
// scrubber masks nothing.
func (sc *Scrubber) clean(v any) bool {
	if sc == nil {
		return true
	}
	switch t := v.(type) {
	case string:
		return sc.Text(t) == t
	case map[string]any:
		for k, e := range t {
			if sc.san.Sensitive(k) || !sc.clean(e) {
				return false
			}
		}
	case map[string]string:
		for k, e := range t {
			if sc.san.Sensitive(k) || sc.Text(e) != e {
				return false
			}
		}
	case []any:
		for _, e := range t {
			if !sc.clean(e) {
				return false
			}
		}
	case []string:
		for _, e := range t {
			if sc.Text(e) != e {
				return false
			}
		}
	case []map[string]any:
		for _, e := range t {
			if !sc.clean(e) {
				return false
			}
		}
	case nil, bool, float64, json.Number, int, int64:
	default:
		return false // other shapes: let Any look
	}
	return true
}

type scrubberKey struct{}

// WithScrubber puts the scrubber of the command being handled into ctx, for
// the middleware (logs, spans, retries) and the ports.
func WithScrubber(ctx context.Context, sc *Scrubber) context.Context {
	if sc == nil {
		return ctx
	}
	return context.WithValue(ctx, scrubberKey{}, sc)
}

// ScrubberFrom returns the scrubber ctx carries, or nil.
func ScrubberFrom(ctx context.Context) *Scrubber {
	sc, _ := ctx.Value(scrubberKey{}).(*Scrubber)
	return sc
}
