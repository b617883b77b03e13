package bus

import (
	"errors"
	"fmt"
	"strings"
)

// DefaultInboxPrefix is the inbox prefix of nats.go and of the engine's
// own requests unless nats.inbox-prefix says otherwise.
const DefaultInboxPrefix = "_INBOX"

// ErrReplyToRefused is the error of a replyto the engine will not publish
// to: the engine answers with its own credentials, so a replyto must not
// let a client write where it could not write itself (docs/wire.md).
var ErrReplyToRefused = errors.New("replyto refused")

// ReplyToError says why a replyto subject is refused.
type ReplyToError struct {
	Subject string
	Reason  string
}

func (e *ReplyToError) Error() string {
	return fmt.Sprintf("replyto %q refused: %s", e.Subject, e.Reason)
}

// Is makes errors.Is(err, ErrReplyToRefused) hold.
func (e *ReplyToError) Is(target error) bool { return target == ErrReplyToRefused }

// ReplyRule decides which subjects a command's replyto may name: only
// subjects under _INBOX, under the engine's inbox prefix and under the
// configured nats.reply-prefixes, and never the server's own subjects
// ($JS, $KV, $O, $SYS, anything starting with $) nor the engine's subject
// prefix. The worker and the saga coordinator share it. The zero value is
// not usable: use NewReplyRule.
type ReplyRule struct {
	prefix  []string   // the engine's subject prefix, in tokens
	allowed [][]string // patterns, in tokens
	shown   string     // the allowed patterns, for error messages
}

// NewReplyRule builds the rule for subject prefix subjectPrefix (default
// jobs), inbox prefix inboxPrefix (default _INBOX) and the extra patterns
// (wildcards * and > as in NATS). A pattern that ValidateReplyPattern
// refuses is an error naming nats.reply-prefixes.
func NewReplyRule(subjectPrefix, inboxPrefix string, extra []string) (*ReplyRule, error) {
	if subjectPrefix == "" {
		subjectPrefix = "jobs"
	}
	if inboxPrefix == "" {
		inboxPrefix = DefaultInboxPrefix
	}
	if err := ValidateInboxPrefix(inboxPrefix, subjectPrefix); err != nil {
		return nil, fmt.Errorf("nats.inbox-prefix: %w", err)
	}
	r := &ReplyRule{prefix: strings.Split(subjectPrefix, ".")}
	patterns := []string{DefaultInboxPrefix + ".>"}
	if inboxPrefix != DefaultInboxPrefix {
		patterns = append(patterns, inboxPrefix+".>")
	}
	for _, p := range extra {
		if err := ValidateReplyPattern(p, subjectPrefix); err != nil {
			return nil, fmt.Errorf("nats.reply-prefixes: %w", err)
		}
		patterns = append(patterns, p)
	}
	for _, p := range patterns {
		r.allowed = append(r.allowed, strings.Split(p, "."))
	}
	r.shown = strings.Join(patterns, ", ")
	return r, nil
}

// Check returns nil when the engine may publish a reply to subject, else a
// *ReplyToError saying why not. A nil rule refuses every subject.
func (r *ReplyRule) Check(subject string) error {
	refuse := func(format string, args ...any) error {
		return &ReplyToError{Subject: subject, Reason: fmt.Sprintf(format, args...)}
	}
	if r == nil {
		return refuse("no reply rule is configured")
	}
	if !validPublishSubject(subject) {
		return refuse("not a valid subject (empty token, wildcard or white space)")
	}
	toks := strings.Split(subject, ".")
	if strings.HasPrefix(toks[0], "$") {
		return refuse("subjects starting with $ belong to the NATS server ($JS, $KV, $O, $SYS)")
	}
	if len(toks) >= len(r.prefix) && equalTokens(toks[:len(r.prefix)], r.prefix) {
		return refuse("it is under the engine's subject prefix %s", strings.Join(r.prefix, "."))
	}
	for _, p := range r.allowed {
		if matchSubject(p, toks) {
			return nil
		}
	}
	return refuse("not under an allowed reply prefix (%s; see nats.reply-prefixes)", r.shown)
}

// ValidateReplyPattern accepts a nats.reply-prefixes entry: a subject
// pattern whose first token is a literal that does not start with $, and
// that matches nothing under the engine's subject prefix.
func ValidateReplyPattern(pattern, subjectPrefix string) error {
	toks := strings.Split(pattern, ".")
	for _, t := range toks {
		if t == "" || strings.ContainsAny(t, " \t\r\n") {
			return fmt.Errorf("%q is not a subject pattern (empty token or white space)", pattern)
		}
	}
	for i, t := range toks {
		if t == ">" && i != len(toks)-1 {
			return fmt.Errorf("%q: > must be the last token", pattern)
		}
	}
	switch first := toks[0]; {
	case first == "*" || first == ">":
		return fmt.Errorf("%q starts with a wildcard: it would cover the server's $ subjects and the engine's own", pattern)
	case strings.HasPrefix(first, "$"):
		return fmt.Errorf("%q is under a subject of the NATS server ($JS, $KV, $O, $SYS): a reply there would write into the server's streams and buckets", pattern)
	}
	if overlapsPrefix(toks, strings.Split(subjectPrefix, ".")) {
		return fmt.Errorf("%q covers subjects under the engine's subject prefix %s (nats.subject-prefix)", pattern, subjectPrefix)
	}
	return nil
}

// ValidateInboxPrefix accepts a nats.inbox-prefix: a literal subject
// outside the server's $ subjects and the engine's subject prefix.
func ValidateInboxPrefix(inbox, subjectPrefix string) error {
	if !validPublishSubject(inbox) {
		return fmt.Errorf("%q is not a literal subject (no wildcards, empty tokens or white space)", inbox)
	}
	return ValidateReplyPattern(inbox+".>", subjectPrefix)
}

// overlapsPrefix reports whether pattern can match the prefix itself or a
// subject under it.
func overlapsPrefix(pattern, prefix []string) bool {
	for i, q := range prefix {
		if i >= len(pattern) {
			return false
		}
		switch pattern[i] {
		case ">":
			return true
		case "*", q:
		default:
			return false
		}
	}
	return true
}

// matchSubject matches a literal subject against a pattern, as NATS does.
func matchSubject(pattern, subject []string) bool {
	for i, p := range pattern {
		if p == ">" {
			return len(subject) > i
		}
		if i >= len(subject) || (p != "*" && p != subject[i]) {
			return false
		}
	}
	return len(subject) == len(pattern)
}

func equalTokens(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
