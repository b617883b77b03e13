package bus

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// SyncAlways is the nats.sync value that fsyncs every JetStream write.
const SyncAlways = "always"

// readyTimeout bounds how long StartEmbedded waits for the listener.
const readyTimeout = 10 * time.Second

// EmbeddedConfig configures the in-process NATS server (docs/operations.md).
type EmbeddedConfig struct {
	Host       string // default "127.0.0.1"
	Port       int    // default 4222; -1 = random free port (tests)
	StoreDir   string // required: JetStream file storage dir
	Sync       string // "1s" default (a duration = server SyncInterval) or "always" (SyncAlways)
	ServerName string // default "jetjobs"
	MaxPayload int32  // 0 = server default
	// Logger receives the server's notices, warnings and errors; nil keeps
	// the server silent.
	Logger server.Logger
	// Auth is who the server admits and its TLS; nil admits anyone.
	Auth *EmbeddedAuth
	// DontListen opens no TCP port (nats.listen: off): only in-process
	// connections (InProcess) reach the server. Host and Port are ignored.
	DontListen bool
	// Cluster, when set, makes the server a node of a NATS cluster
	// (bus/embedded_cluster.go); nil: a single server.
	Cluster *EmbeddedCluster
}

// WithDefaults returns c with the empty fields set to their defaults.
func (c EmbeddedConfig) WithDefaults() EmbeddedConfig {
	if c.Host == "" {
		c.Host = "127.0.0.1"
	}
	if c.Port == 0 {
		c.Port = 4222
	}
	if c.Sync == "" {
		// The server's own default flushes only every two minutes.
		c.Sync = "1s"
	}
	if c.ServerName == "" {
		c.ServerName = "jetjobs"
	}
	return c
}

// Validate reports every bad field, named by its configuration key. Empty
// fields that WithDefaults fills are accepted.
func (c EmbeddedConfig) Validate() error {
	var errs []error
	if c.Port < -1 || c.Port > 65535 {
		errs = append(errs, fmt.Errorf("nats.port: %d is out of range (1-65535, or -1 for a random port)", c.Port))
	}
	if c.StoreDir == "" {
		errs = append(errs, errors.New("nats.store-dir: required (directory for JetStream file storage)"))
	}
	if _, _, err := c.syncSetting(); err != nil {
		errs = append(errs, err)
	}
	if strings.ContainsAny(c.ServerName, " \t\r\n") {
		errs = append(errs, fmt.Errorf("nats.server-name: %q must not contain spaces", c.ServerName))
	}
	if c.MaxPayload < 0 {
		errs = append(errs, fmt.Errorf("nats.max-payload: %d must not be negative", c.MaxPayload))
	}
	return errors.Join(errs...)
}

// syncSetting maps nats.sync onto the server's SyncAlways / SyncInterval.
func (c EmbeddedConfig) syncSetting() (always bool, interval time.Duration, err error) {
	switch c.Sync {
	case "":
		return false, 0, nil
	case SyncAlways:
		return true, 0, nil
	}
	d, err := time.ParseDuration(c.Sync)
	if err != nil {
		return false, 0, fmt.Errorf("nats.sync: %q is neither %q nor a duration", c.Sync, SyncAlways)
	}
	if d <= 0 {
		return false, 0, fmt.Errorf("nats.sync: %q must be a positive duration", c.Sync)
	}
	return false, d, nil
}

// Embedded is a running in-process NATS server with JetStream.
type Embedded struct {
	srv       *server.Server
	host      string
	inProcess bool
	once      sync.Once
}

// StartEmbedded starts the server and waits until it accepts connections.
// It installs no signal handlers: the engine owns the process's signals.
func StartEmbedded(cfg EmbeddedConfig) (*Embedded, error) {
	return startEmbedded(cfg, nil)
}

// startEmbedded lets tests adjust server options (users, TLS) that the
// engine itself does not configure.
func startEmbedded(cfg EmbeddedConfig, tweak func(*server.Options)) (*Embedded, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	always, interval, _ := cfg.syncSetting()
	opts := &server.Options{
		ServerName:   cfg.ServerName,
		Host:         cfg.Host,
		Port:         cfg.Port,
		MaxPayload:   cfg.MaxPayload,
		JetStream:    true,
		StoreDir:     cfg.StoreDir,
		SyncAlways:   always,
		SyncInterval: interval,
		NoSigs:       true,
		NoLog:        cfg.Logger == nil,
		// The engine publishes to a new subject for almost every write (a KV
		// key, audit subject and result key per execution, a reply inbox per
		// call), so the server's cache of subject matches rarely hits and is
		// pruned all the time under its lock. Without it: sync EXECUTE +3.6%,
		// burn-down +3.3%, REST +1.9% (docs/benchmarks.md).
		NoSublistCache: true,
	}
	if cfg.Auth != nil {
		if err := cfg.Auth.apply(opts); err != nil {
			return nil, err
		}
	}
	if cfg.Cluster != nil {
		if err := cfg.Cluster.apply(opts, cfg.Host); err != nil {
			return nil, err
		}
	}
	addr := net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))
	if cfg.DontListen {
		opts.DontListen = true
		addr = "no listener (in-process only)"
	}
	if tweak != nil {
		tweak(opts)
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("nats: embedded server on %s: %w", addr, err)
	}
	// The server reports start-up failures (port taken, store dir unusable)
	// only through Fatalf; catch them instead of waiting for the timeout.
	lg := &fatalCatcher{next: cfg.Logger}
	srv.SetLogger(lg, false, false)
	srv.Start()

	fail := func(err error) (*Embedded, error) {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, fmt.Errorf("nats: embedded server on %s: %w", addr, err)
	}
	deadline := time.Now().Add(readyTimeout)
	for {
		if err := lg.fatal(); err != nil {
			return fail(err)
		}
		if srv.ReadyForConnections(50 * time.Millisecond) {
			break
		}
		if time.Now().After(deadline) {
			return fail(fmt.Errorf("not ready for connections after %s", readyTimeout))
		}
	}
	if err := lg.fatal(); err != nil {
		return fail(err)
	}
	if !srv.JetStreamEnabled() {
		return fail(errors.New("JetStream is not enabled"))
	}
	return &Embedded{srv: srv, host: cfg.Host, inProcess: cfg.DontListen}, nil
}

// InProcessURL is what ClientURL says of a server without a listener.
const InProcessURL = "in-process"

// InProcess is the nats.go option that connects to the server in memory,
// without TCP and without TLS (the pipe never leaves the process).
func (e *Embedded) InProcess() nats.Option { return nats.InProcessServer(e.srv) }

// Listening reports whether the server has a TCP listener (not DontListen).
func (e *Embedded) Listening() bool { return !e.inProcess }

// ClientURL is the URL clients use to reach the server; a wildcard listen
// address is replaced by loopback so that the URL is dialable. A server
// without a listener has no URL: InProcessURL.
func (e *Embedded) ClientURL() string {
	if e.inProcess {
		return InProcessURL
	}
	tcp, ok := e.srv.Addr().(*net.TCPAddr)
	host := net.ParseIP(e.host)
	if !ok || host == nil || !host.IsUnspecified() {
		return e.srv.ClientURL()
	}
	lo := "127.0.0.1"
	if host.To4() == nil {
		lo = "::1"
	}
	return "nats://" + net.JoinHostPort(lo, strconv.Itoa(tcp.Port))
}

// Server exposes the underlying server (monitoring, tests).
func (e *Embedded) Server() *server.Server { return e.srv }

// Shutdown stops the server and waits until it is down. It is safe to call
// more than once and from several goroutines.
func (e *Embedded) Shutdown() {
	e.once.Do(func() {
		e.srv.Shutdown()
		e.srv.WaitForShutdown()
	})
}

// fatalCatcher records the server's first Fatalf and forwards everything to
// an optional logger.
type fatalCatcher struct {
	next server.Logger
	mu   sync.Mutex
	err  error
}

func (l *fatalCatcher) fatal() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

func (l *fatalCatcher) Fatalf(format string, v ...any) {
	l.mu.Lock()
	if l.err == nil {
		l.err = fmt.Errorf(format, v...)
	}
	l.mu.Unlock()
	if l.next != nil {
		// Errorf, not Fatalf: a logger's Fatalf may exit the process.
		l.next.Errorf(format, v...)
	}
}

func (l *fatalCatcher) Noticef(format string, v ...any) {
	if l.next != nil {
		l.next.Noticef(format, v...)
	}
}

func (l *fatalCatcher) Warnf(format string, v ...any) {
	if l.next != nil {
		l.next.Warnf(format, v...)
	}
}

func (l *fatalCatcher) Errorf(format string, v ...any) {
	if l.next != nil {
		l.next.Errorf(format, v...)
	}
}

func (l *fatalCatcher) Debugf(format string, v ...any) {
	if l.next != nil {
		l.next.Debugf(format, v...)
	}
}

func (l *fatalCatcher) Tracef(format string, v ...any) {
	if l.next != nil {
		l.next.Tracef(format, v...)
	}
}
