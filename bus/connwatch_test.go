package bus_test

import (
	neturl "net/url"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"

	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/internal/testutil"
)

// A disconnect and a reconnect are logged once each and told to the hooks;
// a slow consumer is reported and counted.
func TestWatchConnection(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	srv, err := bus.StartEmbedded(bus.EmbeddedConfig{Port: -1, StoreDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	url := srv.ClientURL()
	u, err := neturl.Parse(url)
	if err != nil {
		t.Fatal(err)
	}
	port, err := strconv.Atoi(u.Port())
	if err != nil {
		t.Fatal(err)
	}
	var logs testutil.SyncBuffer
	var down, up, slow atomic.Int32
	opts := bus.WatchConnection(zerolog.New(&logs), bus.ConnHooks{
		Disconnected: func() { down.Add(1) }, Reconnected: func() { up.Add(1) },
		AsyncError: func(kind string) {
			if kind == "slow_consumer" {
				slow.Add(1)
			}
		},
	})
	nc, _, err := bus.Connect(bus.ConnConfig{URL: url}, append(opts, nats.ReconnectWait(50*time.Millisecond))...)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()

	// A slow consumer: a subscription that holds one message at most.
	sub, err := nc.SubscribeSync("slow")
	if err != nil {
		t.Fatal(err)
	}
	if err := sub.SetPendingLimits(1, -1); err != nil {
		t.Fatal(err)
	}
	for range 20 {
		_ = nc.Publish("slow", []byte("x"))
	}
	_ = nc.Flush()
	testutil.Eventually(t, "slow consumer reported", 15*time.Second, func() bool { return slow.Load() > 0 })
	if n := logs.Count("slow consumer"); n != 1 {
		t.Errorf("slow consumer logged %d times, want 1", n)
	}

	srv.Shutdown()
	testutil.Eventually(t, "disconnect seen", 15*time.Second, func() bool { return down.Load() == 1 })
	srv, err = bus.StartEmbedded(bus.EmbeddedConfig{Port: port, StoreDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	testutil.Eventually(t, "reconnect seen", 15*time.Second, func() bool { return up.Load() == 1 })
	if n := logs.Count("NATS connection lost"); n != 1 {
		t.Errorf("disconnect logged %d times, want 1", n)
	}
	if n := logs.Count("NATS connection reestablished"); n != 1 {
		t.Errorf("reconnect logged %d times, want 1", n)
	}
	if down.Load() != 1 || up.Load() != 1 {
		t.Errorf("hooks: %d disconnects, %d reconnects; want 1 and 1", down.Load(), up.Load())
	}
}
