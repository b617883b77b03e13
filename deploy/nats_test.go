package deploy_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetjobs/jetjobs"
	"github.com/jetjobs/jetjobs/bus"
)

// natsEnv is what docker-compose.yaml gives each NATS server: the three
// passwords and the route URLs built from the route password.
func natsEnv(host func(i int) string) map[string]string {
	env := map[string]string{}
	for k, v := range fakeSecrets {
		env[k] = v
	}
	for i := 1; i <= 3; i++ {
		env[fmt.Sprintf("NATS_ROUTE_%d", i)] = fmt.Sprintf("nats-route://route:%s@%s:6222", fakeSecrets["NATS_ROUTE_PASSWORD"], host(i))
	}
	return env
}

// setEnv sets env for the test and unsets the names in unset; the server's
// config parser reads $NAME from the process environment, so the tests
// that use it cannot run in parallel.
func setEnv(t *testing.T, env map[string]string, unset ...string) {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
	for _, k := range unset {
		t.Setenv(k, "") // restored after the test
		os.Unsetenv(k)
	}
}

// checkNATSOptions checks what jetjobs relies on and the authentication
// the deploy files promise: no anonymous clients, the engine user in a
// JetStream account, a system account, authenticated routes.
func checkNATSOptions(t *testing.T, f string, opts *server.Options, routeHosts []string) {
	t.Helper()
	if !opts.JetStream || opts.SyncInterval != time.Second || opts.Cluster.Name != "jetjobs" {
		t.Errorf("%s: jetstream %v sync %s cluster %q", f, opts.JetStream, opts.SyncInterval, opts.Cluster.Name)
	}
	if opts.SystemAccount != "SYS" || opts.NoAuthUser != "" || opts.Username != "" || opts.Authorization != "" {
		t.Errorf("%s: system account %q, no_auth_user %q, single user %q/token set %v",
			f, opts.SystemAccount, opts.NoAuthUser, opts.Username, opts.Authorization != "")
	}
	users := map[string]*server.User{}
	for _, u := range opts.Users {
		users[u.Username] = u
	}
	for _, want := range []struct{ user, account, password string }{
		{"engine", "JETJOBS", fakeSecrets["NATS_ENGINE_PASSWORD"]},
		{"admin", "SYS", fakeSecrets["NATS_SYS_PASSWORD"]},
	} {
		u := users[want.user]
		if u == nil || u.Account == nil || u.Account.Name != want.account {
			t.Errorf("%s: user %s missing or not in account %s", f, want.user, want.account)
		} else if u.Password != want.password {
			t.Errorf("%s: user %s: the password is not the one from the environment", f, want.user)
		}
	}
	if len(users) != 2 {
		t.Errorf("%s: %d users, want engine and admin only", f, len(users))
	}
	if opts.Cluster.Username != "route" || opts.Cluster.Password != fakeSecrets["NATS_ROUTE_PASSWORD"] {
		t.Errorf("%s: cluster authorization user %q, or its password is not NATS_ROUTE_PASSWORD", f, opts.Cluster.Username)
	}
	if len(opts.Routes) != len(routeHosts) {
		t.Fatalf("%s: %d routes, want %d", f, len(opts.Routes), len(routeHosts))
	}
	for i, r := range opts.Routes {
		pw, _ := r.User.Password()
		if r.User.Username() != "route" || pw != fakeSecrets["NATS_ROUTE_PASSWORD"] || r.Hostname() != routeHosts[i] {
			t.Errorf("%s: route %d %s, want route credentials and host %s", f, i, r.Redacted(), routeHosts[i])
		}
	}
}

func TestNATSClusterConfigs(t *testing.T) { // not parallel: setEnv
	hosts := []string{"nats-1", "nats-2", "nats-3"}
	env := natsEnv(func(i int) string { return hosts[i-1] })
	tests := []struct {
		name    string
		unset   []string
		wantErr string
	}{
		{"every placeholder set", nil, ""},
		{"engine password unset", []string{"NATS_ENGINE_PASSWORD"}, "NATS_ENGINE_PASSWORD"},
		{"system password unset", []string{"NATS_SYS_PASSWORD"}, "NATS_SYS_PASSWORD"},
		{"route password unset", []string{"NATS_ROUTE_PASSWORD"}, "NATS_ROUTE_PASSWORD"},
		{"a route URL unset", []string{"NATS_ROUTE_2"}, "NATS_ROUTE_2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setEnv(t, env, tt.unset...)
			for i, f := range []string{"nats/nats-1.conf", "nats/nats-2.conf", "nats/nats-3.conf"} {
				opts, err := server.ProcessConfigFile(f)
				if tt.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
						t.Fatalf("%s: err %v, want one naming %s", f, err, tt.wantErr)
					}
					continue
				}
				if err != nil {
					t.Fatalf("%s: %v", f, err)
				}
				if opts.ServerName != hosts[i] {
					t.Errorf("%s: server_name %q", f, opts.ServerName)
				}
				checkNATSOptions(t, f, opts, hosts)
			}
		})
	}
}

// The three files differ only in the server's name.
func TestNATSClusterConfigsAgree(t *testing.T) {
	t.Parallel()
	name := regexp.MustCompile(`nats-[123]\b|server [123] of`)
	var first string
	for i, f := range []string{"nats/nats-1.conf", "nats/nats-2.conf", "nats/nats-3.conf"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		s := name.ReplaceAllString(string(b), "N")
		if i == 0 {
			first = s
		} else if s != first {
			t.Errorf("%s differs from nats-1.conf in more than the server's name", f)
		}
	}
}

// nats-1.conf's accounts on a real server (alone: no routes, random port):
// anonymous and wrong-password clients are refused, the engine user has
// JetStream, and the system account's user gets the answers
// `nats server list` needs, which the engine user cannot ask for.
func TestNATSConfigAuthOnARealServer(t *testing.T) { // not parallel: setEnv
	setEnv(t, natsEnv(func(i int) string { return fmt.Sprintf("nats-%d", i) }))
	opts, err := server.ProcessConfigFile("nats/nats-1.conf")
	if err != nil {
		t.Fatal(err)
	}
	opts.Host, opts.Port = "127.0.0.1", -1
	opts.HTTPHost, opts.HTTPPort = "", 0
	opts.Cluster, opts.Routes = server.ClusterOpts{}, nil
	opts.StoreDir = t.TempDir()
	opts.NoLog, opts.NoSigs = true, true
	s, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("server not ready")
	}
	url := s.ClientURL()

	tests := []struct {
		name, user, password string
		wantErr              error
	}{
		{"anonymous", "", "", nats.ErrAuthorization},
		{"engine, wrong password", "engine", "nope", nats.ErrAuthorization},
		{"engine", "engine", fakeSecrets["NATS_ENGINE_PASSWORD"], nil},
		{"system account user", "admin", fakeSecrets["NATS_SYS_PASSWORD"], nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var o []nats.Option
			if tt.user != "" {
				o = append(o, nats.UserInfo(tt.user, tt.password))
			}
			nc, err := nats.Connect(url, append(o, nats.NoReconnect())...)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("connect: %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			defer nc.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			js, err := jetstream.New(nc)
			if err != nil {
				t.Fatal(err)
			}
			_, jsErr := js.AccountInfo(ctx)
			_, pingErr := nc.Request("$SYS.REQ.SERVER.PING", nil, 2*time.Second)
			switch tt.user {
			case "engine":
				if jsErr != nil {
					t.Errorf("engine user has no JetStream: %v", jsErr)
				}
				if pingErr == nil {
					t.Error("engine user reached the system account's services")
				}
			case "admin":
				if pingErr != nil {
					t.Errorf("system account user: server ping: %v", pingErr)
				}
			}
		})
	}
}

// The three configurations form a cluster, on this machine: each server
// is started from its own file (ports moved to free local ones, each route
// URL keeping the credentials the environment gave it), and every server
// sees routes to both others, which the servers accept only with the route
// password.
func TestNATSClusterFormsWithRouteAuth(t *testing.T) { // not parallel: setEnv
	setEnv(t, natsEnv(func(i int) string { return fmt.Sprintf("nats-%d", i) }))
	ports := make([]int, 3)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ports[i] = l.Addr().(*net.TCPAddr).Port
		l.Close()
	}
	var servers []*server.Server
	for i := range 3 {
		opts, err := server.ProcessConfigFile(fmt.Sprintf("nats/nats-%d.conf", i+1))
		if err != nil {
			t.Fatal(err)
		}
		opts.Host, opts.Port = "127.0.0.1", -1
		opts.HTTPHost, opts.HTTPPort = "", 0
		opts.Cluster.Host, opts.Cluster.Port = "127.0.0.1", ports[i]
		for j, r := range opts.Routes {
			opts.Routes[j] = &url.URL{Scheme: r.Scheme, User: r.User, Host: fmt.Sprintf("127.0.0.1:%d", ports[j])}
		}
		opts.StoreDir = t.TempDir()
		opts.NoLog, opts.NoSigs = true, true
		s, err := server.NewServer(opts)
		if err != nil {
			t.Fatal(err)
		}
		go s.Start()
		t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
		servers = append(servers, s)
	}
	deadline := time.Now().Add(20 * time.Second)
	for _, s := range servers {
		for {
			rz, err := s.Routez(nil)
			if err != nil {
				t.Fatal(err)
			}
			peers := map[string]bool{}
			for _, r := range rz.Routes {
				peers[r.RemoteName] = true
			}
			if len(peers) == 2 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s has routes to %v only", s.Name(), peers)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	// The engines' configuration, as compose gives it, reaches JetStream
	// on this cluster as the engine user, with nats.url moved to the
	// servers' local ports.
	clusterYAML, err := os.ReadFile("engine.cluster.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := loadEngineConfig(t, clusterYAML, map[string]string{"JETJOBS_NATS_PASSWORD": fakeSecrets["NATS_ENGINE_PASSWORD"]})
	var urls []string
	for _, s := range servers {
		urls = append(urls, s.ClientURL())
	}
	if n := len(strings.Split(cfg.NATS.URL, ",")); n != len(urls) {
		t.Fatalf("engine.cluster.yaml nats.url lists %d servers, want %d", n, len(urls))
	}
	nc, js, err := bus.Connect(jetjobs.ConnConfig(cfg, strings.Join(urls, ","), "deploy-test"))
	if err != nil {
		t.Fatalf("the engine's cluster configuration does not connect: %v", err)
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := bus.WaitJetStream(ctx, js); err != nil {
		t.Fatalf("JetStream, as the engine user: %v", err)
	}
}
