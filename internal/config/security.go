package config

import (
	"net"
	"regexp"
	"strings"
	"time"
)

// Values of http.auth.mode.
const (
	// AuthModeAuto requires credentials whenever a method is configured; with
	// none, only a loopback http.addr is allowed.
	AuthModeAuto = "auto"
	// AuthModeNone turns authentication off on any address: every caller is
	// "anonymous" with every permission.
	AuthModeNone = "none"
)

// HTTPAuth is `http.auth:`, how REST callers are authenticated and what they
// may do (docs/rest.md, "Authentication").
type HTTPAuth struct {
	Mode string `yaml:"mode"` // default auto; auto|none
	// APIKeysFile is a YAML file of bearer API keys (keys: [{name, sha256,
	// permissions}]). Default "".
	APIKeysFile string `yaml:"api-keys-file"`
	// APIKeys is the same content inline (YAML or JSON), for the environment
	// (JETJOBS_HTTP_AUTH_API_KEYS). Default "" (secret).
	APIKeys string      `yaml:"api-keys"`
	JWT     HTTPAuthJWT `yaml:"jwt"`
	// ClientCA is a PEM file of the CAs whose client certificates are
	// accepted (mutual TLS; needs http.tls-cert). Default "".
	ClientCA string `yaml:"client-ca"`
	// MTLSPermissions maps a client certificate's subject CN to its
	// permissions. Default none (a known CN with no entry may do nothing).
	MTLSPermissions map[string][]string `yaml:"mtls-permissions"`
	OpenHealth      bool                `yaml:"open-health"`  // default true: /health and /health/readiness need no credentials (no details without them)
	OpenMetrics     bool                `yaml:"open-metrics"` // default true: /metrics needs no credentials
	OpenOpenAPI     bool                `yaml:"open-openapi"` // default true: /openapi.json needs no credentials
}

// HTTPAuthJWT is `http.auth.jwt:`, bearer JWTs signed by an identity
// provider.
type HTTPAuthJWT struct {
	JWKSURL          string        `yaml:"jwks-url"`          // default "" (the provider's JWKS endpoint, refreshed hourly)
	PublicKeyFile    string        `yaml:"public-key-file"`   // default "" (PEM public key or certificate, instead of jwks-url)
	Issuer           string        `yaml:"issuer"`            // default "" (required with a key source): the iss a token must have
	Audience         string        `yaml:"audience"`          // default "" (required with a key source): an aud a token must have
	ClockSkew        time.Duration `yaml:"clock-skew"`        // default 30s: leeway of exp, nbf, iat
	PermissionsClaim string        `yaml:"permissions-claim"` // default permissions: a list of verb:job or a space-separated string
	NameClaim        string        `yaml:"name-claim"`        // default sub: the caller's name
}

// HTTPCORS is `http.cors:`; no CORS header is sent unless origins are listed.
type HTTPCORS struct {
	// AllowedOrigins lists origins (https://app.example.com, one * wildcard
	// allowed) whose browsers may call the API. Default none.
	AllowedOrigins []string `yaml:"allowed-origins"`
}

func defaultHTTPAuth() HTTPAuth {
	return HTTPAuth{
		Mode:        AuthModeAuto,
		JWT:         HTTPAuthJWT{ClockSkew: 30 * time.Second, PermissionsClaim: "permissions", NameClaim: "sub"},
		OpenHealth:  true,
		OpenMetrics: true,
		OpenOpenAPI: true,
	}
}

// Methods lists the authentication methods configured, by key; none means
// REST callers are not authenticated.
func (a HTTPAuth) Methods() []string {
	var out []string
	for _, m := range []struct{ key, v string }{
		{"http.auth.api-keys-file", a.APIKeysFile}, {"http.auth.api-keys", a.APIKeys},
		{"http.auth.jwt.jwks-url", a.JWT.JWKSURL}, {"http.auth.jwt.public-key-file", a.JWT.PublicKeyFile},
		{"http.auth.client-ca", a.ClientCA},
	} {
		if strings.TrimSpace(m.v) != "" {
			out = append(out, m.key)
		}
	}
	return out
}

// permissionRE is one permission: verb:job, job a name or *.
var permissionRE = regexp.MustCompile(`^(run|read|admin):(\*|[A-Za-z0-9][A-Za-z0-9_.-]{0,127})$`)

// originRE is an origin as http.cors.allowed-origins takes it.
var originRE = regexp.MustCompile(`^(\*|https?://[A-Za-z0-9*.-]+(:[0-9]{1,5})?)$`)

// IsLoopback reports whether a host:port address listens on loopback only:
// localhost, 127.0.0.0/8 or ::1. An empty host (":8080") is every interface.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (c Config) validateHTTPSecurity(k *checker) {
	h := c.HTTP
	a := h.Auth
	const p = "http.auth."
	k.oneOf(p+"mode", a.Mode, AuthModeAuto, AuthModeNone)
	if (h.TLSCert == "") != (h.TLSKey == "") {
		k.add("http.tls-cert", "http.tls-cert and http.tls-key must be set together")
	}
	methods := a.Methods()
	if a.Mode == AuthModeNone && len(methods) > 0 {
		k.add(p+"mode", "is none (no authentication) but %s is set: remove one", strings.Join(methods, ", "))
	}
	if a.ClientCA != "" && h.TLSCert == "" {
		k.add(p+"client-ca", "needs http.tls-cert and http.tls-key: client certificates come with TLS")
	}
	if len(a.MTLSPermissions) > 0 && a.ClientCA == "" {
		k.add(p+"mtls-permissions", "needs http.auth.client-ca")
	}
	for cn, perms := range a.MTLSPermissions {
		for _, perm := range perms {
			if !permissionRE.MatchString(perm) {
				k.add(p+"mtls-permissions."+cn, "permission %q must be verb:job with verb run, read or admin and job a name or *", perm)
			}
		}
	}
	j := a.JWT
	const pj = p + "jwt."
	if j.JWKSURL != "" && j.PublicKeyFile != "" {
		k.add(pj+"jwks-url", "set http.auth.jwt.jwks-url or http.auth.jwt.public-key-file, not both")
	}
	if j.JWKSURL != "" {
		k.httpURL(pj+"jwks-url", j.JWKSURL)
	}
	if j.JWKSURL != "" || j.PublicKeyFile != "" {
		if j.Issuer == "" {
			k.add(pj+"issuer", "must be set with a JWT key source: tokens of any issuer would pass")
		}
		if j.Audience == "" {
			k.add(pj+"audience", "must be set with a JWT key source: tokens meant for other services would pass")
		}
	}
	k.nonNegative(pj+"clock-skew", j.ClockSkew)
	if j.PermissionsClaim == "" {
		k.add(pj+"permissions-claim", "must not be empty")
	}
	if j.NameClaim == "" {
		k.add(pj+"name-claim", "must not be empty")
	}
	for _, o := range h.CORS.AllowedOrigins {
		if !originRE.MatchString(o) || strings.Count(o, "*") > 1 {
			k.add("http.cors.allowed-origins", "must list origins like https://app.example.com (no path), got %q", o)
		}
	}
	if h.Addr != "" && a.Mode != AuthModeNone && len(methods) == 0 && !IsLoopback(h.Addr) {
		k.add("http.addr", "%q listens beyond loopback but no REST authentication is configured: set http.auth.api-keys-file "+
			"(or JETJOBS_HTTP_AUTH_API_KEYS), http.auth.jwt.jwks-url or http.auth.jwt.public-key-file, or http.auth.client-ca; "+
			"or listen on 127.0.0.1; or opt out explicitly with http.auth.mode: none", h.Addr)
	}
}
