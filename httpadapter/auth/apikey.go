package auth

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"go.yaml.in/yaml/v3"
)

// APIKeys authenticates bearer API keys. Only the SHA-256 of each key is
// held, and a presented key is compared with every one in constant time.
type APIKeys struct {
	keys []apiKey
}

var _ Authenticator = (*APIKeys)(nil)

type apiKey struct {
	name  string
	hash  [sha256.Size]byte
	perms Permissions
}

// KeyFile is the content of http.auth.api-keys-file (YAML or JSON).
type KeyFile struct {
	Keys []KeyEntry `yaml:"keys"`
}

// KeyEntry is one API key of a KeyFile.
type KeyEntry struct {
	Name        string   `yaml:"name"`        // logged, never the key
	SHA256      string   `yaml:"sha256"`      // hex SHA-256 of the key
	Permissions []string `yaml:"permissions"` // verb:job
}

// ParseAPIKeys reads key files (YAML; JSON is YAML too) and merges them;
// a name given twice is an error. what names each source in errors, e.g.
// "http.auth.api-keys-file".
func ParseAPIKeys(sources map[string][]byte) (*APIKeys, error) {
	a := &APIKeys{}
	seen := map[string]string{}
	for what, data := range sources {
		var f KeyFile
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		for i, e := range f.Keys {
			k, err := e.parse()
			if err != nil {
				return nil, fmt.Errorf("%s: keys[%d]: %w", what, i, err)
			}
			if other, dup := seen[k.name]; dup {
				return nil, fmt.Errorf("%s: keys[%d]: name %q is also used in %s", what, i, k.name, other)
			}
			seen[k.name] = what
			a.keys = append(a.keys, k)
		}
	}
	return a, nil
}

func (e KeyEntry) parse() (apiKey, error) {
	k := apiKey{name: strings.TrimSpace(e.Name)}
	if k.name == "" {
		return k, errors.New("name must not be empty")
	}
	h, err := hex.DecodeString(strings.TrimSpace(e.SHA256))
	if err != nil || len(h) != sha256.Size {
		return k, fmt.Errorf("key %s: sha256 must be 64 hex digits (the SHA-256 of the key; engine apikey makes one)", k.name)
	}
	copy(k.hash[:], h)
	if k.perms, err = ParsePermissions(e.Permissions); err != nil {
		return k, fmt.Errorf("key %s: %w", k.name, err)
	}
	return k, nil
}

// Len is the number of keys.
func (a *APIKeys) Len() int { return len(a.keys) }

// Authenticate implements Authenticator. A bearer token shaped like a JWT
// (three dot-separated parts) is left to the JWT method.
func (a *APIKeys) Authenticate(r *http.Request) (*Caller, error) {
	token, ok := bearer(r)
	if !ok || token == "" {
		return nil, ErrNoCredentials
	}
	if strings.Count(token, ".") == 2 {
		return nil, ErrNoCredentials
	}
	sum := sha256.Sum256([]byte(token))
	found := -1
	for i := range a.keys { // no early exit: every key costs the same
		if subtle.ConstantTimeCompare(sum[:], a.keys[i].hash[:]) == 1 {
			found = i
		}
	}
	if found < 0 {
		return nil, fmt.Errorf("%w: unknown API key", ErrInvalidCredentials)
	}
	k := a.keys[found]
	return &Caller{Name: k.name, Permissions: k.perms}, nil
}

// HashKey is the hex SHA-256 of an API key, as a key file holds it.
func HashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}
