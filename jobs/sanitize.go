package jobs

import (
	"strings"
	"sync"
	"sync/atomic"
)

// Mask replaces a sensitive value wherever it would be stored or shown.
const Mask = "****"

// Sanitizer masks sensitive values in parameters and results.
//
// The rule: a key is sensitive when, lower-cased and with everything but
// letters and digits removed, it contains one of the excluded keys treated
// the same way. So with "password" and "apiKey" excluded, "db_password",
// "PASSWORD", "X-Api-Key" and "api_key" are all masked, at any depth of
// nested maps and lists. An excluded key shorter than five letters (such as
// "pwd") would hide inside ordinary words, so it only matches at the end of
// a key: "pwd", "db_pwd" and "userPwd", not "pwdPolicy". The zero Sanitizer
// masks nothing.
//
// Scrubber extends it to one command: the values found under sensitive keys
// are also masked wherever they appear in free text (errors, messages, raw
// output). docs/operations.md (Security, Secrets) lists where it applies.
type Sanitizer struct {
	keys  []string // matched anywhere in a key
	short []string // matched at the end of a key

	// seen caches Sensitive's answer per key (the same few keys come in
	// every command), up to maxSeen keys so that random keys sent by
	// clients cannot grow it without bound.
	seen  sync.Map // string -> bool
	nseen atomic.Int32

	// none is the scrubber of a command with no secret values: Scrubber
	// returns it instead of a new one.
	none Scrubber
}

const maxSeen = 4096

// shortKey is the length under which an excluded key only matches as the
// end of a key.
const shortKey = 5

// DefaultSensitiveKeys is persistence.excluded-parameter-keys' default, the
// one list internal/config and docs/configuration.md repeat. Because keys
// match by "contains" once normalized, it also covers api_key, X-Api-Key,
// clientSecret, accessToken, sessionToken, Set-Cookie, credentials,
// ssh_private_key, awsAccessKeyId and the like.
var DefaultSensitiveKeys = []string{
	"password", "passwd", "pwd", "passphrase", "secret", "token", "apiKey", "authorization",
	"credential", "privateKey", "accessKey", "sessionKey", "cookie", "connectionString",
}

// NewSanitizer builds a Sanitizer for the given keys.
func NewSanitizer(keys ...string) *Sanitizer {
	s := &Sanitizer{}
	s.none.san = s
	for _, k := range keys {
		switch n := normalizeKey(k); {
		case n == "":
		case len(n) < shortKey:
			s.short = append(s.short, n)
		default:
			s.keys = append(s.keys, n)
		}
	}
	return s
}

// Sensitive reports whether key names a secret.
func (s *Sanitizer) Sensitive(key string) bool {
	if s == nil || len(s.keys)+len(s.short) == 0 {
		return false
	}
	if v, ok := s.seen.Load(key); ok {
		return v.(bool)
	}
	hit := s.match(normalizeKey(key))
	if s.nseen.Load() < maxSeen {
		if _, loaded := s.seen.LoadOrStore(key, hit); !loaded {
			s.nseen.Add(1)
		}
	}
	return hit
}

func (s *Sanitizer) match(n string) bool {
	for _, k := range s.keys {
		if strings.Contains(n, k) {
			return true
		}
	}
	for _, k := range s.short {
		if strings.HasSuffix(n, k) {
			return true
		}
	}
	return false
}

// Map returns a sanitized deep copy of m (nil stays nil). The input is not
// modified, so a handler still sees the real values.
func (s *Sanitizer) Map(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		if s.Sensitive(k) {
			out[k] = Mask
			continue
		}
		out[k] = s.value(v)
	}
	return out
}

// Strings returns a sanitized copy of a string map (metadata, headers).
func (s *Sanitizer) Strings(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		if s.Sensitive(k) {
			v = Mask
		}
		out[k] = v
	}
	return out
}

func (s *Sanitizer) value(v any) any {
	switch t := v.(type) {
	case map[string]any:
		return s.Map(t)
	case map[string]string:
		return s.Strings(t)
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = s.value(e)
		}
		return out
	case []map[string]any:
		out := make([]map[string]any, len(t))
		for i, e := range t {
			out[i] = s.Map(e)
		}
		return out
	}
	return v
}

// normalizeKey lower-cases k and keeps only letters and digits; a key that
// is already so is returned without allocating.
func normalizeKey(k string) string {
	clean := true
	for i := 0; i < len(k); i++ {
		if c := k[i]; !(c >= 'a' && c <= 'z') && !(c >= '0' && c <= '9') {
			clean = false
			break
		}
	}
	if clean {
		return k
	}
	var b strings.Builder
	for _, r := range strings.ToLower(k) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		}
	}
	return b.String()
}
