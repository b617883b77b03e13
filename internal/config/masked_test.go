package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestMasked(t *testing.T) {
	t.Parallel()
	c := fullConfig()
	c.NATS.Token, c.NATS.NKey = "tk9", "SUAKEY" // not valid together; Masked doesn't care
	m := c.Masked()
	tests := []struct {
		key       string
		got, want string
	}{
		{"orchestration.airflow.password", m.Orchestration.Airflow.Password, "****"},
		{"orchestration.airflow.bearer-token", m.Orchestration.Airflow.BearerToken, "****"},
		{"orchestration.airflow.username", m.Orchestration.Airflow.Username, "alice"},
		{"orchestration.aws-step-functions.access-key-id", m.Orchestration.AWSStepFunctions.AccessKeyID, "****"},
		{"orchestration.aws-step-functions.secret-access-key", m.Orchestration.AWSStepFunctions.SecretAccessKey, "****"},
		{"orchestration.aws-step-functions.session-token", m.Orchestration.AWSStepFunctions.SessionToken, "****"},
		{"nats.password", m.NATS.Password, "****"},
		{"nats.token", m.NATS.Token, "****"},
		{"nats.nkey", m.NATS.NKey, "****"},
		{"nats.user", m.NATS.User, "bob"},
		{"nats.url", m.NATS.URL, "nats://****@n1:4222,nats://n2:4222"},
		{"nats.creds", m.NATS.Creds, ""},
		{"http.auth.api-keys", m.HTTP.Auth.APIKeys, "****"},
		{"http.auth.api-keys-file", m.HTTP.Auth.APIKeysFile, "/etc/jetjobs/api-keys.yaml"},
		{"nats.server.users.importer.password", m.NATS.Server.Users["importer"].Password, "****"},
		{"nats.server.users.watcher.nkey", m.NATS.Server.Users["watcher"].NKey, "UB7D3WVK5I64BODUQJUNEEAPDUG6FXA563LQRFO5JNSLY6DLDMB3RVOZ"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %q, want %q", tt.key, tt.got, tt.want)
		}
	}
	if c.NATS.Password != "npw" || c.Orchestration.Airflow.Password != "pw1" || c.NATS.Server.Users["importer"].Password != "ipw" {
		t.Error("Masked changed the original")
	}
	out, err := m.YAML()
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"pw1", "bt1", "AKIA1", "sak1", "st1", "npw", "tk9", "SUAKEY", "secret@", "ipw"} {
		if strings.Contains(string(out), secret) {
			t.Errorf("masked YAML leaks %q", secret)
		}
	}
	// Empty secrets stay empty, so "****" always means "set".
	if d := Default().Masked(); !reflect.DeepEqual(d, Default()) {
		t.Errorf("Masked() of defaults changed them: %+v", d)
	}
}

func TestMaskUserinfo(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"", ""},
		{"nats://n1:4222", "nats://n1:4222"},
		{"nats://u:p@n1:4222", "nats://****@n1:4222"},
		{"u:p@n1:4222", "****@n1:4222"},
		{"tls://tok@n1:4222, nats://a:b@n2", "tls://****@n1:4222, nats://****@n2"},
		{"http://u:p@h/path@x", "http://****@h/path@x"},
		{"nats://u:p%40x@h", "nats://****@h"},
	}
	for _, tt := range tests {
		if got := maskUserinfo(tt.in); got != tt.want {
			t.Errorf("maskUserinfo(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
