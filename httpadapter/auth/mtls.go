package auth

import (
	"fmt"
	"net/http"
)

// MTLS authenticates a client certificate verified by the TLS handshake
// against http.auth.client-ca: the subject CN is the caller's name, its
// permissions come from a CN -> permissions table. A verified CN missing
// from the table is a caller without permissions (every route answers 403).
type MTLS struct {
	perms map[string]Permissions
}

var _ Authenticator = (*MTLS)(nil)

// NewMTLS reads the CN -> permissions table.
func NewMTLS(table map[string][]string) (*MTLS, error) {
	m := &MTLS{perms: make(map[string]Permissions, len(table))}
	for cn, list := range table {
		p, err := ParsePermissions(list)
		if err != nil {
			return nil, fmt.Errorf("http.auth.mtls-permissions.%s: %w", cn, err)
		}
		m.perms[cn] = p
	}
	return m, nil
}

// Authenticate implements Authenticator.
func (m *MTLS) Authenticate(r *http.Request) (*Caller, error) {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
		return nil, ErrNoCredentials
	}
	cn := r.TLS.VerifiedChains[0][0].Subject.CommonName
	if cn == "" {
		return nil, fmt.Errorf("%w: the client certificate has no subject CN", ErrInvalidCredentials)
	}
	return &Caller{Name: cn, Permissions: m.perms[cn]}, nil
}
