package bus_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/jetjobs/jetjobs/bus"
)

func TestReplyRuleCheck(t *testing.T) {
	t.Parallel()
	rule, err := bus.NewReplyRule("acme.jobs", "_INBOX_engine", []string{"replies.>", "svc.*.answers.>"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		subject string
		wantErr string // "" = allowed
	}{
		{"_INBOX.abc.def", ""},
		{"_INBOX_engine.abc.1", ""},
		{"replies.x", ""},
		{"replies.x.y.z", ""},
		{"svc.billing.answers.7", ""},
		{"_INBOX", "not under an allowed reply prefix"},
		{"replies", "not under an allowed reply prefix"},
		{"svc.billing.other.7", "not under an allowed reply prefix"},
		{"_INBOX_other.abc", "not under an allowed reply prefix"},
		{"$KV.JOBS_STATE.x", "subjects starting with $"},
		{"$JS.API.STREAM.DELETE.JOBS_COMMANDS", "subjects starting with $"},
		{"$O.JOBS_RESULTS_OBJECTS.M.x", "subjects starting with $"},
		{"$SYS.REQ.SERVER.PING", "subjects starting with $"},
		{"acme.jobs.cmd.a.start", "under the engine's subject prefix acme.jobs"},
		{"acme.jobs", "under the engine's subject prefix"},
		{"acme.other", "not under an allowed reply prefix"},
		{"_INBOX.*", "not a valid subject"},
		{"_INBOX.>", "not a valid subject"},
		{"_INBOX..x", "not a valid subject"},
		{"_INBOX.a b", "not a valid subject"},
		{"", "not a valid subject"},
	}
	for _, tt := range tests {
		t.Run(tt.subject, func(t *testing.T) {
			t.Parallel()
			err := rule.Check(tt.subject)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Check(%q) = %v, want allowed", tt.subject, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, bus.ErrReplyToRefused) {
				t.Fatalf("Check(%q) = %v, want a refusal containing %q", tt.subject, err, tt.wantErr)
			}
		})
	}
}

func TestValidateReplyPattern(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pattern string
		wantErr string
	}{
		{"replies.>", ""},
		{"_INBOX_app.*", ""},
		{"jobsreplies.>", ""},
		{"jobs2.>", ""},
		{"$KV.>", "server"},
		{"$KV.JOBS_STATE.x", "server"},
		{"$SYS.>", "server"},
		{">", "starts with a wildcard"},
		{"*.replies", "starts with a wildcard"},
		{"jobs.>", "engine's subject prefix jobs"},
		{"jobs", "engine's subject prefix jobs"},
		{"jobs.evt.x", "engine's subject prefix jobs"},
		{"a..b", "not a subject pattern"},
		{"a.>.b", "> must be the last token"},
		{"a b", "not a subject pattern"},
		{"", "not a subject pattern"},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			t.Parallel()
			err := bus.ValidateReplyPattern(tt.pattern, "jobs")
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("ValidateReplyPattern(%q) = %v", tt.pattern, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("ValidateReplyPattern(%q) = %v, want %q", tt.pattern, err, tt.wantErr)
			}
		})
	}
}

func TestNewReplyRuleErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, inbox string
		extra       []string
		wantErr     string
	}{
		{"default", "", nil, ""},
		{"inbox under $", "$JS", nil, "nats.inbox-prefix"},
		{"inbox with wildcard", "_INBOX.*", nil, "nats.inbox-prefix"},
		{"inbox under the prefix", "jobs.inbox", nil, "nats.inbox-prefix"},
		{"extra under $", "", []string{"$KV.JOBS_STATE.>"}, "nats.reply-prefixes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := bus.NewReplyRule("jobs", tt.inbox, tt.extra)
			if (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("NewReplyRule = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestRedactURL(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"nats://user:pass@host:4222", "nats://xxxxx@host:4222"},
		{"nats://tok@host:4222", "nats://xxxxx@host:4222"},
		{"tls://u:p@a:1,nats://b:2,nats://t@c:3", "tls://xxxxx@a:1,nats://b:2,nats://xxxxx@c:3"},
		{"nats://host:4222", "nats://host:4222"},
		{"host:4222", "host:4222"},
		{"u:p@host:4222", "xxxxx@host:4222"},
		{"nats://a@b@host:4222/x@y", "nats://xxxxx@host:4222/x@y"},
		{"in-process", "in-process"},
	}
	for _, tt := range tests {
		if got := bus.RedactURL(tt.in); got != tt.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
