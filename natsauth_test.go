package jetjobs_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"github.com/jetjobs/jetjobs"
	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/internal/config"
	"github.com/jetjobs/jetjobs/internal/samplejobs"
	"github.com/jetjobs/jetjobs/internal/testutil"
	"github.com/jetjobs/jetjobs/jetjobstest"
	"github.com/jetjobs/jetjobs/jobs"
)

// embeddedConfig is an engine with its own embedded server on a free port,
// storing in dir.
func embeddedConfig(t *testing.T, dir string) jetjobs.Config {
	t.Helper()
	cfg := jetjobs.DefaultConfig()
	cfg.NATS.Listen = fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
	cfg.NATS.DataDir = dir
	cfg.HTTP.Addr = ""
	cfg.Log.Level = "warn"
	return cfg
}

// startDemoEngine starts an engine with the fixture jobs (samplejobs.Register); it is stopped when
// the test ends.
func startDemoEngine(t *testing.T, cfg jetjobs.Config, opts ...jetjobs.Option) (*jetjobs.Engine, error) {
	t.Helper()
	reg := jobs.NewRegistry()
	if err := samplejobs.Register(reg); err != nil {
		t.Fatal(err)
	}
	opts = append([]jetjobs.Option{jetjobs.WithLogger(jetjobstest.TestLogger(t, "warn"))}, opts...)
	eng, err := jetjobs.New(cfg, reg, opts...)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), jetjobstest.DefaultTimeout)
	defer cancel()
	if err := eng.Start(ctx); err != nil {
		return nil, err
	}
	t.Cleanup(eng.Stop)
	return eng, nil
}

// validate runs the fixtures' sync job over conn and fails the test unless
// it answers.
func validate(t *testing.T, nc *nats.Conn, customer string) {
	t.Helper()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	cl := bus.NewClient(nc, js)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), jetjobstest.DefaultTimeout)
	defer cancel()
	resp, err := cl.Call(ctx, "customer-validation", jobs.StageExecute, &jobs.Request{Parameters: map[string]any{"customerId": customer}}, bus.SendOptions{})
	if err != nil || !resp.Success {
		t.Fatalf("customer-validation: %+v, %v", resp, err)
	}
}

// By default the embedded server admits only the engine's generated key:
// the seed is private, kept across restarts, and a client without it is
// refused.
func TestEmbeddedServerNeedsTheEngineKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := embeddedConfig(t, dir)
	eng, err := startDemoEngine(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	seedPath := filepath.Join(dir, bus.EngineSeedFile)
	st, err := os.Stat(seedPath)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %#o, want 0600", seedPath, st.Mode().Perm())
	}
	tests := []struct {
		name    string
		opts    []nats.Option
		wantErr string
	}{
		{"no credentials", nil, "Authorization Violation"},
		{"another key", []nats.Option{otherKey(t)}, "Authorization Violation"},
		{"a token", []nats.Option{nats.Token("guess")}, "Authorization Violation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			nc, err := nats.Connect("nats://"+cfg.NATS.Listen, tt.opts...)
			if err == nil {
				nc.Close()
				t.Fatalf("connected, want %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %q, want %q", err, tt.wantErr)
			}
		})
	}
	t.Run("engine key", func(t *testing.T) {
		t.Parallel()
		nc, _, err := eng.Dial(t.Name())
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		validate(t, nc, "CUST-1")
	})
	t.Run("restart reuses the key", func(t *testing.T) {
		t.Parallel()
		cfg2 := cfg
		cfg2.NATS.Listen = fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
		cfg2.NATS.DataDir = t.TempDir()
		first, err := startDemoEngine(t, cfg2)
		if err != nil {
			t.Fatal(err)
		}
		before, _ := os.ReadFile(filepath.Join(cfg2.NATS.DataDir, bus.EngineSeedFile))
		first.Stop()
		second, err := startDemoEngine(t, cfg2)
		if err != nil {
			t.Fatal(err)
		}
		after, _ := os.ReadFile(filepath.Join(cfg2.NATS.DataDir, bus.EngineSeedFile))
		if !bytes.Equal(before, after) || len(after) == 0 {
			t.Fatal("the seed changed across a restart")
		}
		nc, _, err := second.Dial(t.Name())
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		validate(t, nc, "CUST-2")
	})
}

func otherKey(t *testing.T) nats.Option {
	t.Helper()
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := kp.PublicKey()
	return nats.Nkey(pub, kp.Sign)
}

// A seed file that may have leaked, or that is not a seed, stops the
// engine at start-up with an error naming the file.
func TestEngineRefusesABadSeedFile(t *testing.T) {
	t.Parallel()
	account, _ := nkeys.CreateAccount()
	accountSeed, _ := account.Seed()
	user, _ := nkeys.CreateUser()
	userSeed, _ := user.Seed()
	tests := []struct {
		name    string
		prepare func(path string) error
		wantErr string
	}{
		{"readable by others", func(p string) error { return os.WriteFile(p, userSeed, 0o644) }, "permissions 0644 are too wide"},
		{"group writable", func(p string) error {
			if err := os.WriteFile(p, userSeed, 0o600); err != nil {
				return err
			}
			return os.Chmod(p, 0o620)
		}, "permissions 0620 are too wide"},
		{"not a seed", func(p string) error { return os.WriteFile(p, []byte("hello"), 0o600) }, "holds no nkey seed"},
		{"an account seed", func(p string) error { return os.WriteFile(p, accountSeed, 0o600) }, "holds no user nkey seed"},
		{"a directory", func(p string) error { return os.Mkdir(p, 0o700) }, "is not a regular file"},
		{"a good one", func(p string) error { return os.WriteFile(p, userSeed, 0o600) }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := filepath.Join(dir, bus.EngineSeedFile)
			if err := tt.prepare(path); err != nil {
				t.Fatal(err)
			}
			_, err := startDemoEngine(t, embeddedConfig(t, dir))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Start: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), path) ||
				!errors.Is(err, bus.ErrCredentialsFile) {
				t.Fatalf("Start = %v, want an error naming %s: %q", err, path, tt.wantErr)
			}
		})
	}
}

// nats.listen off: no TCP listener, and the engine works in-process.
func TestListenOff(t *testing.T) {
	t.Parallel()
	cfg := embeddedConfig(t, t.TempDir())
	cfg.NATS.Listen = "off"
	eng, err := startDemoEngine(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if addr := eng.Embedded().Server().Addr(); addr != nil {
		t.Errorf("the server listens on %s", addr)
	}
	if got := eng.ClientURL(); got != bus.InProcessURL {
		t.Errorf("ClientURL = %q, want %q", got, bus.InProcessURL)
	}
	ctx, cancel := context.WithTimeout(context.Background(), jetjobstest.DefaultTimeout)
	defer cancel()
	resp, err := eng.Client().Call(ctx, "customer-validation", jobs.StageExecute, &jobs.Request{Parameters: map[string]any{"customerId": "CUST-3"}}, bus.SendOptions{})
	if err != nil || !resp.Success {
		t.Fatalf("call: %+v, %v", resp, err)
	}
	nc, _, err := eng.Dial(t.Name())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	validate(t, nc, "CUST-4")
	if _, _, err := jetjobs.ClientDial(cfg, "cli"); !errors.Is(err, jetjobs.ErrNoListener) {
		t.Errorf("ClientDial = %v, want ErrNoListener", err)
	}
}

// With nats.server.auth none the server admits anyone (tests, benches).
func TestAuthNone(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := embeddedConfig(t, dir)
	cfg.NATS.Server.Auth = "none"
	if _, err := startDemoEngine(t, cfg); err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect("nats://" + cfg.NATS.Listen)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	validate(t, nc, "CUST-5")
	if _, err := os.Stat(filepath.Join(dir, bus.EngineSeedFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a seed was written with auth none: %v", err)
	}
}

// nats.server.users: a configured user with narrow permissions next to
// the engine's key.
func TestConfiguredUsers(t *testing.T) {
	t.Parallel()
	cfg := embeddedConfig(t, t.TempDir())
	cfg.NATS.Server.Users = map[string]config.NATSUser{
		"reader": {Password: "reader-pw", Subscribe: []string{"jobs.evt.>"}, Publish: []string{"nothing"}},
	}
	if _, err := startDemoEngine(t, cfg); err != nil {
		t.Fatal(err)
	}
	url := "nats://" + cfg.NATS.Listen
	if _, err := nats.Connect(url, nats.UserInfo("reader", "wrong")); err == nil || !strings.Contains(err.Error(), "Authorization Violation") {
		t.Fatalf("wrong password: %v", err)
	}
	errs := make(chan error, 4)
	nc, err := nats.Connect(url, nats.UserInfo("reader", "reader-pw"), nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { errs <- err }))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if err := nc.Publish("jobs.cmd.customer-validation.execute", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errs:
		if !errors.Is(err, nats.ErrPermissionViolation) {
			t.Fatalf("async error %v, want a permissions violation", err)
		}
	case <-time.After(jetjobstest.DefaultTimeout):
		t.Fatal("no permissions violation")
	}
}
