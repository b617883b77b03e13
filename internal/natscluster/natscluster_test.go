package natscluster_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"

	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/internal/natscluster"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		cfg     natscluster.Config
		wantErr string // "" = valid
	}{
		{"defaults", natscluster.Config{Dir: "x"}, ""},
		{"no dir", natscluster.Config{}, "natscluster.dir"},
		{"too many nodes", natscluster.Config{Dir: "x", Nodes: 10}, "natscluster.nodes"},
		{"bad sync", natscluster.Config{Dir: "x", Sync: "sometimes"}, "natscluster.sync"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.cfg.WithDefaults().Validate()
			if (err == nil) != (tc.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("Validate() = %v, want an error naming %q", err, tc.wantErr)
			}
		})
	}
}

// A replicated stream keeps what it acknowledged through a step-down and
// through the hard loss of its leader, and the node that comes back on its
// old ports and store catches up until the cluster is healthy again.
func TestKillStepDownRestart(t *testing.T) {
	t.Parallel()
	c, err := natscluster.Start(natscluster.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := c.WaitHealthy(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.MetaLeader(); err != nil {
		t.Fatal(err)
	}
	if c.Size() != 3 || c.Index("n2") != 1 || c.Index("n9") != -1 || len(c.URLs()) != 3 {
		t.Fatalf("size %d, n2 at %d, URLs %v", c.Size(), c.Index("n2"), c.URLs())
	}
	nc, js, err := bus.Connect(bus.ConnConfig{URL: c.URL(), Name: t.Name()})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	const stream = "NATSCLUSTER_TEST"
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: stream, Subjects: []string{"nc.>"}, Replicas: 3}); err != nil {
		t.Fatal(err)
	}
	publish := func() {
		t.Helper()
		for {
			pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
			_, err := js.Publish(pctx, "nc.x", []byte("x"))
			pcancel()
			if err == nil {
				return
			}
			if ctx.Err() != nil {
				t.Fatalf("publish: %v", err)
			}
		}
	}
	publish()

	first, err := c.WaitStreamLeader(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	if old, err := c.StepDown(stream); err != nil || old != first {
		t.Fatalf("StepDown = %q, %v; want the leader %q", old, err, first)
	}
	for {
		if l, err := c.StreamLeader(stream); err == nil && l != first {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("%s still leads %s after its step-down", first, stream)
		}
		time.Sleep(20 * time.Millisecond)
	}

	leader, err := c.WaitStreamLeader(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	victim := c.Index(leader)
	c.Kill(victim)
	if c.Running(victim) || c.Server(victim) != nil {
		t.Fatalf("%s still running after Kill", leader)
	}
	if _, err := c.StepDown("NO_SUCH_STREAM"); !errors.Is(err, natscluster.ErrNoLeader) {
		t.Fatalf("StepDown of a missing stream: %v, want ErrNoLeader", err)
	}
	publish()
	if err := c.Restart(victim); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitHealthy(ctx); err != nil {
		t.Fatal(err)
	}
	info, err := js.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.CachedInfo().State.Msgs; got != 2 {
		t.Fatalf("%s holds %d messages, want 2", stream, got)
	}
}
