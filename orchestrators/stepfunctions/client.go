package stepfunctions

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/smithy-go"

	"github.com/jetjobs/jetjobs/internal/config"
	"github.com/jetjobs/jetjobs/jobs"
	"github.com/jetjobs/jetjobs/jobs/orchestrated"
)

// Config is `orchestration.aws-step-functions:`; start from
// jetjobs.DefaultConfig().Orchestration.AWSStepFunctions.
type Config = config.AWSStepFunctions

// API is the part of the Step Functions client the adapter calls
// (*sfn.Client implements it).
type API interface {
	StartExecution(ctx context.Context, in *sfn.StartExecutionInput, opts ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error)
	DescribeExecution(ctx context.Context, in *sfn.DescribeExecutionInput, opts ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error)
	StopExecution(ctx context.Context, in *sfn.StopExecutionInput, opts ...func(*sfn.Options)) (*sfn.StopExecutionOutput, error)
	DescribeStateMachine(ctx context.Context, in *sfn.DescribeStateMachineInput, opts ...func(*sfn.Options)) (*sfn.DescribeStateMachineOutput, error)
	ListStateMachines(ctx context.Context, in *sfn.ListStateMachinesInput, opts ...func(*sfn.Options)) (*sfn.ListStateMachinesOutput, error)
	GetExecutionHistory(ctx context.Context, in *sfn.GetExecutionHistoryInput, opts ...func(*sfn.Options)) (*sfn.GetExecutionHistoryOutput, error)
}

var _ API = (*sfn.Client)(nil)

// Orchestrator runs job definitions as AWS Step Functions state machine
// executions. It is safe for concurrent use; build one per engine.
type Orchestrator struct {
	api      API
	hc       *http.Client
	region   string
	machine  string // state-machine-arn: the default and the base of bare names
	endpoint string
	reqLimit time.Duration
	xray     bool
	sem      chan struct{} // bounds concurrent StartExecution calls
}

var (
	_ orchestrated.Orchestrator        = (*Orchestrator)(nil)
	_ orchestrated.ExecutionIDResolver = (*Orchestrator)(nil)
	_ orchestrated.HealthChecker       = (*Orchestrator)(nil)
	_ orchestrated.ProgressReporter    = (*Orchestrator)(nil)
)

// New builds an Orchestrator from orchestration.aws-step-functions and
// names the key of anything wrong. Credentials come from the AWS default
// chain (environment, shared files, SSO, container or instance role) when
// use-default-credentials is true, else from the static keys. The SDK's own
// retries are off: orchestration.max-retries and the engine's retry policy
// decide (see docs/orchestrators.md).
func New(cfg Config) (*Orchestrator, error) {
	const p = "orchestration.aws-step-functions."
	if cfg.Region == "" {
		return nil, fmt.Errorf("%sregion: must not be empty", p)
	}
	if cfg.StateMachineARN != "" {
		if _, _, err := machineParts(cfg.StateMachineARN); err != nil {
			return nil, fmt.Errorf("%sstate-machine-arn: %w", p, err)
		}
	}
	if cfg.Endpoint != "" {
		u, err := url.Parse(cfg.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("%sendpoint: must be an http(s) URL, got %q", p, cfg.Endpoint)
		}
	}
	if cfg.ConnectionTimeout <= 0 || cfg.RequestTimeout <= 0 {
		return nil, fmt.Errorf("%sconnection-timeout and request-timeout: must be > 0", p)
	}
	if cfg.MaxConcurrentExecutions < 1 {
		return nil, fmt.Errorf("%smax-concurrent-executions: must be >= 1, got %d", p, cfg.MaxConcurrentExecutions)
	}
	dialer := &net.Dialer{Timeout: cfg.ConnectionTimeout, KeepAlive: 30 * time.Second}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = http.ProxyFromEnvironment
	tr.DialContext = dialer.DialContext
	tr.TLSHandshakeTimeout = cfg.ConnectionTimeout
	tr.MaxIdleConnsPerHost = min(max(cfg.MaxConcurrentExecutions, 2), 64)
	hc := &http.Client{Transport: tr, Timeout: cfg.RequestTimeout}

	opts := sfn.Options{
		Region: cfg.Region, HTTPClient: hc, Retryer: aws.NopRetryer{},
	}
	if cfg.Endpoint != "" {
		opts.BaseEndpoint = aws.String(cfg.Endpoint)
	}
	if cfg.UseDefaultCredentials {
		// The SDK's buildable client, so the default configuration can
		// apply what it reads (AWS_CA_BUNDLE) to it.
		bc := awshttp.NewBuildableClient().WithTimeout(cfg.RequestTimeout).
			WithDialerOptions(func(d *net.Dialer) { d.Timeout = cfg.ConnectionTimeout }).
			WithTransportOptions(func(t *http.Transport) {
				t.TLSHandshakeTimeout = cfg.ConnectionTimeout
				t.MaxIdleConnsPerHost = tr.MaxIdleConnsPerHost
			})
		ctx, cancel := context.WithTimeout(context.Background(), cfg.RequestTimeout)
		defer cancel()
		ac, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(cfg.Region), awsconfig.WithHTTPClient(bc))
		if err != nil {
			return nil, fmt.Errorf("%suse-default-credentials: loading the AWS default configuration: %w", p, err)
		}
		opts.Credentials, opts.HTTPClient, hc = ac.Credentials, ac.HTTPClient, nil
	} else {
		if cfg.AccessKeyID == "" || cfg.SecretAccessKey == "" {
			return nil, fmt.Errorf("%saccess-key-id and secret-access-key: must be set when use-default-credentials is false", p)
		}
		opts.Credentials = aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey, cfg.SessionToken))
	}
	o := newOrchestrator(sfn.New(opts), cfg)
	o.hc = hc // nil with the default chain: the SDK's client is not ours to close
	return o, nil
}

// NewWithAPI builds an Orchestrator on a Step Functions client of the
// caller's (an *sfn.Client configured elsewhere, or a test double); cfg
// gives the state machine, the X-Ray switch and the concurrency limit.
func NewWithAPI(api API, cfg Config) *Orchestrator { return newOrchestrator(api, cfg) }

func newOrchestrator(api API, cfg Config) *Orchestrator {
	return &Orchestrator{api: api, region: cfg.Region, machine: cfg.StateMachineARN, endpoint: cfg.Endpoint,
		reqLimit: cfg.RequestTimeout, xray: cfg.EnableXRayTracing, sem: make(chan struct{}, max(cfg.MaxConcurrentExecutions, 1))}
}

// Type is "AWS_STEP_FUNCTIONS".
func (o *Orchestrator) Type() string { return orchestrated.TypeAWSStepFunctions }

// Close closes idle connections.
func (o *Orchestrator) Close() {
	if o.hc != nil {
		o.hc.CloseIdleConnections()
	}
}

// Health makes one cheap authorized call: DescribeStateMachine of
// state-machine-arn when it is set, else ListStateMachines of one. It
// proves the endpoint answers and the credentials are accepted.
func (o *Orchestrator) Health(ctx context.Context) error {
	if o.machine != "" {
		_, err := o.api.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(o.machine)})
		return o.classify("describe state machine "+o.machine, err)
	}
	_, err := o.api.ListStateMachines(ctx, &sfn.ListStateMachinesInput{MaxResults: 1})
	return o.classify("list state machines", err)
}

// Error codes the service answers that no retry can fix.
var permanentCodes = map[string]bool{
	"InvalidArn": true, "InvalidName": true, "InvalidExecutionInput": true, "InvalidToken": true,
	"StateMachineDoesNotExist": true, "StateMachineDeleting": true, "ValidationException": true,
	"AccessDeniedException": true, "UnrecognizedClientException": true, "InvalidSignatureException": true,
	"IncompleteSignature": true, "MissingAuthenticationToken": true, "InvalidClientTokenId": true,
	"ExpiredTokenException": true, "KmsAccessDeniedException": true, "KmsInvalidStateException": true,
	"ExecutionAlreadyExists": true, "InvalidParameterValue": true, "MissingParameter": true,
}

// classify wraps a client error: ExecutionDoesNotExist is a
// jobs.CodeNotFound error, a refusal for good (bad ARN, name or input, bad
// or missing credentials, access denied) is jobs.Permanent, and throttling,
// 5xx answers, timeouts and transport failures are plain (retried).
func (o *Orchestrator) classify(what string, err error) error {
	if err == nil {
		return nil
	}
	msg := "aws step functions: " + what
	var ae smithy.APIError
	if errors.As(err, &ae) {
		text := fmt.Sprintf("%s: %s", msg, ae.ErrorCode())
		if m := strings.TrimSpace(ae.ErrorMessage()); m != "" {
			text += ": " + m
		}
		if st := httpStatus(err); st != 0 {
			text += fmt.Sprintf(" (HTTP %d)", st)
		}
		switch code := ae.ErrorCode(); {
		case code == "ExecutionDoesNotExist":
			return jobs.Errorf(jobs.CodeNotFound, "%s", text)
		case permanentCodes[code]:
			return jobs.Permanent(errors.New(text))
		case ae.ErrorFault() == smithy.FaultClient && httpStatus(err) != http.StatusTooManyRequests &&
			!strings.Contains(code, "Throttl") && !strings.Contains(code, "LimitExceeded"):
			return jobs.Permanent(errors.New(text))
		}
		return errors.New(text)
	}
	if st := httpStatus(err); st >= 400 && st < 500 && st != http.StatusTooManyRequests && st != http.StatusRequestTimeout {
		return jobs.Permanent(fmt.Errorf("%s: HTTP %d: %w", msg, st, err))
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("%s: timed out (request-timeout %s): %w", msg, o.reqLimit, err)
	}
	return fmt.Errorf("%s: %w", msg, err)
}

func httpStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}
