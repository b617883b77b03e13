package jetjobs_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/nats-io/nats.go"

	"github.com/jetjobs/jetjobs"
	"github.com/jetjobs/jetjobs/httpadapter/auth"
	"github.com/jetjobs/jetjobs/internal/authtest"
	"github.com/jetjobs/jetjobs/internal/samplejobs"
	"github.com/jetjobs/jetjobs/jetjobstest"
	"github.com/jetjobs/jetjobs/jobs"
	"github.com/jetjobs/jetjobs/saga"
)

// secured is a real engine (fixture jobs and the demo saga, embedded NATS)
// serving REST on a real loopback listener with the given http settings.
type secured struct {
	h      *jetjobstest.Harness
	base   string
	client *http.Client
}

func newSecured(t *testing.T, edit func(*jetjobs.Config)) *secured {
	t.Helper()
	h := jetjobstest.New(t, func(r *jobs.Registry) {
		registerSagaFixtures(t, r)
	}, jetjobstest.WithEngineOptions(jetjobs.WithComponents(saga.InEngine(samplejobs.Onboarding()))),
		jetjobstest.WithConfig(func(c *jetjobs.Config) {
			c.HTTP.Addr = "127.0.0.1:0"
			edit(c)
		}))
	s := &secured{h: h, base: "http://" + h.Engine.HTTPAddr(), client: &http.Client{Timeout: 20 * time.Second}}
	t.Cleanup(s.client.CloseIdleConnections)
	return s
}

// answer is an HTTP answer with its body.
type answer struct {
	status int
	header http.Header
	body   string
}

// call sends a request; headers come in name, value pairs. A POST is sent
// as application/json unless a Content-Type is given ("" sends none).
func (s *secured) call(t *testing.T, method, path, body string, headers ...string) answer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, s.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
		} else {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

func bearer(key string) []string { return []string{"Authorization", "Bearer " + key} }

// apiKeysFile writes the key file of the tests: ops may do everything,
// crm-sync runs and reads customer-import, reader reads everything.
func apiKeysFile(t *testing.T) string {
	t.Helper()
	content := `keys:
  - name: ops-console
    sha256: "` + auth.HashKey("ops-key") + `"
    permissions: ["read:*", "run:*", "admin:*"]
  - name: crm-sync
    sha256: "` + auth.HashKey("crm-key") + `"
    permissions: ["run:customer-import", "read:customer-import"]
  - name: reader
    sha256: "` + auth.HashKey("reader-key") + `"
    permissions: ["read:*"]
`
	return authtest.WriteFile(t, t.TempDir(), "api-keys.yaml", []byte(content))
}

const (
	importStart  = "/api/v1/customer-import/start"
	validatePath = "/api/v1/customer-validation/execute"
	sagaStart    = "/api/v1/sagas/customer-onboarding/start"
	importBody   = `{"parameters":{"datasetId":"d","records":1000,"batchSize":1,"batchDelay":"1h"}}`
)

// Bearer API keys: 401 without or with a wrong key, 403 naming the missing
// permission, 200 with it; job routes and saga routes alike.
func TestRESTAPIKeys(t *testing.T) {
	t.Parallel()
	s := newSecured(t, func(c *jetjobs.Config) { c.HTTP.Auth.APIKeysFile = apiKeysFile(t) })
	started := s.call(t, http.MethodPost, importStart, importBody, bearer("crm-key")...)
	if started.status != http.StatusOK {
		t.Fatalf("crm-sync start: %d %s", started.status, started.body)
	}
	var resp jobs.Response
	if err := json.Unmarshal([]byte(started.body), &resp); err != nil {
		t.Fatal(err)
	}
	check := "/api/v1/customer-import/" + resp.ExecutionID + "/check"
	tests := []struct {
		name, method, path, body string
		headers                  []string
		status                   int
		wantBody                 string
	}{
		{"no credentials", http.MethodPost, importStart, importBody, nil, 401, "authentication required"},
		{"no credentials on a GET", http.MethodGet, check, "", nil, 401, "authentication required"},
		{"no credentials on an unknown path", http.MethodGet, "/api/v1/nope", "", nil, 401, "authentication required"},
		{"wrong key", http.MethodPost, importStart, importBody, bearer("guess"), 401, "unknown API key"},
		{"other scheme", http.MethodGet, check, "", []string{"Authorization", "Basic b3BzOmtleQ=="}, 401, "not accepted"},
		{"job outside the key", http.MethodPost, validatePath, `{"parameters":{"customerId":"CUST-1"}}`, bearer("crm-key"), 403,
			"caller crm-sync lacks run:customer-validation"},
		{"verb outside the key", http.MethodPost, importStart, importBody, bearer("reader-key"), 403, "caller reader lacks run:customer-import"},
		{"stop needs run", http.MethodPost, "/api/v1/customer-import/" + resp.ExecutionID + "/stop?reason=x", "", bearer("reader-key"), 403,
			"lacks run:customer-import"},
		{"read with the key", http.MethodGet, check, "", bearer("crm-key"), 200, `"success":true`},
		{"read with read:*", http.MethodGet, check, "", bearer("reader-key"), 200, `"success":true`},
		{"ops executes", http.MethodPost, validatePath, `{"parameters":{"customerId":"CUST-1"}}`, bearer("ops-key"), 200, `"valid":true`},
		{"saga start needs run:<saga>", http.MethodPost, sagaStart, `{"sagaId":"s-1"}`, bearer("crm-key"), 403,
			"caller crm-sync lacks run:customer-onboarding"},
		{"saga get needs read:<saga>", http.MethodGet, "/api/v1/sagas/customer-onboarding/s-1", "", bearer("crm-key"), 403,
			"lacks read:customer-onboarding"},
		{"saga cancel needs admin:<saga>", http.MethodPost, "/api/v1/sagas/customer-onboarding/s-1/cancel", "", bearer("reader-key"), 403,
			"caller reader lacks admin:customer-onboarding"},
		{"saga list needs a caller", http.MethodGet, "/api/v1/sagas/", "", nil, 401, "authentication required"},
		{"saga list", http.MethodGet, "/api/v1/sagas/", "", bearer("reader-key"), 200, "customer-onboarding"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := s.call(t, tt.method, tt.path, tt.body, tt.headers...)
			if a.status != tt.status || !strings.Contains(a.body, tt.wantBody) {
				t.Fatalf("%d %s, want %d with %q", a.status, a.body, tt.status, tt.wantBody)
			}
			if tt.status == 401 && a.header.Get("WWW-Authenticate") == "" {
				t.Fatal("401 without WWW-Authenticate")
			}
			if tt.status >= 400 && !strings.Contains(a.body, `"success":false`) {
				t.Fatalf("failure body %s", a.body)
			}
		})
	}
}

// The initiator of what a caller starts is the caller, whatever the body
// says; with authentication off the body's initiator is kept.
func TestRESTInitiatorIsTheCaller(t *testing.T) {
	t.Parallel()
	body := `{"initiator":"mallory","parameters":{"datasetId":"d","records":1000,"batchSize":1,"batchDelay":"1h"}}`
	for _, tt := range []struct {
		name    string
		keys    bool
		headers []string
		want    string
	}{
		{"authenticated", true, bearer("crm-key"), "crm-sync"},
		{"auth off", false, nil, "mallory"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newSecured(t, func(c *jetjobs.Config) {
				if tt.keys {
					c.HTTP.Auth.APIKeysFile = apiKeysFile(t)
				}
			})
			a := s.call(t, http.MethodPost, importStart, body, tt.headers...)
			var resp jobs.Response
			if a.status != 200 || json.Unmarshal([]byte(a.body), &resp) != nil {
				t.Fatalf("%d %s", a.status, a.body)
			}
			if got := s.h.Execution(t, "customer-import", resp.ExecutionID).Initiator; got != tt.want {
				t.Fatalf("initiator %q, want %q", got, tt.want)
			}
			// A saga start alike (crm-sync may not start the saga: ops does).
			headers := tt.headers
			want := tt.want
			if tt.keys {
				headers, want = bearer("ops-key"), "ops-console"
			}
			a = s.call(t, http.MethodPost, sagaStart, `{"sagaId":"init-1","initiator":"mallory","input":{"datasetId":"d","records":1,"channel":"email"}}`, headers...)
			var in struct {
				Initiator string `json:"initiator"`
			}
			if a.status != http.StatusCreated || json.Unmarshal([]byte(a.body), &in) != nil || in.Initiator != want {
				t.Fatalf("saga start: %d %s, want initiator %q", a.status, a.body, want)
			}
		})
	}
}

// Bearer JWTs checked against a JWKS served by httptest: issuer, audience,
// expiry; permissions from the configured claim.
func TestRESTJWT(t *testing.T) {
	t.Parallel()
	is := authtest.NewIssuer(t)
	s := newSecured(t, func(c *jetjobs.Config) {
		j := &c.HTTP.Auth.JWT
		j.JWKSURL, j.Issuer, j.Audience = is.URL, "https://idp.test/", "jetjobs"
	})
	claims := func(edit func(jwt.MapClaims)) string {
		c := jwt.MapClaims{"iss": "https://idp.test/", "aud": "jetjobs", "sub": "svc-crm", "permissions": "run:customer-validation read:*"}
		if edit != nil {
			edit(c)
		}
		return is.Token(t, c)
	}
	body := `{"parameters":{"customerId":"CUST-1"}}`
	tests := []struct {
		name     string
		token    string
		status   int
		wantBody string
	}{
		{"valid", claims(nil), 200, `"valid":true`},
		{"expired", claims(func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Hour).Unix() }), 401, "expired"},
		{"wrong audience", claims(func(c jwt.MapClaims) { c["aud"] = "billing" }), 401, "audience"},
		{"wrong issuer", claims(func(c jwt.MapClaims) { c["iss"] = "https://other/" }), 401, "issuer"},
		{"no permission", claims(func(c jwt.MapClaims) { c["permissions"] = []string{"read:*"} }), 403, "caller svc-crm lacks run:customer-validation"},
		{"other signer", authtest.NewIssuer(t).Token(t, jwt.MapClaims{"iss": "https://idp.test/", "aud": "jetjobs", "sub": "x"}), 401, "bearer token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := s.call(t, http.MethodPost, validatePath, body, bearer(tt.token)...)
			if a.status != tt.status || !strings.Contains(a.body, tt.wantBody) {
				t.Fatalf("%d %s, want %d with %q", a.status, a.body, tt.status, tt.wantBody)
			}
		})
	}
}

// HTTPS with client certificates: a certificate of the configured CA is a
// caller named by its CN; one of another CA does not get through the
// handshake; without one, TLS works and bearer keys still do.
func TestRESTTLSAndMutualTLS(t *testing.T) {
	t.Parallel()
	serverCA, clientCA, strangerCA := authtest.NewCA(t, "server"), authtest.NewCA(t, "clients"), authtest.NewCA(t, "stranger")
	dir := t.TempDir()
	srvLeaf := serverCA.Server(t)
	s := newSecured(t, func(c *jetjobs.Config) {
		c.HTTP.TLSCert = authtest.WriteFile(t, dir, "server.pem", srvLeaf.CertPEM)
		c.HTTP.TLSKey = authtest.WriteFile(t, dir, "server-key.pem", srvLeaf.KeyPEM)
		c.HTTP.Auth.ClientCA = authtest.WriteFile(t, dir, "clients.pem", clientCA.PEM)
		c.HTTP.Auth.MTLSPermissions = map[string][]string{"billing-batch": {"run:customer-validation"}}
		c.HTTP.Auth.APIKeysFile = apiKeysFile(t)
	})
	s.base = strings.Replace(s.base, "http://", "https://", 1)
	clientFor := func(certs ...tls.Certificate) *http.Client {
		c := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: serverCA.Pool(), Certificates: certs, MinVersion: tls.VersionTLS12}}}
		t.Cleanup(c.CloseIdleConnections)
		return c
	}
	body := `{"parameters":{"customerId":"CUST-1"}}`

	s.client = clientFor(clientCA.Client(t, "billing-batch").TLS)
	if a := s.call(t, http.MethodPost, validatePath, body); a.status != 200 || !strings.Contains(a.body, `"valid":true`) {
		t.Fatalf("client certificate: %d %s", a.status, a.body)
	}
	if a := s.call(t, http.MethodGet, "/api/v1/customer-import/x/check", ""); a.status != 403 ||
		!strings.Contains(a.body, "caller billing-batch lacks read:customer-import") {
		t.Fatalf("client certificate outside its permissions: %d %s", a.status, a.body)
	}
	s.client = clientFor(clientCA.Client(t, "unlisted").TLS)
	if a := s.call(t, http.MethodPost, validatePath, body); a.status != 403 || !strings.Contains(a.body, "caller unlisted lacks") {
		t.Fatalf("CN without permissions: %d %s", a.status, a.body)
	}

	s.client = clientFor() // TLS, no certificate
	if a := s.call(t, http.MethodGet, "/health/liveness", ""); a.status != 200 {
		t.Fatalf("liveness over TLS: %d %s", a.status, a.body)
	}
	if a := s.call(t, http.MethodPost, validatePath, body); a.status != 401 {
		t.Fatalf("no certificate, no key: %d %s", a.status, a.body)
	}
	if a := s.call(t, http.MethodPost, validatePath, body, bearer("ops-key")...); a.status != 200 {
		t.Fatalf("key over TLS: %d %s", a.status, a.body)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+"/health/liveness", nil)
	if err != nil {
		t.Fatal(err)
	}
	// Forced: Go's client would otherwise send no certificate the server's CA list does not name.
	stranger := strangerCA.Client(t, "billing-batch").TLS
	forced := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		RootCAs: serverCA.Pool(), MinVersion: tls.VersionTLS12,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &stranger, nil },
	}}}
	t.Cleanup(forced.CloseIdleConnections)
	if resp, err := forced.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("a certificate of an unknown CA got through: %d", resp.StatusCode)
	}
	plain := &http.Client{Timeout: 20 * time.Second}
	if resp, err := plain.Get(strings.Replace(s.base, "https://", "http://", 1) + "/health/liveness"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Fatal("plain HTTP served on the TLS listener")
		}
	}
}

// A POST that is not application/json (form-encoded, or no Content-Type at
// all, even with an empty body) is 415 and publishes nothing.
func TestRESTStateChangesNeedJSON(t *testing.T) {
	t.Parallel()
	s := newSecured(t, func(*jetjobs.Config) {})
	msgs := make(chan *nats.Msg, 64)
	for _, subj := range []string{"jobs.cmd.>", "jobs.sagacmd.>", "test.sentinel"} {
		sub, err := s.h.Conn.ChanSubscribe(subj, msgs)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = sub.Unsubscribe() })
	}
	if err := s.h.Conn.Flush(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	stream, err := s.h.JS.Stream(ctx, "JOBS_COMMANDS")
	if err != nil {
		t.Fatal(err)
	}
	before, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	paths := []string{importStart, validatePath, "/api/v1/customer-import/exec-1/stop?reason=x", sagaStart,
		"/api/v1/sagas/customer-onboarding/s-1/cancel?reason=x"}
	for _, ct := range []string{"", "application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x",
		"application/json; charset=latin1", "application/cloudevents+json"} {
		for _, path := range paths {
			for _, body := range []string{"", `{"parameters":{}}`} {
				a := s.call(t, http.MethodPost, path, body, "Content-Type", ct)
				if a.status != http.StatusUnsupportedMediaType || !strings.Contains(a.body, `"success":false`) {
					t.Errorf("POST %s %q body %q: %d %s", path, ct, body, a.status, a.body)
				}
			}
		}
	}
	if err := s.h.Conn.Publish("test.sentinel", nil); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-msgs:
		if m.Subject != "test.sentinel" {
			t.Fatalf("a refused request published %s", m.Subject)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no sentinel")
	}
	after, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after.State.Msgs != before.State.Msgs {
		t.Fatalf("command stream went from %d to %d messages", before.State.Msgs, after.State.Msgs)
	}
	// With the header the same stop goes through (409/404, not 415).
	if a := s.call(t, http.MethodPost, "/api/v1/customer-import/exec-1/stop?reason=x", ""); a.status == http.StatusUnsupportedMediaType {
		t.Fatalf("JSON stop refused: %s", a.body)
	}
}

// A listener beyond loopback needs an authentication method or the
// explicit opt-out.
func TestRESTNonLoopbackNeedsAuth(t *testing.T) {
	t.Parallel()
	for _, addr := range []string{":0", "0.0.0.0:0"} {
		cfg := jetjobs.DefaultConfig()
		cfg.HTTP.Addr = addr
		_, err := jetjobs.New(cfg, jobs.NewRegistry())
		if err == nil || !strings.Contains(err.Error(), "http.addr") || !strings.Contains(err.Error(), "http.auth.mode: none") ||
			!strings.Contains(err.Error(), "http.auth.api-keys-file") {
			t.Fatalf("%s: %v", addr, err)
		}
	}
	s := newSecured(t, func(c *jetjobs.Config) { c.HTTP.Addr, c.HTTP.Auth.Mode = "0.0.0.0:0", "none" })
	s.base = strings.Replace(s.base, "0.0.0.0", "127.0.0.1", 1)
	if a := s.call(t, http.MethodPost, validatePath, `{"parameters":{"customerId":"CUST-1"}}`); a.status != 200 {
		t.Fatalf("mode none: %d %s", a.status, a.body)
	}
}

// CORS only for the configured origins, with a real preflight.
func TestRESTCORS(t *testing.T) {
	t.Parallel()
	s := newSecured(t, func(c *jetjobs.Config) {
		c.HTTP.Auth.APIKeysFile = apiKeysFile(t)
		c.HTTP.CORS.AllowedOrigins = []string{"https://console.example", "https://*.ops.example"}
	})
	preflight := func(origin string) answer {
		return s.call(t, http.MethodOptions, importStart, "", "Origin", origin,
			"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "authorization,content-type")
	}
	for _, origin := range []string{"https://console.example", "https://eu.ops.example"} {
		a := preflight(origin)
		h := a.header
		if a.status != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != origin ||
			!strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") ||
			!strings.Contains(h.Get("Access-Control-Allow-Headers"), "Authorization") ||
			!strings.Contains(h.Get("Access-Control-Allow-Headers"), "Content-Type") || !strings.Contains(h.Get("Vary"), "Origin") {
			t.Fatalf("preflight of %s: %d %v", origin, a.status, h)
		}
	}
	if a := preflight("https://evil.example"); a.header.Get("Access-Control-Allow-Origin") != "" || a.header.Get("Access-Control-Allow-Methods") != "" {
		t.Fatalf("preflight of another origin: %v", a.header)
	}
	a := s.call(t, http.MethodGet, "/api/v1/customer-import/x/check", "", append(bearer("ops-key"), "Origin", "https://console.example")...)
	if a.header.Get("Access-Control-Allow-Origin") != "https://console.example" {
		t.Fatalf("actual request: %v", a.header)
	}
	if a := s.call(t, http.MethodGet, "/health", "", "Origin", "https://evil.example"); a.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("other origin: %v", a.header)
	}

	plain := newSecured(t, func(*jetjobs.Config) {})
	a = plain.call(t, http.MethodOptions, importStart, "", "Origin", "https://console.example", "Access-Control-Request-Method", "POST")
	if a.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("CORS without configured origins: %d %v", a.status, a.header)
	}
}

// /health, /metrics and /openapi.json are open by default (health without
// details unless the caller is known), each can be closed; liveness is
// always open; the rest needs credentials.
func TestRESTOpenRoutes(t *testing.T) {
	t.Parallel()
	open := newSecured(t, func(c *jetjobs.Config) { c.HTTP.Auth.APIKeysFile = apiKeysFile(t) })
	closed := newSecured(t, func(c *jetjobs.Config) {
		c.HTTP.Auth.APIKeysFile = apiKeysFile(t)
		c.HTTP.Auth.OpenHealth, c.HTTP.Auth.OpenMetrics, c.HTTP.Auth.OpenOpenAPI = false, false, false
	})
	tests := []struct {
		name    string
		s       *secured
		path    string
		headers []string
		status  int
	}{
		{"health open", open, "/health", nil, 200},
		{"readiness open", open, "/health/readiness", nil, 200},
		{"liveness open", open, "/health/liveness", nil, 200},
		{"metrics open", open, "/metrics", nil, 200},
		{"openapi open", open, "/openapi.json", nil, 200},
		{"bad key on an open route", open, "/metrics", bearer("nope"), 200},
		{"job types need a caller", open, "/health/jobOrchestrator", nil, 401},
		{"health closed", closed, "/health", nil, 401},
		{"readiness closed", closed, "/health/readiness", nil, 401},
		{"metrics closed", closed, "/metrics", nil, 401},
		{"openapi closed", closed, "/openapi.json", nil, 401},
		{"liveness never closed", closed, "/health/liveness", nil, 200},
		{"health with a key", closed, "/health", bearer("reader-key"), 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if a := tt.s.call(t, http.MethodGet, tt.path, "", tt.headers...); a.status != tt.status {
				t.Fatalf("%d %s, want %d", a.status, a.body, tt.status)
			}
		})
	}
	if a := open.call(t, http.MethodGet, "/health", ""); strings.Contains(a.body, "details") {
		t.Fatalf("health details for an unknown caller: %s", a.body)
	}
	if a := open.call(t, http.MethodGet, "/health", "", bearer("reader-key")...); !strings.Contains(a.body, "details") {
		t.Fatalf("no health details for a known caller: %s", a.body)
	}
}
