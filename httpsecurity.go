package jetjobs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"

	"github.com/jetjobs/jetjobs/httpadapter/auth"
	"github.com/jetjobs/jetjobs/internal/config"
)

// restAuth builds the REST authenticator from http.auth (nil when no
// method is configured or mode is none: every caller is anonymous). ctx
// bounds the JWKS refresh. Errors name the key whose file is at fault.
func (e *Engine) restAuth(ctx context.Context, h config.HTTP) (auth.Authenticator, error) {
	a := h.Auth
	if a.Mode == config.AuthModeNone || len(a.Methods()) == 0 {
		return nil, nil
	}
	var chain auth.Chain
	sources := map[string][]byte{}
	if a.APIKeysFile != "" {
		data, err := os.ReadFile(a.APIKeysFile)
		if err != nil {
			return nil, fmt.Errorf("http.auth.api-keys-file: %w", err)
		}
		sources["http.auth.api-keys-file"] = data
	}
	if a.APIKeys != "" {
		sources["http.auth.api-keys"] = []byte(a.APIKeys)
	}
	if len(sources) > 0 {
		keys, err := auth.ParseAPIKeys(sources)
		if err != nil {
			return nil, err
		}
		chain = append(chain, keys)
	}
	if j := a.JWT; j.JWKSURL != "" || j.PublicKeyFile != "" {
		jc := auth.JWTConfig{JWKSURL: j.JWKSURL, Issuer: j.Issuer, Audience: j.Audience, ClockSkew: j.ClockSkew,
			PermissionsClaim: j.PermissionsClaim, NameClaim: j.NameClaim,
			OnRefreshError: func(url string, err error) {
				e.log.Error().Err(err).Str("url", url).Msg("fetching the JWKS of http.auth.jwt.jwks-url failed")
			}}
		if j.PublicKeyFile != "" {
			data, err := os.ReadFile(j.PublicKeyFile)
			if err != nil {
				return nil, fmt.Errorf("http.auth.jwt.public-key-file: %w", err)
			}
			jc.PublicKeyPEM = data
		}
		jv, err := auth.NewJWT(ctx, jc)
		if err != nil {
			return nil, fmt.Errorf("http.auth.jwt: %w", err)
		}
		chain = append(chain, jv)
	}
	if a.ClientCA != "" {
		m, err := auth.NewMTLS(a.MTLSPermissions)
		if err != nil {
			return nil, err
		}
		chain = append(chain, m)
	}
	return chain, nil
}

// restTLS is the REST listener's TLS configuration, nil without
// http.tls-cert. With http.auth.client-ca, a client certificate is checked
// against it when one is sent (bearer credentials remain an alternative).
func restTLS(h config.HTTP) (*tls.Config, error) {
	if h.TLSCert == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(h.TLSCert, h.TLSKey)
	if err != nil {
		return nil, fmt.Errorf("http.tls-cert/http.tls-key: %w", err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if h.Auth.ClientCA != "" {
		pem, err := os.ReadFile(h.Auth.ClientCA)
		if err != nil {
			return nil, fmt.Errorf("http.auth.client-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("http.auth.client-ca: %s holds no PEM certificate", h.Auth.ClientCA)
		}
		cfg.ClientCAs, cfg.ClientAuth = pool, tls.VerifyClientCertIfGiven
	}
	return cfg, nil
}
