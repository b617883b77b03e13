package jetjobs_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jetjobs/jetjobs"
	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/internal/natscluster"
	"github.com/jetjobs/jetjobs/jetjobstest"
	"github.com/jetjobs/jetjobs/jobs"
)

// testCluster is three JetStream servers in one cluster on fixed ports,
// so that a server shut down can be started again where it was: a thin
// wrapper over internal/natscluster (cl) that fails the test on error.
type testCluster struct {
	t    *testing.T
	cl   *natscluster.Cluster
	urls []string
}

func startCluster(t *testing.T) *testCluster {
	t.Helper()
	cl, err := natscluster.Start(natscluster.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Shutdown)
	return &testCluster{t: t, cl: cl, urls: cl.URLs()}
}

// start (re)starts server i with its options, store included.
func (c *testCluster) start(i int) {
	c.t.Helper()
	if err := c.cl.Restart(i); err != nil {
		c.t.Fatal(err)
	}
}

// kill shuts server i down at once, no lame duck mode: as kill -9 would,
// as far as the cluster and the clients can tell.
func (c *testCluster) kill(i int) { c.cl.Kill(i) }

// index is the position of the server named name.
func (c *testCluster) index(name string) int {
	c.t.Helper()
	i := c.cl.Index(name)
	if i < 0 {
		c.t.Fatalf("no server %q", name)
	}
	return i
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
