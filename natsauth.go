package jetjobs

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/internal/config"
)

// inProcessURL is the server URL given to nats.go for an in-process
// connection: nats.go parses it, and never dials it.
const inProcessURL = "nats://in-process"

// EngineSeedPath is where the engine keeps the nkey seed it signs in to its
// embedded server with (nats.server.auth generated): in nats.data-dir.
func EngineSeedPath(cfg Config) string {
	return filepath.Join(cfg.NATS.DataDir, bus.EngineSeedFile)
}

// embeddedConfig is the embedded server of cfg; with auth generated, the
// seed is created (or checked and reused) here.
func embeddedConfig(cfg Config) (bus.EmbeddedConfig, error) {
	n := cfg.NATS
	ec := bus.EmbeddedConfig{StoreDir: n.DataDir, Sync: n.Sync, DontListen: n.Listen == config.NATSListenOff}
	if !ec.DontListen {
		host, portStr, err := net.SplitHostPort(n.Listen)
		if err != nil {
			return ec, fmt.Errorf("config: nats.listen: %v", err)
		}
		port, err := strconv.Atoi(portStr)
		if err != nil {
			return ec, fmt.Errorf("config: nats.listen: port %q is not a number", portStr)
		}
		ec.Host, ec.Port = host, port
	}
	s := n.Server
	auth := &bus.EmbeddedAuth{TLSCert: s.TLSCert, TLSKey: s.TLSKey, TLSCA: s.TLSCA}
	if s.Auth == config.NATSAuthGenerated {
		pub, err := bus.LoadOrCreateSeed(EngineSeedPath(cfg))
		if err != nil {
			return ec, err
		}
		auth.NKeys = append(auth.NKeys, bus.EmbeddedNKey{PublicKey: pub})
	}
	for _, name := range slices.Sorted(maps.Keys(s.Users)) {
		u := s.Users[name]
		perms := bus.Permissions{Publish: u.Publish, Subscribe: u.Subscribe}
		if u.NKey != "" {
			auth.NKeys = append(auth.NKeys, bus.EmbeddedNKey{PublicKey: u.NKey, Permissions: perms})
		} else {
			auth.Users = append(auth.Users, bus.EmbeddedUser{User: name, Password: u.Password, Permissions: perms})
		}
	}
	ec.Auth = auth
	return ec, nil
}

// embeddedDial is how the engine reaches its own embedded server: as its
// generated nkey user, in-process when the server has no listener or speaks
// TLS (an in-memory pipe needs no certificate check).
func (e *Engine) embeddedDial(name string) (bus.ConnConfig, []nats.Option, error) {
	n := e.cfg.NATS
	cc := bus.ConnConfig{URL: e.emb.ClientURL(), Name: name, ConnectTimeout: n.ConnectTimeout}
	var opts []nats.Option
	if !e.emb.Listening() || n.Server.TLSCert != "" {
		cc.URL = inProcessURL
		opts = append(opts, e.emb.InProcess())
	}
	if n.Server.Auth == config.NATSAuthGenerated {
		seed, err := bus.SeedOption(EngineSeedPath(e.cfg))
		if err != nil {
			return cc, nil, err
		}
		opts = append(opts, seed)
	}
	return cc, append(opts, inboxOption(n)...), nil
}

// connWatch logs what happens to a connection of the engine's process
// outside any call: disconnects, reconnects, slow consumers, errors the
// server reports such as a permissions violation (with narrow NATS
// permissions, docs/operations.md, Security, it names what is missing).
// counted: the engine's own connection, whose events are also metrics.
func (e *Engine) connWatch(counted bool) []nats.Option {
	var hooks bus.ConnHooks
	if counted && e.obs != nil {
		hooks = bus.ConnHooks{Reconnected: e.obs.NATSReconnected, AsyncError: e.obs.NATSError}
	}
	return bus.WatchConnection(e.log, hooks)
}

// inboxOption sets nats.inbox-prefix on a connection.
func inboxOption(n config.NATS) []nats.Option {
	if n.InboxPrefix == "" || n.InboxPrefix == bus.DefaultInboxPrefix {
		return nil
	}
	return []nats.Option{nats.CustomInboxPrefix(n.InboxPrefix)}
}

// Dial opens a connection of this process to the engine's NATS (after
// Start), as the engine connects: with its credentials, its inbox prefix,
// in-process when its embedded server has no listener. Tests and tools
// that run next to an engine use it; the caller closes the connection.
func (e *Engine) Dial(name string) (*nats.Conn, jetstream.JetStream, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case e.nc == nil:
		return nil, nil, errors.New("jetjobs: Dial before Start")
	case e.emb != nil:
		cc, opts, err := e.embeddedDial(name)
		if err != nil {
			return nil, nil, err
		}
		return bus.Connect(cc, append(opts, e.connWatch(false)...)...)
	case e.conn != nil:
		return nil, nil, errors.New("jetjobs: Dial: the engine runs on a connection given by WithConn")
	}
	return bus.Connect(ConnConfig(e.cfg, e.cfg.NATS.URL, name), inboxOption(e.cfg.NATS)...)
}

// ErrNoListener is the error of a client (engine call, events, audit,
// saga) whose configuration runs the embedded server with nats.listen off.
var ErrNoListener = errors.New("the embedded NATS server has no listener (nats.listen: off): only the engine's own process can reach it; " +
	"set nats.listen to an address such as 127.0.0.1:4222 to use the CLI")

// ClientDial is how a separate process (the CLI) reaches the NATS that an
// engine with cfg uses: nats.url, else the embedded server's nats.listen
// address. With no explicit credentials (nats.user, token, creds, nkey)
// and nats.server.auth generated, it signs in with the engine's seed in
// nats.data-dir, which must exist (the engine has started once) and be
// private.
func ClientDial(cfg Config, name string) (bus.ConnConfig, []nats.Option, error) {
	n := cfg.NATS
	opts := inboxOption(n)
	if n.URL != "" {
		return ConnConfig(cfg, n.URL, name), opts, nil
	}
	if n.Listen == config.NATSListenOff {
		return bus.ConnConfig{}, nil, ErrNoListener
	}
	scheme := "nats://"
	if n.Server.TLSCert != "" {
		scheme = "tls://"
	}
	cc := ConnConfig(cfg, scheme+n.Listen, name)
	explicit := n.User != "" || n.Token != "" || n.Creds != "" || n.NKey != ""
	if explicit || n.Server.Auth != config.NATSAuthGenerated {
		return cc, opts, nil
	}
	path := EngineSeedPath(cfg)
	seed, err := bus.SeedOption(path)
	if errors.Is(err, fs.ErrNotExist) {
		return cc, nil, fmt.Errorf("no engine key at %s (nats.data-dir %s): start `engine run` with the same configuration and --data-dir first, "+
			"or give credentials (nats.user, nats.token, nats.creds, nats.nkey)", path, n.DataDir)
	}
	if err != nil {
		return cc, nil, err
	}
	return cc, append(opts, seed), nil
}
