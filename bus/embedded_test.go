package bus_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetjobs/jetjobs/bus"
)

// startServer runs an embedded server on a random port for one test.
func startServer(t *testing.T, tweak func(*server.Options)) *bus.Embedded {
	t.Helper()
	e, err := bus.StartEmbeddedWith(bus.EmbeddedConfig{Port: -1, StoreDir: t.TempDir()}, tweak)
	if err != nil {
		t.Fatalf("StartEmbedded: %v", err)
	}
	t.Cleanup(e.Shutdown)
	return e
}

// startAndConnect adds a plain client connection to startServer.
func startAndConnect(t *testing.T) (*bus.Embedded, *nats.Conn, jetstream.JetStream) {
	t.Helper()
	e := startServer(t, nil)
	nc, js, err := bus.Connect(bus.ConnConfig{URL: e.ClientURL(), Name: t.Name()})
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(nc.Close) // runs before Shutdown (cleanups are LIFO)
	return e, nc, js
}

func TestEmbeddedConfigDefaults(t *testing.T) {
	t.Parallel()
	got := bus.EmbeddedConfig{StoreDir: "/d"}.WithDefaults()
	want := bus.EmbeddedConfig{Host: "127.0.0.1", Port: 4222, StoreDir: "/d", Sync: "1s", ServerName: "jetjobs"}
	if got != want {
		t.Errorf("WithDefaults = %+v, want %+v", got, want)
	}
	kept := bus.EmbeddedConfig{Host: "0.0.0.0", Port: -1, StoreDir: "/d", Sync: "always", ServerName: "n1", MaxPayload: 1 << 20}
	if got := kept.WithDefaults(); got != kept {
		t.Errorf("WithDefaults changed set fields: %+v", got)
	}
}

func TestEmbeddedConfigValidate(t *testing.T) {
	t.Parallel()
	ok := bus.EmbeddedConfig{StoreDir: "/d"}
	for _, tc := range []struct {
		name    string
		mod     func(*bus.EmbeddedConfig)
		wantErr string
	}{
		{"defaults", func(*bus.EmbeddedConfig) {}, ""},
		{"always", func(c *bus.EmbeddedConfig) { c.Sync = "always" }, ""},
		{"duration", func(c *bus.EmbeddedConfig) { c.Sync = "250ms" }, ""},
		{"random port", func(c *bus.EmbeddedConfig) { c.Port = -1 }, ""},
		{"bad sync", func(c *bus.EmbeddedConfig) { c.Sync = "sometimes" }, `nats.sync: "sometimes" is neither "always" nor a duration`},
		{"zero sync", func(c *bus.EmbeddedConfig) { c.Sync = "0s" }, `nats.sync: "0s" must be a positive duration`},
		{"no store dir", func(c *bus.EmbeddedConfig) { c.StoreDir = "" }, `nats.store-dir: required`},
		{"bad port", func(c *bus.EmbeddedConfig) { c.Port = 70000 }, `nats.port: 70000 is out of range`},
		{"bad name", func(c *bus.EmbeddedConfig) { c.ServerName = "a b" }, `nats.server-name: "a b" must not contain spaces`},
		{"bad payload", func(c *bus.EmbeddedConfig) { c.MaxPayload = -1 }, `nats.max-payload: -1 must not be negative`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := ok
			tc.mod(&c)
			err := c.Validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Errorf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Validate = %v, want error containing %q", err, tc.wantErr)
			}
			if _, serr := bus.StartEmbedded(c); serr == nil || !strings.Contains(serr.Error(), tc.wantErr) {
				t.Errorf("StartEmbedded = %v, want error containing %q", serr, tc.wantErr)
			}
		})
	}
}

func TestEmbeddedJetStream(t *testing.T) {
	t.Parallel()
	_, _, js := startAndConnect(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := bus.WaitJetStream(ctx, js); err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "T", Subjects: []string{"t.>"}, Storage: jetstream.FileStorage}); err != nil {
		t.Fatal(err)
	}
	// Same Nats-Msg-Id twice: stored once.
	for range 2 {
		if _, err := js.Publish(ctx, "t.a", []byte("x"), jetstream.WithMsgID("one")); err != nil {
			t.Fatal(err)
		}
	}
	st, err := js.Stream(ctx, "T")
	if err != nil {
		t.Fatal(err)
	}
	if n := st.CachedInfo().State.Msgs; n != 1 {
		t.Errorf("stream holds %d messages, want 1 (dedup)", n)
	}
}

func TestEmbeddedSyncSetting(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		sync     string
		always   bool
		interval time.Duration
	}{{"", false, time.Second}, {"always", true, 0}, {"250ms", false, 250 * time.Millisecond}} {
		t.Run("sync="+tc.sync, func(t *testing.T) {
			t.Parallel()
			e, err := bus.StartEmbedded(bus.EmbeddedConfig{Port: -1, StoreDir: t.TempDir(), Sync: tc.sync})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Shutdown()
			opts := e.Server().JetStreamConfig()
			if opts == nil {
				t.Fatal("JetStream not enabled")
			}
			if opts.SyncAlways != tc.always || (!tc.always && opts.SyncInterval != tc.interval) {
				t.Errorf("SyncAlways=%v SyncInterval=%v, want %v %v", opts.SyncAlways, opts.SyncInterval, tc.always, tc.interval)
			}
		})
	}
}

func TestEmbeddedPortTaken(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	start := time.Now()
	_, err = bus.StartEmbedded(bus.EmbeddedConfig{Port: port, StoreDir: t.TempDir()})
	addr := "127.0.0.1:" + strconv.Itoa(port)
	if err == nil || !strings.Contains(err.Error(), addr) {
		t.Fatalf("StartEmbedded on a taken port = %v, want an error naming %s", err, addr)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v to report the taken port", d)
	}
}

func TestEmbeddedWildcardHost(t *testing.T) {
	t.Parallel()
	e, err := bus.StartEmbedded(bus.EmbeddedConfig{Host: "0.0.0.0", Port: -1, StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Shutdown()
	if !strings.HasPrefix(e.ClientURL(), "nats://127.0.0.1:") {
		t.Errorf("ClientURL = %q, want a loopback URL", e.ClientURL())
	}
	nc, err := nats.Connect(e.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	nc.Close()
}

func TestEmbeddedShutdownTwice(t *testing.T) {
	t.Parallel()
	e, err := bus.StartEmbedded(bus.EmbeddedConfig{Port: -1, StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(e.Shutdown)
	}
	wg.Wait()
	e.Shutdown()
	if e.Server().Running() {
		t.Error("server still running after Shutdown")
	}
}

func TestEmbeddedBadStoreDir(t *testing.T) {
	t.Parallel()
	file := t.TempDir() + "/not-a-dir"
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := bus.StartEmbedded(bus.EmbeddedConfig{Port: -1, StoreDir: file})
	if err == nil || !strings.Contains(err.Error(), "JetStream") {
		t.Fatalf("StartEmbedded with a file as store dir = %v, want a JetStream error", err)
	}
}

// recLogger records what the server logs; the server logs from many goroutines.
type recLogger struct {
	mu    sync.Mutex
	lines []string
}

func (l *recLogger) add(format string, v ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, v...))
}
func (l *recLogger) Noticef(format string, v ...any) { l.add(format, v...) }
func (l *recLogger) Warnf(format string, v ...any)   { l.add(format, v...) }
func (l *recLogger) Fatalf(format string, v ...any)  { l.add(format, v...) }
func (l *recLogger) Errorf(format string, v ...any)  { l.add(format, v...) }
func (l *recLogger) Debugf(format string, v ...any)  { l.add(format, v...) }
func (l *recLogger) Tracef(format string, v ...any)  { l.add(format, v...) }

func TestEmbeddedLogger(t *testing.T) {
	t.Parallel()
	lg := &recLogger{}
	e, err := bus.StartEmbedded(bus.EmbeddedConfig{Port: -1, StoreDir: t.TempDir(), Logger: lg})
	if err != nil {
		t.Fatal(err)
	}
	e.Shutdown()
	lg.mu.Lock()
	defer lg.mu.Unlock()
	if !slices.ContainsFunc(lg.lines, func(s string) bool { return strings.Contains(s, "Server is ready") }) {
		t.Errorf("logger got %q, want the server's notices", lg.lines)
	}
}

// The embedded server keeps no cache of subject matches: the engine's
// subjects are mostly new ones (a KV key, an audit subject, a reply inbox per
// call), so the cache would only churn.
func TestEmbeddedNoSublistCache(t *testing.T) {
	t.Parallel()
	e, nc, _ := startAndConnect(t)
	sub, err := nc.SubscribeSync("cache.>")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	for i := range 20 {
		if err := nc.Publish("cache.x."+strconv.Itoa(i), nil); err != nil {
			t.Fatal(err)
		}
	}
	for range 20 {
		if _, err := sub.NextMsg(5 * time.Second); err != nil {
			t.Fatal(err)
		}
	}
	sz, err := e.Server().Subsz(&server.SubszOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sz.NumCache != 0 {
		t.Fatalf("the server cached %d subject matches", sz.NumCache)
	}
}
