package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"
)

// JWTConfig says where a JWT method gets its keys and what it checks.
type JWTConfig struct {
	// JWKSURL is the identity provider's JWK Set; it is fetched at start
	// (a failure is retried, not fatal), hourly, and when a token names an
	// unknown key id (at most once a minute).
	JWKSURL string
	// PublicKeyPEM is a static key instead: a PEM public key (RSA, ECDSA,
	// Ed25519) or a certificate holding one.
	PublicKeyPEM []byte
	Issuer       string        // required: the iss every token must have
	Audience     string        // required: an aud every token must have
	ClockSkew    time.Duration // leeway of exp, nbf and iat
	// PermissionsClaim holds a list of verb:job strings or one
	// space-separated string; entries that are not permissions (an OAuth
	// scope like "openid") are ignored. Default "permissions".
	PermissionsClaim string
	NameClaim        string // the caller's name; default "sub"
	// Client fetches the JWK Set; default http.DefaultClient's transport with
	// a 10s timeout.
	Client *http.Client
	// OnRefreshError is told when a JWK Set fetch fails; default: nothing.
	OnRefreshError func(url string, err error)
}

// JWT authenticates bearer JWTs.
type JWT struct {
	parser *jwt.Parser
	keys   jwt.Keyfunc
	cfg    JWTConfig
}

var _ Authenticator = (*JWT)(nil)

// asymmetric are the algorithms accepted from a JWK Set: never HS*, whose
// key would be a shared secret, nor "none".
var asymmetric = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// NewJWT prepares a JWT method. With a JWKS URL, ctx bounds the background
// refresh: cancel it when the method is no longer used.
func NewJWT(ctx context.Context, c JWTConfig) (*JWT, error) {
	if c.Issuer == "" || c.Audience == "" {
		return nil, errors.New("auth: a JWT method needs an issuer and an audience")
	}
	if c.PermissionsClaim == "" {
		c.PermissionsClaim = "permissions"
	}
	if c.NameClaim == "" {
		c.NameClaim = "sub"
	}
	j := &JWT{cfg: c}
	methods := asymmetric
	switch {
	case c.JWKSURL != "" && c.PublicKeyPEM != nil:
		return nil, errors.New("auth: give a JWKS URL or a public key, not both")
	case c.JWKSURL != "":
		client := c.Client
		if client == nil {
			client = &http.Client{Timeout: 10 * time.Second}
		}
		kf, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{c.JWKSURL}, keyfunc.Override{
			Client:            client,
			HTTPTimeout:       10 * time.Second,
			RateLimitWaitMax:  time.Second, // a request never waits long for a refresh
			RefreshUnknownKID: rate.NewLimiter(rate.Every(time.Minute), 1),
			RefreshErrorHandlerFunc: func(u string) func(context.Context, error) {
				return func(_ context.Context, err error) {
					if c.OnRefreshError != nil {
						c.OnRefreshError(u, err)
					}
				}
			},
		})
		if err != nil {
			return nil, fmt.Errorf("auth: JWKS %s: %w", c.JWKSURL, err)
		}
		j.keys = kf.Keyfunc
	case c.PublicKeyPEM != nil:
		key, algs, err := parsePublicKey(c.PublicKeyPEM)
		if err != nil {
			return nil, err
		}
		methods = algs
		j.keys = func(*jwt.Token) (any, error) { return key, nil }
	default:
		return nil, errors.New("auth: a JWT method needs a JWKS URL or a public key")
	}
	j.parser = jwt.NewParser(jwt.WithValidMethods(methods), jwt.WithLeeway(c.ClockSkew),
		jwt.WithIssuer(c.Issuer), jwt.WithAudience(c.Audience), jwt.WithExpirationRequired(), jwt.WithIssuedAt())
	return j, nil
}

// parsePublicKey reads a PEM public key or certificate and the algorithms
// that go with its type.
func parsePublicKey(data []byte) (any, []string, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, nil, errors.New("auth: the public key file holds no PEM block")
	}
	var key any
	var err error
	switch block.Type {
	case "CERTIFICATE":
		var cert *x509.Certificate
		if cert, err = x509.ParseCertificate(block.Bytes); err == nil {
			key = cert.PublicKey
		}
	case "RSA PUBLIC KEY":
		key, err = x509.ParsePKCS1PublicKey(block.Bytes)
	default:
		key, err = x509.ParsePKIXPublicKey(block.Bytes)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("auth: public key: %w", err)
	}
	switch key.(type) {
	case *rsa.PublicKey:
		return key, []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}, nil
	case *ecdsa.PublicKey:
		return key, []string{"ES256", "ES384", "ES512"}, nil
	case ed25519.PublicKey:
		return key, []string{"EdDSA"}, nil
	}
	return nil, nil, fmt.Errorf("auth: public key of type %T is not supported (RSA, ECDSA, Ed25519)", key)
}

// Authenticate implements Authenticator. A bearer token that is not shaped
// like a JWT is left to the other methods.
func (j *JWT) Authenticate(r *http.Request) (*Caller, error) {
	token, ok := bearer(r)
	if !ok || strings.Count(token, ".") != 2 {
		return nil, ErrNoCredentials
	}
	claims := jwt.MapClaims{}
	if _, err := j.parser.ParseWithClaims(token, claims, j.keys); err != nil {
		return nil, fmt.Errorf("%w: bearer token: %v", ErrInvalidCredentials, err)
	}
	name, _ := claims[j.cfg.NameClaim].(string)
	if name == "" {
		return nil, fmt.Errorf("%w: bearer token has no %q claim", ErrInvalidCredentials, j.cfg.NameClaim)
	}
	return &Caller{Name: name, Permissions: claimPermissions(claims[j.cfg.PermissionsClaim])}, nil
}

// claimPermissions reads a list of strings or a space-separated string;
// what is not a permission is skipped.
func claimPermissions(v any) Permissions {
	var list []string
	switch c := v.(type) {
	case string:
		list = strings.Fields(c)
	case []any:
		for _, e := range c {
			if s, ok := e.(string); ok {
				list = append(list, s)
			}
		}
	}
	var out Permissions
	for _, s := range list {
		if p, err := ParsePermission(s); err == nil {
			out = append(out, p)
		}
	}
	return out
}
