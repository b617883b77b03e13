package jetjobs_test

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
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

// The engine on a 3-node JetStream cluster with replicas 3, started as soon
// as the servers are: its first JetStream requests come before a meta leader
// exists and get no answer, and start-up retries until they do.
func TestEngineOnAThreeNodeCluster(t *testing.T) {
	t.Parallel()
	clusterPorts := []int{freePort(t), freePort(t), freePort(t)}
	var routes []*url.URL
	for _, p := range clusterPorts {
		routes = append(routes, &url.URL{Scheme: "nats-route", Host: fmt.Sprintf("127.0.0.1:%d", p)})
	}
	var urls []string
	for i := range 3 {
		opts := &server.Options{ServerName: fmt.Sprintf("n%d", i+1), Host: "127.0.0.1", Port: -1, NoSigs: true, NoLog: true,
			JetStream: true, StoreDir: t.TempDir(), SyncInterval: time.Second,
			Cluster: server.ClusterOpts{Name: "jetjobs-test", Host: "127.0.0.1", Port: clusterPorts[i]}, Routes: routes}
		s, err := server.NewServer(opts)
		if err != nil {
			t.Fatal(err)
		}
		go s.Start()
		t.Cleanup(s.Shutdown)
		if !s.ReadyForConnections(10 * time.Second) {
			t.Fatal("server not ready")
		}
		urls = append(urls, s.ClientURL())
	}
	var checks atomic.Int32
	cfg := jetjobs.DefaultConfig()
	cfg.NATS.URL = strings.Join(urls, ",")
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
