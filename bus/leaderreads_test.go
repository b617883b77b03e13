package bus_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/internal/natscluster"
)

// A replicated bucket is made to answer reads from its leader only; a
// bucket of one replica keeps direct gets.
func TestLeaderReads(t *testing.T) {
	t.Parallel()
	cl, err := natscluster.Start(natscluster.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Shutdown()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := cl.WaitHealthy(ctx); err != nil {
		t.Fatal(err)
	}
	nc, js, err := bus.Connect(bus.ConnConfig{URL: cl.URL(), Name: t.Name()})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	for _, tc := range []struct {
		bucket     string
		replicas   int
		wantDirect bool
	}{
		{"LR_THREE", 3, false},
		{"LR_ONE", 1, true},
	} {
		kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: tc.bucket, Replicas: tc.replicas})
		if err != nil {
			t.Fatal(err)
		}
		if kv, err = bus.LeaderReads(ctx, js, kv.Bucket()); err != nil {
			t.Fatalf("%s: %v", tc.bucket, err)
		}
		if _, err := kv.Put(ctx, "k", []byte("v")); err != nil {
			t.Fatal(err)
		}
		if e, err := kv.Get(ctx, "k"); err != nil || string(e.Value()) != "v" {
			t.Fatalf("%s: get %v", tc.bucket, err)
		}
		st, err := js.Stream(ctx, "KV_"+tc.bucket)
		if err != nil {
			t.Fatal(err)
		}
		if got := st.CachedInfo().Config.AllowDirect; got != tc.wantDirect {
			t.Errorf("%s (R%d): allow_direct %v, want %v", tc.bucket, tc.replicas, got, tc.wantDirect)
		}
	}
}
