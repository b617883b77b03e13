// Package urlmask hides the credentials of URLs wherever they are shown.
package urlmask

import "strings"

// Userinfo replaces the whole user-info ("user:password@", or "token@") of
// each URL in a comma-separated list with mask. It parses by hand, so it
// also works on values url.Parse rejects, and it hides a token given as
// the user name, which url.URL.Redacted would show.
func Userinfo(s, mask string) string {
	parts := strings.Split(s, ",")
	for i, p := range parts {
		scheme, rest := "", p
		if j := strings.Index(p, "://"); j >= 0 {
			scheme, rest = p[:j+3], p[j+3:]
		}
		authority := rest
		if j := strings.IndexAny(rest, "/?#"); j >= 0 {
			authority = rest[:j]
		}
		if at := strings.LastIndex(authority, "@"); at >= 0 {
			parts[i] = scheme + mask + rest[at:]
		}
	}
	return strings.Join(parts, ",")
}
