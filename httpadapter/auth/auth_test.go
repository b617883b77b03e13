package auth_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/jetjobs/jetjobs/httpadapter/auth"
	"github.com/jetjobs/jetjobs/internal/authtest"
)

func request(header string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	if header != "" {
		r.Header.Set("Authorization", header)
	}
	return r
}

func TestParsePermission(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    auth.Permission
		wantErr string
	}{
		{"run:billing", auth.Permission{Verb: auth.Run, Job: "billing"}, ""},
		{"read:*", auth.Permission{Verb: auth.Read, Job: "*"}, ""},
		{"admin:customer-onboarding", auth.Permission{Verb: auth.Admin, Job: "customer-onboarding"}, ""},
		{"write:x", auth.Permission{}, "verb must be run, read or admin"},
		{"run", auth.Permission{}, "want verb:job"},
		{"run:", auth.Permission{}, "job must be a name or *"},
		{"run:a b", auth.Permission{}, "job must be a name or *"},
		{"RUN:x", auth.Permission{}, "verb must be"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := auth.ParsePermission(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestPermissionsAllowAndCheck(t *testing.T) {
	t.Parallel()
	ps, err := auth.ParsePermissions([]string{"run:customer-import", "read:*"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		verb auth.Verb
		job  string
		want bool
	}{
		{auth.Run, "customer-import", true}, {auth.Run, "billing", false}, {auth.Read, "billing", true},
		{auth.Admin, "customer-import", false},
	}
	for _, tt := range tests {
		if got := ps.Allows(tt.verb, tt.job); got != tt.want {
			t.Errorf("Allows(%s, %s) = %v, want %v", tt.verb, tt.job, got, tt.want)
		}
	}
	ctx := auth.WithCaller(context.Background(), &auth.Caller{Name: "crm-sync", Permissions: ps})
	err = auth.Check(ctx, auth.Run, "billing")
	var fe *auth.ForbiddenError
	if !errors.As(err, &fe) || !errors.Is(err, auth.ErrForbidden) || err.Error() != "caller crm-sync lacks run:billing" {
		t.Fatalf("Check: %v", err)
	}
	if err := auth.Check(ctx, auth.Run, "customer-import"); err != nil {
		t.Fatal(err)
	}
	if got := auth.Initiator(ctx, "mallory"); got != "crm-sync" {
		t.Fatalf("Initiator %q", got)
	}
	anon := auth.WithCaller(context.Background(), auth.Anonymous())
	if got := auth.Initiator(anon, "alice"); got != "alice" {
		t.Fatalf("anonymous Initiator %q", got)
	}
	if err := auth.Check(anon, auth.Admin, "x"); err != nil {
		t.Fatal(err)
	}
}

func TestAPIKeys(t *testing.T) {
	t.Parallel()
	file := `keys:
  - name: ops-console
    sha256: "` + auth.HashKey("ops-secret") + `"
    permissions: ["read:*", "run:*", "admin:*"]
  - name: crm-sync
    sha256: "` + strings.ToUpper(auth.HashKey("crm-secret")) + `"
    permissions: ["run:customer-import", "read:customer-import"]
`
	keys, err := auth.ParseAPIKeys(map[string][]byte{"file": []byte(file)})
	if err != nil || keys.Len() != 2 {
		t.Fatalf("%v %d", err, keys.Len())
	}
	tests := []struct {
		header, name string
		wantErr      error
	}{
		{"Bearer ops-secret", "ops-console", nil},
		{"bearer crm-secret", "crm-sync", nil},
		{"Bearer wrong", "", auth.ErrInvalidCredentials},
		{"", "", auth.ErrNoCredentials},
		{"Basic b3BzOnNlY3JldA==", "", auth.ErrNoCredentials},
		{"Bearer a.b.c", "", auth.ErrNoCredentials}, // a JWT: not ours
	}
	for _, tt := range tests {
		c, err := keys.Authenticate(request(tt.header))
		if tt.wantErr != nil {
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("%q: err %v, want %v", tt.header, err, tt.wantErr)
			}
			continue
		}
		if err != nil || c.Name != tt.name {
			t.Errorf("%q: %v %v", tt.header, c, err)
		}
	}
	// The key never shows in an error.
	if _, err := keys.Authenticate(request("Bearer sup3r-s3cret")); err == nil || strings.Contains(err.Error(), "sup3r") {
		t.Fatalf("error %v", err)
	}
}

func TestParseAPIKeysErrors(t *testing.T) {
	t.Parallel()
	good := auth.HashKey("k")
	tests := []struct {
		name, content, wantErr string
	}{
		{"json", `{"keys":[{"name":"a","sha256":"` + good + `","permissions":["run:*"]}]}`, ""},
		{"empty", ``, ""},
		{"no name", `keys: [{sha256: "` + good + `"}]`, "name must not be empty"},
		{"short hash", `keys: [{name: a, sha256: "abc"}]`, "64 hex digits"},
		{"bad permission", `keys: [{name: a, sha256: "` + good + `", permissions: ["write:*"]}]`, "verb must be"},
		{"unknown field", `keys: [{name: a, key: "plain", sha256: "` + good + `"}]`, "field key not found"},
		{"duplicate", `keys: [{name: a, sha256: "` + good + `"}, {name: a, sha256: "` + good + `"}]`, `name "a" is also used`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := auth.ParseAPIKeys(map[string][]byte{"http.auth.api-keys": []byte(tt.content)})
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "http.auth.api-keys") {
				t.Fatalf("err %v, want %q", err, tt.wantErr)
			}
		})
	}
}

// Tokens checked against a JWK Set served over HTTP and against a static
// public key: signature, issuer, audience, expiry with clock skew.
func TestJWT(t *testing.T) {
	t.Parallel()
	is := authtest.NewIssuer(t)
	other := authtest.NewIssuer(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	base := auth.JWTConfig{Issuer: "https://idp.test/", Audience: "jetjobs", ClockSkew: 30 * time.Second}
	viaJWKS := base
	viaJWKS.JWKSURL = is.URL
	jwks, err := auth.NewJWT(ctx, viaJWKS)
	if err != nil {
		t.Fatal(err)
	}
	static := base
	static.PublicKeyPEM = is.PublicKeyPEM(t)
	static.PermissionsClaim, static.NameClaim = "scope", "client_id"
	stat, err := auth.NewJWT(ctx, static)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	claims := func(edit func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{"iss": "https://idp.test/", "aud": []string{"jetjobs", "other"}, "sub": "svc-billing",
			"client_id": "billing-app", "permissions": []string{"run:billing", "nonsense"}, "scope": "openid read:billing run:*"}
		if edit != nil {
			edit(c)
		}
		return c
	}
	tests := []struct {
		name    string
		a       *auth.JWT
		token   string
		caller  string
		perms   string
		wantErr string
	}{
		{"jwks ok", jwks, is.Token(t, claims(nil)), "svc-billing", "run:billing", ""},
		{"static key, scope string", stat, is.Token(t, claims(nil)), "billing-app", "read:billing run:*", ""},
		{"expired", jwks, is.Token(t, claims(func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Minute).Unix() })), "", "", "expired"},
		{"expired within skew", jwks, is.Token(t, claims(func(c jwt.MapClaims) { c["exp"] = now.Add(-10 * time.Second).Unix() })), "svc-billing", "run:billing", ""},
		{"no exp", jwks, noExp(t, is, claims(nil)), "", "", "exp claim is required"},
		{"not yet valid", jwks, is.Token(t, claims(func(c jwt.MapClaims) { c["nbf"] = now.Add(time.Hour).Unix() })), "", "", "not valid yet"},
		{"wrong issuer", jwks, is.Token(t, claims(func(c jwt.MapClaims) { c["iss"] = "https://evil/" })), "", "", "issuer"},
		{"wrong audience", jwks, is.Token(t, claims(func(c jwt.MapClaims) { c["aud"] = "billing" })), "", "", "audience"},
		{"other key", jwks, other.Token(t, claims(nil)), "", "", "key"},
		{"other key, static", stat, other.Token(t, claims(nil)), "", "", "signature"},
		{"no name", jwks, is.Token(t, claims(func(c jwt.MapClaims) { delete(c, "sub") })), "", "", `no "sub" claim`},
		{"alg none", jwks, unsigned(claims(nil)), "", "", "signing method"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := tt.a.Authenticate(request("Bearer " + tt.token))
			if tt.wantErr != "" {
				if !errors.Is(err, auth.ErrInvalidCredentials) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range c.Permissions {
				got = append(got, p.String())
			}
			if c.Name != tt.caller || strings.Join(got, " ") != tt.perms {
				t.Fatalf("caller %s %v, want %s %s", c.Name, got, tt.caller, tt.perms)
			}
		})
	}
	// An API key is not a JWT: left to the other methods.
	if _, err := jwks.Authenticate(request("Bearer plain-key")); !errors.Is(err, auth.ErrNoCredentials) {
		t.Fatalf("plain key: %v", err)
	}
}

// noExp signs claims without exp (Issuer.Token always sets one).
func noExp(t *testing.T, is *authtest.Issuer, c jwt.MapClaims) string {
	t.Helper()
	delete(c, "exp")
	c["iat"] = time.Now().Unix()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
	tok.Header["kid"] = is.KID
	s, err := tok.SignedString(is.Key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func unsigned(c jwt.MapClaims) string {
	s, _ := jwt.NewWithClaims(jwt.SigningMethodNone, c).SignedString(jwt.UnsafeAllowNoneSignatureType)
	return s
}

func TestMTLSAndChain(t *testing.T) {
	t.Parallel()
	ca := authtest.NewCA(t, "clients")
	leaf := ca.Client(t, "billing-batch")
	cert, err := x509.ParseCertificate(leaf.TLS.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	m, err := auth.NewMTLS(map[string][]string{"billing-batch": {"run:billing"}})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := auth.ParseAPIKeys(map[string][]byte{"f": []byte(`keys: [{name: k, sha256: "` + auth.HashKey("key") + `", permissions: ["read:*"]}]`)})
	if err != nil {
		t.Fatal(err)
	}
	chain := auth.Chain{keys, m}
	withCert := request("")
	withCert.TLS = &tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{cert, ca.Cert}}}
	tests := []struct {
		name    string
		r       *http.Request
		caller  string
		wantErr error
	}{
		{"certificate", withCert, "billing-batch", nil},
		{"key", request("Bearer key"), "k", nil},
		{"nothing", request(""), "", auth.ErrNoCredentials},
		{"bad key", request("Bearer nope"), "", auth.ErrInvalidCredentials},
		{"other scheme", request("Basic eDp5"), "", auth.ErrInvalidCredentials},
	}
	for _, tt := range tests {
		c, err := chain.Authenticate(tt.r)
		if tt.wantErr != nil {
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("%s: err %v, want %v", tt.name, err, tt.wantErr)
			}
			continue
		}
		if err != nil || c.Name != tt.caller {
			t.Errorf("%s: %v %v", tt.name, c, err)
		}
	}
	if _, err := auth.NewMTLS(map[string][]string{"x": {"bad"}}); err == nil || !strings.Contains(err.Error(), "http.auth.mtls-permissions.x") {
		t.Fatalf("bad table: %v", err)
	}
}
