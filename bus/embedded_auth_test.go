package bus_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/jetjobs/jetjobs/bus"
)

// The seed is created private, then read back, and every concurrent
// starter on one data dir gets the same key.
func TestLoadOrCreateSeed(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "sub", bus.EngineSeedFile)
	keys := make([]string, 8)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pub, err := bus.LoadOrCreateSeed(path)
			if err != nil {
				t.Error(err)
			}
			keys[i] = pub
		}()
	}
	wg.Wait()
	for _, k := range keys {
		if k != keys[0] || !nkeys.IsValidPublicUserKey(k) {
			t.Fatalf("keys %v: want one user key", keys)
		}
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %#o, want 0600", st.Mode().Perm())
	}
	if pub, err := bus.ReadSeedPublicKey(path); err != nil || pub != keys[0] {
		t.Errorf("ReadSeedPublicKey = %q, %v", pub, err)
	}
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	_, err = bus.LoadOrCreateSeed(path)
	var cfe *bus.CredentialsFileError
	if !errors.As(err, &cfe) || cfe.Path != path || !strings.Contains(err.Error(), "0640") {
		t.Errorf("a group-readable seed: %v, want a CredentialsFileError naming %s", err, path)
	}
}

// The embedded server with an nkey user: the key gets in, no key does not;
// a user with permissions is held to them.
func TestEmbeddedAuthUsers(t *testing.T) {
	t.Parallel()
	seedPath := filepath.Join(t.TempDir(), bus.EngineSeedFile)
	pub, err := bus.LoadOrCreateSeed(seedPath)
	if err != nil {
		t.Fatal(err)
	}
	e, err := bus.StartEmbedded(bus.EmbeddedConfig{Port: -1, StoreDir: t.TempDir(), Auth: &bus.EmbeddedAuth{
		NKeys: []bus.EmbeddedNKey{{PublicKey: pub}},
		Users: []bus.EmbeddedUser{{User: "narrow", Password: "narrow-pw", Permissions: bus.Permissions{Publish: []string{"ok.>"}}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Shutdown)
	seed, err := bus.SeedOption(seedPath)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		cfg     bus.ConnConfig
		opts    []nats.Option
		wantErr string
	}{
		{"engine key", bus.ConnConfig{URL: e.ClientURL()}, []nats.Option{seed}, ""},
		{"no credentials", bus.ConnConfig{URL: e.ClientURL()}, nil, "Authorization Violation"},
		{"user", bus.ConnConfig{URL: e.ClientURL(), User: "narrow", Password: "narrow-pw"}, nil, ""},
		{"wrong password", bus.ConnConfig{URL: e.ClientURL(), User: "narrow", Password: "wide"}, nil, "Authorization Violation"},
		{"in-process with key", bus.ConnConfig{URL: "nats://in-process"}, []nats.Option{e.InProcess(), seed}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			nc, _, err := bus.Connect(tt.cfg, tt.opts...)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				nc.Close()
				return
			}
			if err == nil {
				nc.Close()
				t.Fatalf("connected, want %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %q, want %q", err, tt.wantErr)
			}
		})
	}
	t.Run("permissions", func(t *testing.T) {
		t.Parallel()
		errs := make(chan error, 1)
		nc, _, err := bus.Connect(bus.ConnConfig{URL: e.ClientURL(), User: "narrow", Password: "narrow-pw"},
			nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
				select {
				case errs <- err:
				default:
				}
			}))
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		_ = nc.Publish("not-ok.x", nil)
		if err := <-errs; !errors.Is(err, nats.ErrPermissionViolation) {
			t.Fatalf("publish outside the permissions: %v", err)
		}
	})
}

// DontListen: no TCP port; in-process connections work, even with TLS,
// which the TCP port requires.
func TestEmbeddedDontListenAndTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	caFile, cert := writeTestCA(t, dir)
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	der, err := x509.MarshalECPrivateKey(cert.PrivateKey.(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	tlsAuth := &bus.EmbeddedAuth{TLSCert: certFile, TLSKey: keyFile}
	tests := []struct {
		name       string
		cfg        bus.EmbeddedConfig
		listening  bool
		tcpCfg     bus.ConnConfig // how a TCP client connects; zero: not at all
		tcpWantErr string
	}{
		{"no listener", bus.EmbeddedConfig{DontListen: true}, false, bus.ConnConfig{}, ""},
		{"tls", bus.EmbeddedConfig{Port: -1, Auth: tlsAuth}, true, bus.ConnConfig{TLSCA: caFile}, ""},
		{"tls without the CA", bus.EmbeddedConfig{Port: -1, Auth: tlsAuth}, true, bus.ConnConfig{}, "tls"},
		{"no listener with tls", bus.EmbeddedConfig{DontListen: true, Auth: tlsAuth}, false, bus.ConnConfig{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := tt.cfg
			cfg.StoreDir = t.TempDir()
			e, err := bus.StartEmbedded(cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(e.Shutdown)
			if e.Listening() != tt.listening || (e.Server().Addr() != nil) != tt.listening {
				t.Fatalf("Listening = %v, Addr = %v; want listening %v", e.Listening(), e.Server().Addr(), tt.listening)
			}
			if !tt.listening && e.ClientURL() != bus.InProcessURL {
				t.Errorf("ClientURL = %q", e.ClientURL())
			}
			nc, js, err := bus.Connect(bus.ConnConfig{URL: "nats://in-process"}, e.InProcess())
			if err != nil {
				t.Fatalf("in-process: %v", err)
			}
			defer nc.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := bus.WaitJetStream(ctx, js); err != nil {
				t.Fatal(err)
			}
			if !tt.listening {
				return
			}
			tcp := tt.tcpCfg
			tcp.URL = e.ClientURL()
			if tt.tcpWantErr == "" {
				connectOK(t, tcp)
			} else {
				connectFails(t, tcp, tt.tcpWantErr)
			}
		})
	}
}
