package urlmask_test

import (
	"testing"

	"github.com/jetjobs/jetjobs/internal/urlmask"
)

func TestUserinfo(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"nats://u:p@h:4222", "nats://**@h:4222"},
		{"nats://tok@h:4222,nats://h2:4222", "nats://**@h:4222,nats://h2:4222"},
		{"nats://h:4222", "nats://h:4222"},
		{"u:p@h", "**@h"},
		{"https://h/path@x", "https://h/path@x"},
		{"nats://a@b@h", "nats://**@h"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := urlmask.Userinfo(tt.in, "**"); got != tt.want {
			t.Errorf("Userinfo(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
