package config

import (
	"maps"
	"slices"
	"strings"

	"github.com/nats-io/nkeys"

	"github.com/jetjobs/jetjobs/bus"
)

// validateNATSSecurity checks nats.server, nats.inbox-prefix and
// nats.reply-prefixes (docs/configuration.md).
func (c Config) validateNATSSecurity(k *checker) {
	n := c.NATS
	s := n.Server
	k.oneOf("nats.server.auth", s.Auth, NATSAuthGenerated, NATSAuthNone)
	if len(s.Users) > 0 && s.Auth != NATSAuthGenerated {
		k.add("nats.server.users", "needs nats.server.auth %s (the engine signs in with its generated key)", NATSAuthGenerated)
	}
	for _, name := range slices.Sorted(maps.Keys(s.Users)) {
		u := s.Users[name]
		p := "nats.server.users." + name
		if name == "" || strings.ContainsAny(name, " \t\r\n.") {
			k.add(p, "a user name must be non-empty, without white space or dots")
		}
		switch {
		case (u.Password == "") == (u.NKey == ""):
			k.add(p, "set exactly one of password and nkey")
		case u.NKey != "" && !nkeys.IsValidPublicUserKey(u.NKey):
			k.add(p+".nkey", "must be a public user nkey (56 characters starting with U), got %q", u.NKey)
		}
		for _, l := range []struct {
			key  string
			subj []string
		}{{p + ".publish", u.Publish}, {p + ".subscribe", u.Subscribe}} {
			for _, subj := range l.subj {
				if !validSubjectPattern(subj) {
					k.add(l.key, "%q is not a subject pattern (dot-separated tokens, * and > as wildcards)", subj)
				}
			}
		}
	}
	if (s.TLSCert == "") != (s.TLSKey == "") {
		k.add("nats.server.tls-cert", "nats.server.tls-cert and nats.server.tls-key must be set together")
	}
	if s.TLSCA != "" && s.TLSCert == "" {
		k.add("nats.server.tls-ca", "needs nats.server.tls-cert and nats.server.tls-key")
	}
	if err := bus.ValidateInboxPrefix(n.InboxPrefix, n.SubjectPrefix); err != nil {
		k.add("nats.inbox-prefix", "%v", err)
	}
	for _, p := range n.ReplyPrefixes {
		if err := bus.ValidateReplyPattern(p, n.SubjectPrefix); err != nil {
			k.add("nats.reply-prefixes", "%v", err)
		}
	}
}

// validSubjectPattern accepts a NATS subject with * and > wildcards.
func validSubjectPattern(s string) bool {
	toks := strings.Split(s, ".")
	for i, t := range toks {
		if t == "" || strings.ContainsAny(t, " \t\r\n") || (t == ">" && i != len(toks)-1) {
			return false
		}
	}
	return true
}
