package bus

import (
	"iter"
	"maps"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
)

// collectCE collects the ce-* headers of h into attrs.
func collectCE(attrs *ceAttrs, h nats.Header) error {
	if err := ceHeaders(attrs, h, maps.Keys(h)); err != nil {
		// Sorted keys keep the reported error stable when several are
		// wrong; only the error path pays for the sort.
		*attrs = ceAttrs{}
		return ceHeaders(attrs, h, slices.Values(slices.Sorted(maps.Keys(h))))
	}
	return nil
}

// ceAttrs are the ce-* headers of a message, percent-decoded: the context
// attributes by position (no map to build and hash on every message), the
// extensions in a short list.
type ceAttrs struct {
	known [8]string // by attrIndex
	has   [8]bool
	ext   []extAttr
}

type extAttr struct{ name, value string }

// attrIndex is the position of a context attribute in ceAttrs.known, or -1
// for an extension (the order of ceAttributes).
func attrIndex(name string) int {
	switch name {
	case "specversion":
		return 0
	case "id":
		return 1
	case "source":
		return 2
	case "type":
		return 3
	case "subject":
		return 4
	case "time":
		return 5
	case "dataschema":
		return 6
	case "datacontenttype":
		return 7
	}
	return -1
}

func (a *ceAttrs) get(name string) (string, bool) {
	i := attrIndex(name)
	return a.known[i], a.has[i]
}

// set records an attribute; false if it was already there.
func (a *ceAttrs) set(name, v string) bool {
	if i := attrIndex(name); i >= 0 {
		if a.has[i] {
			return false
		}
		a.known[i], a.has[i] = v, true
		return true
	}
	for _, e := range a.ext {
		if e.name == name {
			return false
		}
	}
	a.ext = append(a.ext, extAttr{name, v})
	return true
}

// checkExtensions checks the extension names; of several bad ones it
// names the first in sorted order, so that the error does not depend on
// header order.
func (a *ceAttrs) checkExtensions() error {
	var bad string
	var badErr error
	for _, e := range a.ext {
		if err := checkExtensionName(e.name); err != nil && (badErr == nil || e.name < bad) {
			bad, badErr = e.name, err
		}
	}
	if badErr != nil {
		return malformed("header ce-%s: %v", bad, badErr)
	}
	return nil
}

// ceHeaders collects the ce-* headers, percent-decoded, by attribute name.
func ceHeaders(attrs *ceAttrs, h nats.Header, keys iter.Seq[string]) error {
	for k := range keys {
		vs := h[k]
		if len(vs) == 0 || !hasPrefixFold(k, ceHeaderPrefix) {
			continue
		}
		lk := strings.ToLower(k)
		name := lk[len(ceHeaderPrefix):]
		if len(vs) > 1 {
			return malformed("header %s given more than once", lk)
		}
		if name == "" {
			return malformed("header %q has no attribute name", k)
		}
		v, err := url.PathUnescape(vs[0])
		if err != nil {
			return malformed("header %s: invalid percent-encoding %q", lk, vs[0])
		}
		if !utf8.ValidString(v) {
			return malformed("header %s: value is not valid UTF-8", lk)
		}
		if !attrs.set(name, v) {
			return malformed("header %s given more than once", lk)
		}
	}
	return nil
}

// hasPrefixFold is strings.HasPrefix(strings.ToLower(s), prefix) for a
// lower-case ASCII prefix, without building the lower-case copy (no
// non-ASCII rune lower-cases into ASCII letters of the prefixes used here).
func hasPrefixFold(s, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != prefix[i] {
			return false
		}
	}
	return true
}
