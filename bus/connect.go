package bus

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"github.com/jetjobs/jetjobs/internal/urlmask"
)

// ConnConfig says how to reach an existing NATS deployment. Field comments
// give the configuration key that errors name.
type ConnConfig struct {
	URL      string // nats.url; comma-separated for several servers; default nats.DefaultURL
	Name     string // connection name shown by the server
	User     string // nats.user
	Password string // nats.password
	Token    string // nats.token
	// CredsFile is a decorated JWT + seed file (nats.creds); NKeyFile a user
	// nkey seed file (nats.nkey).
	CredsFile, NKeyFile string
	TLSCert, TLSKey     string        // nats.tls-cert, nats.tls-key: client certificate
	TLSCA               string        // nats.tls-ca: roots that sign the server certificate
	TLSInsecure         bool          // nats.tls-insecure: skip server verification (tests only)
	ConnectTimeout      time.Duration // nats.connect-timeout; default 5s
}

// Connect dials NATS and opens its JetStream context. It reconnects forever
// once connected, but fails at once if the first connect fails, so that a
// misconfigured engine stops at start-up. extra options come last and win.
func Connect(cfg ConnConfig, extra ...nats.Option) (*nats.Conn, jetstream.JetStream, error) {
	opts, err := cfg.options()
	if err != nil {
		return nil, nil, err
	}
	servers := cfg.URL
	if servers == "" {
		servers = nats.DefaultURL
	}
	nc, err := nats.Connect(servers, append(opts, extra...)...)
	if err != nil {
		who := ""
		if cfg.User != "" {
			who = fmt.Sprintf(" as user %q", cfg.User)
		}
		return nil, nil, cfg.redact(fmt.Errorf("nats: connect to %s%s: %w", redactURLs(servers), who, err), servers)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("nats: jetstream: %w", err)
	}
	return nc, js, nil
}

func (c ConnConfig) options() ([]nats.Option, error) {
	timeout := c.ConnectTimeout
	if timeout < 0 {
		return nil, fmt.Errorf("nats.connect-timeout: %s must not be negative", timeout)
	}
	if timeout == 0 {
		timeout = 5 * time.Second
	}
	opts := []nats.Option{
		nats.Timeout(timeout),
		nats.MaxReconnects(-1),
		nats.RetryOnFailedConnect(false),
	}
	if c.Name != "" {
		opts = append(opts, nats.Name(c.Name))
	}

	switch {
	case c.User != "" && c.Token != "":
		return nil, errors.New("nats.user and nats.token: set only one")
	case c.Password != "" && c.User == "":
		return nil, errors.New("nats.password: set without nats.user")
	case c.CredsFile != "" && c.NKeyFile != "":
		return nil, errors.New("nats.creds and nats.nkey: set only one")
	case (c.TLSCert == "") != (c.TLSKey == ""):
		return nil, errors.New("nats.tls-cert and nats.tls-key: set both or neither")
	}
	if c.User != "" {
		opts = append(opts, nats.UserInfo(c.User, c.Password))
	}
	if c.Token != "" {
		opts = append(opts, nats.Token(c.Token))
	}
	if c.CredsFile != "" {
		if err := checkCreds(c.CredsFile); err != nil {
			return nil, fmt.Errorf("nats.creds: %w", err)
		}
		opts = append(opts, nats.UserCredentials(c.CredsFile))
	}
	if c.NKeyFile != "" {
		// Read first: NkeyOptionFromSeed's own errors do not say which file.
		if _, err := os.Stat(c.NKeyFile); err != nil {
			return nil, fmt.Errorf("nats.nkey: %w", err)
		}
		opt, err := nats.NkeyOptionFromSeed(c.NKeyFile)
		if err != nil {
			return nil, fmt.Errorf("nats.nkey: %s: %w", c.NKeyFile, err)
		}
		opts = append(opts, opt)
	}

	// TLS options are tried on scratch options so that a bad file is named
	// by its setting rather than by a generic connect error. Secure comes
	// first: ClientCert and RootCAs keep a TLS config that is already set.
	var tlsOpts []struct {
		key string
		opt nats.Option
	}
	add := func(key string, opt nats.Option) {
		tlsOpts = append(tlsOpts, struct {
			key string
			opt nats.Option
		}{key, opt})
	}
	if c.TLSInsecure {
		add("nats.tls-insecure", nats.Secure(&tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12})) //nolint:gosec // asked for explicitly
	}
	if c.TLSCert != "" {
		add("nats.tls-cert", nats.ClientCert(c.TLSCert, c.TLSKey))
	}
	if c.TLSCA != "" {
		add("nats.tls-ca", nats.RootCAs(c.TLSCA))
	}
	scratch := nats.GetDefaultOptions()
	for _, o := range tlsOpts {
		if err := o.opt(&scratch); err != nil {
			return nil, fmt.Errorf("%s: %w", o.key, err)
		}
		opts = append(opts, o.opt)
	}
	return opts, nil
}

// checkCreds reads a creds file to fail early on a missing or garbled file;
// the nats option itself reads it only when connecting.
func checkCreds(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	defer func() { // the file holds a private seed
		for i := range b {
			b[i] = 'x'
		}
	}()
	if _, err := nkeys.ParseDecoratedJWT(b); err != nil {
		return fmt.Errorf("%s: no user JWT: %w", path, err)
	}
	kp, err := nkeys.ParseDecoratedUserNKey(b)
	if err != nil {
		return fmt.Errorf("%s: no user nkey seed: %w", path, err)
	}
	kp.Wipe()
	return nil
}

// redact removes the password, the token and the whole user-info of the
// URLs (a user, a password or a token) from err's message, keeping err for
// errors.Is / errors.As.
func (c ConnConfig) redact(err error, servers string) error {
	secrets := []string{c.Password, c.Token}
	for _, s := range strings.Split(servers, ",") {
		if u, perr := parseServerURL(s); perr == nil && u.User != nil {
			// nats://tok@host: the user name is a token. With a password,
			// the user name is no secret, and the URLs in the message are
			// redacted whole anyway.
			v, ok := u.User.Password()
			if !ok {
				v = u.User.Username()
			}
			secrets = append(secrets, u.User.String(), v, url.QueryEscape(v), url.PathEscape(v))
		}
	}
	// Longest first: a password must not be half-replaced by a user name
	// that is part of it.
	slices.SortFunc(secrets, func(a, b string) int { return len(b) - len(a) })
	msg := err.Error()
	for _, s := range secrets {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, RedactedUserinfo)
		}
	}
	return &redactedError{msg: msg, err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// RedactedUserinfo replaces the user-info of a URL wherever one is shown.
const RedactedUserinfo = "xxxxx"

// redactURLs hides the user-info in a comma-separated server list.
func redactURLs(servers string) string {
	parts := strings.Split(servers, ",")
	for i, s := range parts {
		if u, err := parseServerURL(s); err == nil {
			parts[i] = RedactURL(u.String())
		} else {
			parts[i] = "<invalid URL>"
		}
	}
	return strings.Join(parts, ",")
}

// RedactURL hides the whole user-info of each URL in a comma-separated
// list: user, password and token (nats://tok@host carries a token as the
// user name, which url.URL.Redacted would show). Values that do not parse
// are cut at the last @ before the host all the same.
func RedactURL(s string) string { return urlmask.Userinfo(s, RedactedUserinfo) }

// WaitJetStream returns once JetStream answers an account-info request, or
// with the last error when ctx ends. In a cluster a request sent before the
// meta leader exists gets no answer at all, so each try has a short deadline.
func WaitJetStream(ctx context.Context, js jetstream.JetStream) error {
	for {
		tryCtx, cancel := context.WithTimeout(ctx, time.Second)
		_, err := js.AccountInfo(tryCtx)
		cancel()
		if err == nil {
			return nil
		}
		// Fast failures (no responders) must not become a busy loop.
		select {
		case <-ctx.Done():
			return fmt.Errorf("nats: JetStream not available: %w (last error: %v)", ctx.Err(), err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// parseServerURL parses like nats.go does, which accepts "host:port".
func parseServerURL(s string) (*url.URL, error) {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "://") {
		s = "nats://" + s
	}
	return url.Parse(s)
}
