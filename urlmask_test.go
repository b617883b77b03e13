package jetjobs_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/jetjobs/jetjobs"
	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/internal/testutil"
	"github.com/jetjobs/jetjobs/jetjobstest"
)

// startAuthServer runs a JetStream server that wants either a user and
// password or a token, and returns its port.
func startAuthServer(t *testing.T, user, password, token string) int {
	t.Helper()
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(),
		NoSigs: true, NoLog: true, Username: user, Password: password, Authorization: token})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	if !srv.ReadyForConnections(jetjobstest.DefaultTimeout) {
		t.Fatal("server not ready")
	}
	return srv.Addr().(*net.TCPAddr).Port
}

// Credentials in nats.url (nats://user:pass@host, nats://token@host) are
// masked whole in /health, in the start-up log line and in connect errors.
func TestNATSURLCredentialsMasked(t *testing.T) {
	t.Parallel()
	const user, password, token = "eve-user", "s3cret-pw-42", "tok-9f8e7d6c"
	userPort := startAuthServer(t, user, password, "")
	tokenPort := startAuthServer(t, "", "", token)
	tests := []struct {
		name    string
		url     string
		secrets []string
		wantErr bool
	}{
		{"user and password", fmt.Sprintf("nats://%s:%s@127.0.0.1:%d", user, password, userPort), []string{user, password}, false},
		{"token", fmt.Sprintf("nats://%s@127.0.0.1:%d", token, tokenPort), []string{token}, false},
		{"wrong password", fmt.Sprintf("nats://%s:%s-no@127.0.0.1:%d", user, password, userPort), []string{user, password}, true},
		{"wrong token", fmt.Sprintf("nats://%s-no@127.0.0.1:%d", token, tokenPort), []string{token}, true},
		{"nobody listening", fmt.Sprintf("nats://%s@127.0.0.1:%d", token, testutil.FreePort(t)), []string{token}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var logs testutil.SyncBuffer
			cfg := embeddedConfig(t, t.TempDir())
			cfg.NATS.URL = tt.url
			cfg.HTTP.Addr = fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
			cfg.Log.Level = "info"
			eng, err := startDemoEngine(t, cfg, jetjobs.WithLogger(jetjobs.NewLogger("info", "json", &logs)))
			shown := []string{logs.String()}
			if tt.wantErr {
				if err == nil {
					t.Fatal("Start succeeded")
				}
				shown = append(shown, err.Error())
				if !strings.Contains(err.Error(), bus.RedactedUserinfo+"@127.0.0.1") {
					t.Errorf("error %q does not show the masked URL", err)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				shown = append(shown, logs.String(), eng.ClientURL(), health(t, "http://"+cfg.HTTP.Addr+"/health"))
				if !strings.Contains(logs.String(), `"nats":"nats://`+bus.RedactedUserinfo+`@127.0.0.1`) {
					t.Errorf("start-up line without the masked URL:\n%s", logs.String())
				}
				if h := shown[len(shown)-1]; !strings.Contains(h, bus.RedactedUserinfo+"@127.0.0.1") {
					t.Errorf("/health without the masked URL: %s", h)
				}
			}
			for _, s := range shown {
				for _, secret := range tt.secrets {
					if strings.Contains(s, secret) {
						t.Errorf("%q shows %q", s, secret)
					}
				}
			}
		})
	}
}

func health(t *testing.T, url string) string {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
