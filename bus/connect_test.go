package bus_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"

	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/internal/testutil"
)

const (
	testUser     = "engine"
	testPassword = "s3cr3t-Pa55"
	testToken    = "tok-3c7a9f"
)

// connectOK connects, checks JetStream answers and closes.
func connectOK(t *testing.T, cfg bus.ConnConfig) {
	t.Helper()
	nc, js, err := bus.Connect(cfg)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := bus.WaitJetStream(ctx, js); err != nil {
		t.Fatal(err)
	}
}

// connectFails expects an error containing want and none of the secrets.
func connectFails(t *testing.T, cfg bus.ConnConfig, want string, secrets ...string) {
	t.Helper()
	nc, _, err := bus.Connect(cfg)
	if err == nil {
		nc.Close()
		t.Fatalf("Connect succeeded, want error containing %q", want)
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error = %q, want it to contain %q", err, want)
	}
	for _, s := range secrets {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error %q reveals a secret", err)
		}
	}
}

func TestConnectUserPassword(t *testing.T) {
	t.Parallel()
	e := startServer(t, func(o *server.Options) {
		o.Users = []*server.User{{Username: testUser, Password: testPassword}}
	})
	url := e.ClientURL()
	t.Run("ok", func(t *testing.T) {
		t.Parallel()
		connectOK(t, bus.ConnConfig{URL: url, User: testUser, Password: testPassword})
	})
	t.Run("wrong password", func(t *testing.T) {
		t.Parallel()
		connectFails(t, bus.ConnConfig{URL: url, User: testUser, Password: "wrong-" + testPassword},
			`as user "engine": nats: Authorization Violation`, "wrong-"+testPassword)
	})
	t.Run("no credentials", func(t *testing.T) {
		t.Parallel()
		connectFails(t, bus.ConnConfig{URL: url}, "Authorization Violation")
	})
	t.Run("password in URL", func(t *testing.T) {
		t.Parallel()
		withCreds := strings.Replace(url, "nats://", "nats://"+testUser+":bad-pass-77@", 1)
		connectFails(t, bus.ConnConfig{URL: withCreds}, "Authorization Violation", "bad-pass-77")
	})
}

func TestConnectToken(t *testing.T) {
	t.Parallel()
	e := startServer(t, func(o *server.Options) { o.Authorization = testToken })
	connectOK(t, bus.ConnConfig{URL: e.ClientURL(), Token: testToken})
	connectFails(t, bus.ConnConfig{URL: e.ClientURL(), Token: "not-" + testToken}, "Authorization Violation", "not-"+testToken)
}

func TestConnectNKey(t *testing.T) {
	t.Parallel()
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := kp.PublicKey()
	seed, _ := kp.Seed()
	seedFile := filepath.Join(t.TempDir(), "user.nk")
	if err := os.WriteFile(seedFile, seed, 0o600); err != nil {
		t.Fatal(err)
	}
	e := startServer(t, func(o *server.Options) { o.Nkeys = []*server.NkeyUser{{Nkey: pub}} })
	connectOK(t, bus.ConnConfig{URL: e.ClientURL(), NKeyFile: seedFile})
}

func TestConnectTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	caFile, serverCert := writeTestCA(t, dir)
	e := startServer(t, func(o *server.Options) {
		o.TLS = true
		o.TLSConfig = &tls.Config{Certificates: []tls.Certificate{serverCert}, MinVersion: tls.VersionTLS12}
	})
	url := e.ClientURL()
	connectOK(t, bus.ConnConfig{URL: url, TLSCA: caFile})
	connectOK(t, bus.ConnConfig{URL: url, TLSInsecure: true})
	connectFails(t, bus.ConnConfig{URL: url}, "tls")
}

func TestConnectConfigErrors(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "missing")
	garbage := filepath.Join(t.TempDir(), "garbage")
	if err := os.WriteFile(garbage, []byte("not a creds file"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		cfg  bus.ConnConfig
		want string
	}{
		"creds missing":     {bus.ConnConfig{CredsFile: missing}, "nats.creds: open " + missing + ": no such file"},
		"creds garbage":     {bus.ConnConfig{CredsFile: garbage}, "nats.creds: " + garbage},
		"nkey missing":      {bus.ConnConfig{NKeyFile: missing}, "nats.nkey: stat " + missing + ": no such file"},
		"nkey garbage":      {bus.ConnConfig{NKeyFile: garbage}, "nats.nkey: " + garbage},
		"ca missing":        {bus.ConnConfig{TLSCA: missing}, "nats.tls-ca: "},
		"cert missing":      {bus.ConnConfig{TLSCert: missing, TLSKey: missing}, "nats.tls-cert: "},
		"cert without key":  {bus.ConnConfig{TLSCert: garbage}, "nats.tls-cert and nats.tls-key: set both or neither"},
		"user and token":    {bus.ConnConfig{User: "u", Token: testToken}, "nats.user and nats.token: set only one"},
		"password only":     {bus.ConnConfig{Password: testPassword}, "nats.password: set without nats.user"},
		"creds and nkey":    {bus.ConnConfig{CredsFile: garbage, NKeyFile: garbage}, "nats.creds and nats.nkey: set only one"},
		"negative timeout":  {bus.ConnConfig{ConnectTimeout: -time.Second}, "nats.connect-timeout:"},
		"nothing listening": {bus.ConnConfig{URL: "nats://127.0.0.1:" + strconv.Itoa(testutil.FreePort(t)), ConnectTimeout: time.Second}, "nats: connect to nats://127.0.0.1:"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			connectFails(t, tc.cfg, tc.want, testPassword, testToken)
		})
	}
}

func TestWaitJetStreamGivesUp(t *testing.T) {
	t.Parallel()
	// A plain server without JetStream: the request never succeeds.
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("server not ready")
	}
	nc, js, err := bus.Connect(bus.ConnConfig{URL: s.ClientURL()})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = bus.WaitJetStream(ctx, js)
	if err == nil || !strings.Contains(err.Error(), "JetStream not available") {
		t.Fatalf("WaitJetStream = %v, want a JetStream not available error", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("WaitJetStream ran %v past a 1.5s context", d)
	}
}

// writeTestCA writes a throwaway CA to dir and returns its file and a server
// certificate for 127.0.0.1 signed by it.
func writeTestCA(t *testing.T, dir string) (string, tls.Certificate) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "jetjobs test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	srvTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:    x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, caTmpl, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return caFile, tls.Certificate{Certificate: [][]byte{srvDER}, PrivateKey: srvKey}
}
