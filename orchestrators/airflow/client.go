package airflow

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/jetjobs/jetjobs/internal/config"
	"github.com/jetjobs/jetjobs/jobs"
	"github.com/jetjobs/jetjobs/jobs/orchestrated"
)

// maxBody bounds what is read of one answer (a dag run with its conf).
const maxBody = 8 << 20

// Orchestrator talks to one Airflow webserver. It is safe for concurrent
// use; build one per engine and share it between orchestrated jobs.
type Orchestrator struct {
	api      string // {base-url}/api/{version}
	version  string
	authType string
	user     string
	password string
	token    string
	prefix   string
	reqLimit time.Duration
	hc       *http.Client
	sem      chan struct{} // bounds concurrent StartJob calls
	secrets  []string      // what redact removes from messages
}

var (
	_ orchestrated.Orchestrator        = (*Orchestrator)(nil)
	_ orchestrated.ExecutionIDResolver = (*Orchestrator)(nil)
)

// Config is `orchestration.airflow:`; start from
// jetjobs.DefaultConfig().Orchestration.Airflow and set BaseURL and the
// credentials.
type Config = config.Airflow

// New builds an Orchestrator from orchestration.airflow. It checks what it
// needs (base-url, authentication and its credentials, positive limits)
// and names the key of anything wrong.
func New(cfg Config) (*Orchestrator, error) {
	const p = "orchestration.airflow."
	u, err := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%sbase-url: must be an http(s) URL, got %q", p, redactURL(cfg.BaseURL))
	}
	version := strings.Trim(cfg.APIVersion, "/")
	if version == "" {
		version = "v1"
	}
	if strings.ContainsAny(version, "/?# ") {
		return nil, fmt.Errorf("%sapi-version: must be one path segment such as v1, got %q", p, cfg.APIVersion)
	}
	o := &Orchestrator{
		api: u.String() + "/api/" + url.PathEscape(version), version: version,
		authType: strings.ToUpper(cfg.AuthenticationType), prefix: cfg.DagIDPrefix, reqLimit: cfg.RequestTimeout,
	}
	switch o.authType {
	case config.AuthBasic:
		if cfg.Username == "" {
			return nil, fmt.Errorf("%susername: must be set when authentication-type is BASIC", p)
		}
		o.user, o.password = cfg.Username, cfg.Password
		o.secrets = append(o.secrets, cfg.Password, base64.StdEncoding.EncodeToString([]byte(cfg.Username+":"+cfg.Password)))
	case config.AuthBearerToken:
		if cfg.BearerToken == "" {
			return nil, fmt.Errorf("%sbearer-token: must be set when authentication-type is BEARER_TOKEN", p)
		}
		o.token = cfg.BearerToken
		o.secrets = append(o.secrets, cfg.BearerToken)
	case config.AuthNone, "":
		o.authType = config.AuthNone
	default:
		return nil, fmt.Errorf("%sauthentication-type: must be one of BASIC|BEARER_TOKEN|NONE, got %q", p, cfg.AuthenticationType)
	}
	if pw, ok := u.User.Password(); ok {
		o.secrets = append(o.secrets, pw)
	}
	if cfg.ConnectionTimeout <= 0 || cfg.RequestTimeout <= 0 {
		return nil, fmt.Errorf("%sconnection-timeout and request-timeout: must be > 0", p)
	}
	if cfg.MaxConcurrentDagRuns < 1 {
		return nil, fmt.Errorf("%smax-concurrent-dag-runs: must be >= 1, got %d", p, cfg.MaxConcurrentDagRuns)
	}
	o.sem = make(chan struct{}, cfg.MaxConcurrentDagRuns)
	dialer := &net.Dialer{Timeout: cfg.ConnectionTimeout, KeepAlive: 30 * time.Second}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = http.ProxyFromEnvironment
	tr.DialContext = dialer.DialContext
	tr.TLSHandshakeTimeout = cfg.ConnectionTimeout
	tr.MaxIdleConnsPerHost = max(cfg.MaxConcurrentDagRuns, 2)
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: !cfg.VerifySSL} //nolint:gosec // verify-ssl: false asks for it
	o.hc = &http.Client{Transport: tr, Timeout: cfg.RequestTimeout}
	return o, nil
}

// Type is "APACHE_AIRFLOW".
func (o *Orchestrator) Type() string { return orchestrated.TypeAirflow }

// Close closes idle connections to the webserver.
func (o *Orchestrator) Close() { o.hc.CloseIdleConnections() }

// dagRun is the part of Airflow's DAGRun schema the adapter reads. Dates
// stay strings: Airflow versions format them differently.
type dagRun struct {
	DagRunID    string         `json:"dag_run_id"`
	DagID       string         `json:"dag_id"`
	State       string         `json:"state"`
	Conf        map[string]any `json:"conf"`
	LogicalDate *string        `json:"logical_date"`
	StartDate   *string        `json:"start_date"`
	EndDate     *string        `json:"end_date"`
	Note        *string        `json:"note"`
}

// call is one request about one dag run: op names it in errors.
type call struct {
	op, method, dag, run string
	body                 any
}

func (c call) what() string {
	if c.dag == "" {
		return "airflow: " + c.op
	}
	if c.run == "" {
		return fmt.Sprintf("airflow: %s dag %q", c.op, c.dag)
	}
	return fmt.Sprintf("airflow: %s dag run %q of dag %q", c.op, c.run, c.dag)
}

func (o *Orchestrator) path(dag, run string) string {
	p := o.api + "/dags/" + url.PathEscape(dag) + "/dagRuns"
	if run != "" {
		p += "/" + url.PathEscape(run)
	}
	return p
}

// do sends c; status is the HTTP status of an answer that came back (also
// when err reports it as a failure), 0 when none did.
func (o *Orchestrator) do(ctx context.Context, c call, target string) (run *dagRun, status int, err error) {
	var body io.Reader
	if c.body != nil {
		b, err := json.Marshal(c.body)
		if err != nil {
			return nil, 0, jobs.Permanent(fmt.Errorf("%s: encoding the request: %w", c.what(), err))
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, c.method, target, body)
	if err != nil {
		return nil, 0, jobs.Permanent(fmt.Errorf("%s: %s", c.what(), o.redact(err.Error())))
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "jetjobs")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	o.authorize(req)
	resp, err := o.hc.Do(req)
	if err != nil {
		return nil, 0, o.transportError(c, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, resp.StatusCode, o.transportError(c, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, resp.StatusCode, o.statusError(c, resp.StatusCode, data)
	}
	if len(data) > maxBody {
		return nil, resp.StatusCode, jobs.Permanent(fmt.Errorf("%s: HTTP %d: answer larger than %d bytes", c.what(), resp.StatusCode, maxBody))
	}
	run = &dagRun{}
	if err := json.Unmarshal(data, run); err != nil {
		return nil, resp.StatusCode, fmt.Errorf("%s: HTTP %d: answer is not a dag run: %s", c.what(), resp.StatusCode, o.redact(err.Error()))
	}
	return run, resp.StatusCode, nil
}

// authorize adds the configured credentials to req.
func (o *Orchestrator) authorize(req *http.Request) {
	switch o.authType {
	case config.AuthBasic:
		req.SetBasicAuth(o.user, o.password)
	case config.AuthBearerToken:
		req.Header.Set("Authorization", "Bearer "+o.token)
	}
}

// transportError keeps the cause in the chain (context.DeadlineExceeded,
// net.Error) but not the *url.Error around it, whose text repeats the URL.
func (o *Orchestrator) transportError(c call, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var cve *tls.CertificateVerificationError
	if errors.As(err, &cve) {
		return jobs.Permanent(fmt.Errorf("%s: the server's certificate is not trusted (orchestration.airflow.verify-ssl): %w", c.what(), err))
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("%s: timed out (request-timeout %s): %w", c.what(), o.reqLimit, err)
	}
	return fmt.Errorf("%s: %w", c.what(), err)
}

// statusError classifies a non-2xx answer.
func (o *Orchestrator) statusError(c call, status int, body []byte) error {
	msg := fmt.Sprintf("%s: HTTP %d", c.what(), status)
	if d := o.problem(body); d != "" {
		msg += ": " + d
	}
	switch {
	case status == http.StatusNotFound && c.run != "" && c.method != http.MethodPost:
		return jobs.Errorf(jobs.CodeNotFound, "%s", msg)
	case status == http.StatusRequestTimeout, status == http.StatusTooEarly, status == http.StatusTooManyRequests,
		status >= 500, status < 400:
		return errors.New(msg)
	}
	return jobs.Permanent(errors.New(msg))
}

// problem reads the title and detail of an Airflow problem+json body, or
// the start of any other body, redacted and short.
func (o *Orchestrator) problem(body []byte) string {
	var p struct{ Title, Detail string }
	text := strings.TrimSpace(string(body))
	if json.Unmarshal(body, &p) == nil && (p.Title != "" || p.Detail != "") {
		text = strings.TrimSpace(strings.Trim(p.Title+": "+p.Detail, ": "))
	}
	text = strings.Join(strings.Fields(o.redact(text)), " ")
	if r := []rune(text); len(r) > 300 {
		text = string(r[:300]) + "…"
	}
	return text
}

// redact removes the password, the token and the basic credentials from s.
func (o *Orchestrator) redact(s string) string {
	for _, secret := range o.secrets {
		if secret != "" {
			s = strings.ReplaceAll(s, secret, "****")
		}
	}
	return s
}

func redactURL(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Redacted()
	}
	return "(unparsable)"
}
