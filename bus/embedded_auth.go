package bus

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
)

// EmbeddedAuth is who the embedded server admits and how it encrypts
// (docs/configuration.md, nats.server). A server with no users and no
// nkeys admits anyone.
type EmbeddedAuth struct {
	NKeys []EmbeddedNKey // nkey users, by public key
	Users []EmbeddedUser // user/password users
	// TLSCert and TLSKey make the server speak TLS; TLSCA, when set, also
	// makes it require and verify client certificates signed by that CA.
	TLSCert, TLSKey, TLSCA string
}

// Permissions limits what a user may publish and subscribe to. An empty
// list allows everything (the NATS server's own rule).
type Permissions struct {
	Publish   []string
	Subscribe []string
}

// EmbeddedUser is a user/password user of the embedded server.
type EmbeddedUser struct {
	User, Password string
	Permissions    Permissions
}

// EmbeddedNKey is an nkey user: the server knows only its public key and
// checks a signature by the matching seed.
type EmbeddedNKey struct {
	PublicKey   string
	Permissions Permissions
}

// ErrCredentialsFile is the error of a credentials file that the engine
// must not use: unreadable, garbled, or readable by others.
var ErrCredentialsFile = errors.New("nats: credentials file unusable")

// CredentialsFileError names the file and says what is wrong with it.
type CredentialsFileError struct {
	Path   string
	Reason string
	Err    error
}

func (e *CredentialsFileError) Error() string {
	return fmt.Sprintf("nats: credentials file %s: %s", e.Path, e.Reason)
}

// Is makes errors.Is(err, ErrCredentialsFile) hold.
func (e *CredentialsFileError) Is(target error) bool { return target == ErrCredentialsFile }

// Unwrap returns the file system error, if there was one.
func (e *CredentialsFileError) Unwrap() error { return e.Err }

// EngineSeedFile is the name, inside nats.data-dir, of the nkey seed the
// engine generates for its embedded server (docs/operations.md, Security).
const EngineSeedFile = "nats-engine.nk"

// LoadOrCreateSeed returns the public key of the user nkey whose seed is in
// path, creating the file (mode 0600) with a new seed if it does not exist.
// A file that others may read or write, or that holds no user seed, is
// refused with a *CredentialsFileError naming it: the engine must not run
// with a key that may have leaked, nor silently replace one.
func LoadOrCreateSeed(path string) (string, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", &CredentialsFileError{Path: path, Reason: "cannot create its directory: " + err.Error(), Err: err}
	}
	kp, err := nkeys.CreateUser()
	if err != nil {
		return "", err
	}
	defer kp.Wipe()
	seed, err := kp.Seed()
	if err != nil {
		return "", err
	}
	defer wipe(seed)
	// The seed is written to a private temporary file and then linked into
	// place: the link fails if the file exists, so two engines starting on
	// one data dir agree on one seed, and a reader never sees it half written.
	tmp, err := os.CreateTemp(filepath.Dir(path), ".nats-engine-*.tmp")
	if err != nil {
		return "", &CredentialsFileError{Path: path, Reason: "cannot create it: " + err.Error(), Err: err}
	}
	defer os.Remove(tmp.Name())
	werr := tmp.Chmod(0o600)
	if werr == nil {
		_, werr = tmp.Write(seed) // not append(seed, '\n'): a copy would escape the wipe
	}
	if werr == nil {
		_, werr = tmp.Write([]byte{'\n'})
	}
	if werr == nil {
		werr = tmp.Sync()
	}
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return "", &CredentialsFileError{Path: path, Reason: "cannot write it: " + werr.Error(), Err: werr}
	}
	switch err := os.Link(tmp.Name(), path); {
	case err == nil:
		return kp.PublicKey()
	case !errors.Is(err, fs.ErrExist):
		return "", &CredentialsFileError{Path: path, Reason: "cannot create it: " + err.Error(), Err: err}
	}
	return ReadSeedPublicKey(path)
}

// ReadSeedPublicKey checks a user nkey seed file the way LoadOrCreateSeed
// does (mode 0600 or narrower, a user seed in it) and returns the public key.
func ReadSeedPublicKey(path string) (string, error) {
	if err := CheckPrivateFile(path); err != nil {
		return "", err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", &CredentialsFileError{Path: path, Reason: "cannot read it: " + err.Error(), Err: err}
	}
	defer wipe(b)
	kp, err := nkeys.FromSeed([]byte(strings.TrimSpace(string(b))))
	if err != nil {
		return "", &CredentialsFileError{Path: path, Reason: "holds no nkey seed", Err: err}
	}
	defer kp.Wipe()
	pub, err := kp.PublicKey()
	if err != nil || !nkeys.IsValidPublicUserKey(pub) {
		return "", &CredentialsFileError{Path: path, Reason: "holds no user nkey seed (want a seed starting SU)", Err: err}
	}
	return pub, nil
}

// CheckPrivateFile refuses a file that group or others may read or write
// (ignored on Windows, where modes say nothing about that).
func CheckPrivateFile(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return &CredentialsFileError{Path: path, Reason: "cannot read it: " + err.Error(), Err: err}
	}
	if !st.Mode().IsRegular() {
		return &CredentialsFileError{Path: path, Reason: "is not a regular file"}
	}
	if runtime.GOOS != "windows" && st.Mode().Perm()&0o077 != 0 {
		return &CredentialsFileError{Path: path, Reason: fmt.Sprintf(
			"permissions %#o are too wide: others may read the engine's key; run chmod 600 %s", st.Mode().Perm(), path)}
	}
	return nil
}

func wipe(b []byte) {
	for i := range b {
		b[i] = 'x'
	}
}

// SeedOption is the nats.go option that signs in with the user nkey seed
// in path, after checking the file as ReadSeedPublicKey does.
func SeedOption(path string) (nats.Option, error) {
	if _, err := ReadSeedPublicKey(path); err != nil {
		return nil, err
	}
	opt, err := nats.NkeyOptionFromSeed(path)
	if err != nil {
		return nil, &CredentialsFileError{Path: path, Reason: err.Error(), Err: err}
	}
	return opt, nil
}

// apply sets a's users, nkeys and TLS on the server options.
func (a *EmbeddedAuth) apply(o *server.Options) error {
	perms := func(p Permissions) *server.Permissions {
		if len(p.Publish) == 0 && len(p.Subscribe) == 0 {
			return nil
		}
		out := &server.Permissions{}
		if len(p.Publish) > 0 {
			out.Publish = &server.SubjectPermission{Allow: append([]string(nil), p.Publish...)}
		}
		if len(p.Subscribe) > 0 {
			out.Subscribe = &server.SubjectPermission{Allow: append([]string(nil), p.Subscribe...)}
		}
		return out
	}
	for _, u := range a.Users {
		o.Users = append(o.Users, &server.User{Username: u.User, Password: u.Password, Permissions: perms(u.Permissions)})
	}
	for _, k := range a.NKeys {
		if !nkeys.IsValidPublicUserKey(k.PublicKey) {
			return fmt.Errorf("nats.server.users: %q is not a public user nkey (want one starting U)", k.PublicKey)
		}
		o.Nkeys = append(o.Nkeys, &server.NkeyUser{Nkey: k.PublicKey, Permissions: perms(k.Permissions)})
	}
	if a.TLSCert == "" && a.TLSKey == "" {
		if a.TLSCA != "" {
			return errors.New("nats.server.tls-ca: needs nats.server.tls-cert and nats.server.tls-key")
		}
		return nil
	}
	tc, err := server.GenTLSConfig(&server.TLSConfigOpts{CertFile: a.TLSCert, KeyFile: a.TLSKey, CaFile: a.TLSCA, Verify: a.TLSCA != ""})
	if err != nil {
		return fmt.Errorf("nats.server.tls-cert: %w", err)
	}
	o.TLS, o.TLSConfig, o.TLSVerify = true, tc, a.TLSCA != ""
	return nil
}

// TLS reports whether the server speaks TLS.
func (a *EmbeddedAuth) tls() bool { return a != nil && a.TLSCert != "" }
