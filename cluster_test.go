package jetjobs_test

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/jetjobs/jetjobs"
	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/jetjobstest"
	"github.com/jetjobs/jetjobs/jobs"
)

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// testCluster is three JetStream servers in one cluster on fixed ports,
// so that a server shut down can be started again where it was.
type testCluster struct {
	t       *testing.T
	mu      sync.Mutex
	opts    []*server.Options
	servers []*server.Server
	urls    []string
}

func startCluster(t *testing.T) *testCluster {
	t.Helper()
	clusterPorts := []int{freePort(t), freePort(t), freePort(t)}
	var routes []*url.URL
	for _, p := range clusterPorts {
		routes = append(routes, &url.URL{Scheme: "nats-route", Host: fmt.Sprintf("127.0.0.1:%d", p)})
	}
	c := &testCluster{t: t}
	for i := range 3 {
		opts := &server.Options{ServerName: fmt.Sprintf("n%d", i+1), Host: "127.0.0.1", Port: freePort(t), NoSigs: true, NoLog: true,
			JetStream: true, StoreDir: t.TempDir(), SyncInterval: time.Second,
			Cluster: server.ClusterOpts{Name: "jetjobs-test", Host: "127.0.0.1", Port: clusterPorts[i]}, Routes: routes}
		c.opts = append(c.opts, opts)
		c.servers = append(c.servers, nil)
		c.start(i)
		c.urls = append(c.urls, c.servers[i].ClientURL())
	}
	t.Cleanup(func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, s := range c.servers {
			s.Shutdown()
		}
	})
	return c
}

// start (re)starts server i with its options, store included.
func (c *testCluster) start(i int) {
	c.t.Helper()
	s, err := server.NewServer(c.opts[i])
	if err != nil {
		c.t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		c.t.Fatal("server not ready")
	}
	c.mu.Lock()
	c.servers[i] = s
	c.mu.Unlock()
}

// kill shuts server i down at once, no lame duck mode: as kill -9 would,
// as far as the cluster and the clients can tell.
func (c *testCluster) kill(i int) {
	c.mu.Lock()
	s := c.servers[i]
	c.mu.Unlock()
	s.Shutdown()
	s.WaitForShutdown()
}

// index is the position of the server named name.
func (c *testCluster) index(name string) int {
	for i, o := range c.opts {
		if o.ServerName == name {
			return i
		}
	}
	c.t.Fatalf("no server %q", name)
	return -1
}

// The engine on a 3-node JetStream cluster with replicas 3, started as soon
// as the servers are: its first JetStream requests come before a meta leader
// exists and get no answer, and start-up retries until they do.
func TestEngineOnAThreeNodeCluster(t *testing.T) {
	t.Parallel()
	c := startCluster(t)
	var checks atomic.Int32
	cfg := jetjobs.DefaultConfig()
	cfg.NATS.URL = strings.Join(c.urls, ",")
	cfg.NATS.Replicas = 3
	cfg.HTTP.Addr = ""
	cfg.Orchestration.CheckInterval = 20 * time.Millisecond
	reg := jobs.NewRegistry()
	reg.MustRegister("clustered", &clockJob{after: 50 * time.Millisecond, checks: &checks})
	eng, err := jetjobs.New(cfg, reg, jetjobs.WithLogger(jetjobstest.TestLogger(t, "warn")))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer eng.Stop()
	info, err := eng.JetStream().Stream(ctx, "JOBS_COMMANDS")
	if err != nil || info.CachedInfo().Config.Replicas != 3 {
		t.Fatalf("commands stream: %v", err)
	}
	resp, err := eng.Client().Call(ctx, "clustered", jobs.StageStart, &jobs.Request{}, bus.SendOptions{})
	if err != nil || !resp.Success {
		t.Fatalf("start: %v %+v", err, resp)
	}
	// Three servers and a race-instrumented engine share two cores here: a
	// raft election can stall the cluster for a while, so wait longer than
	// elsewhere and say what was seen.
	var last string
	deadline := time.Now().Add(60 * time.Second)
	for {
		exec, _, err := eng.State().Get(ctx, "clustered", resp.ExecutionID)
		if err == nil && exec.Status == jobs.StatusCompleted {
			break
		}
		last = fmt.Sprintf("%+v %v", exec, err)
		if time.Now().After(deadline) {
			t.Fatalf("not COMPLETED in 60s; last seen %s", last)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
