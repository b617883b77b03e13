package jetjobs_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/jetjobs/jetjobs"
	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/internal/testutil"
	"github.com/jetjobs/jetjobs/jetjobstest"
	"github.com/jetjobs/jetjobs/jobs"
	"github.com/jetjobs/jetjobs/saga"
)

// Every secret of the end-to-end test contains this marker, so one search
// finds any of them.
const marker = "S3cr3t"

const (
	paramSecret = marker + "-param-hunter2"
	metaSecret  = marker + "-meta-bearer"
	sagaSecret  = marker + "-saga-apikey"
	outSecret   = marker + "-output-token"
)

// vaultSync leaks the password it is given everywhere a job can: message,
// data, raw output, metadata; with fail it returns it in an error.
type vaultSync struct{}

type rawLogin struct {
	User     string `json:"user"`
	Note     string `json:"note"`
	Password string `json:"dbPassword"`
}

func (vaultSync) Execute(_ context.Context, req *jobs.Request) (*jobs.Response, error) {
	pw, _ := req.Parameters["password"].(string)
	if req.Parameters["fail"] == true {
		return nil, fmt.Errorf("login failed for %s", pw)
	}
	return &jobs.Response{Success: true, Status: jobs.StatusCompleted, Message: "connected with " + pw,
		Data: map[string]any{"echo": pw, "sessionToken": outSecret, "nested": []any{map[string]any{"apiKey": outSecret}}},
		Raw:  rawLogin{User: "bob", Note: "used " + pw, Password: pw}, Metadata: map[string]string{"cookie": outSecret}}, nil
}

// vaultAsync completes at its first CHECK with data naming a secret key.
type vaultAsync struct{ jobs.AsyncDefaults }

func (vaultAsync) Start(_ context.Context, req *jobs.Request) (*jobs.Response, error) {
	pw, _ := req.Parameters["password"].(string)
	return jobs.Started("starting with " + pw), nil
}

func (vaultAsync) Check(_ context.Context, req *jobs.Request) (*jobs.Response, error) {
	return jobs.Completed("done", map[string]any{"apiKey": outSecret, "echo": req.Parameters["password"]}), nil
}

func (vaultAsync) Result(_ context.Context, req *jobs.Request) (*jobs.Response, error) {
	return jobs.OK("result", map[string]any{"accessToken": outSecret}), nil
}

func (vaultAsync) Stop(context.Context, *jobs.Request) (*jobs.Response, error) {
	return jobs.OK("stopped", nil), nil
}

// A secret given in parameters, metadata, a saga's input, or produced in a
// job's output or error message appears in no stream or bucket (JOBS_DLQ
// aside: docs/operations.md), no log line, no span and no HTTP answer; and
// no handled command is left in JOBS_COMMANDS.
func TestSecretsAppearNowhere(t *testing.T) {
	t.Parallel()
	logs := &testutil.SyncBuffer{}
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	vault := &saga.Definition{Name: "vault", Steps: []saga.Step{
		{Name: "login", Job: "vault-sync", Parameters: map[string]any{"password": "${input.apiKey}", "user": "${input.user}"}},
	}}
	h := jetjobstest.New(t, func(r *jobs.Registry) {
		r.MustRegister("vault-sync", vaultSync{})
		r.MustRegister("vault-async", vaultAsync{})
	}, jetjobstest.WithConfig(func(c *jetjobs.Config) {
		c.Orchestration.Observability.IncludeJobParametersInTraces = true
		c.Orchestration.Observability.IncludeJobResultsInTraces = true
		c.Orchestration.Resiliency.RetryMaxAttempts = 2 // the failing job logs a retry
	}), jetjobstest.WithEngineOptions(jetjobs.WithTracerProvider(tp),
		jetjobs.WithLogger(zerolog.New(logs).Level(zerolog.DebugLevel)),
		jetjobs.WithComponents(saga.InEngine(vault))))
	srv := serve(t, h)
	var answers []string
	call := func(method, path, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		answers = append(answers, method+" "+path+": "+string(b))
		return resp.StatusCode, string(b)
	}
	id := func(body string) string {
		var r jobs.Response
		if err := json.Unmarshal([]byte(body), &r); err != nil || r.ExecutionID == "" {
			t.Fatalf("no execution id in %s", body)
		}
		return r.ExecutionID
	}
	params := `{"parameters":{"password":"` + paramSecret + `","user":"bob"},"metadata":{"Authorization":"Bearer ` + metaSecret + `"}}`

	// A sync job that echoes its password everywhere.
	code, body := call("POST", "/api/v1/vault-sync/execute", params)
	if code != 200 {
		t.Fatalf("execute: %d %s", code, body)
	}
	okID := id(body)
	h.WaitEvent(t, "vault-sync", okID, jobs.EventCompleted)
	call("GET", "/api/v1/vault-sync/"+okID+"/result", "")
	call("GET", "/api/v1/vault-sync/"+okID+"/audit", "")

	// The same job failing with the password in its error.
	failing := strings.Replace(params, `"user":"bob"`, `"user":"bob","fail":true`, 1)
	_, body = call("POST", "/api/v1/vault-sync/execute", failing)
	failID := id(body)
	if !strings.Contains(body, "login failed for "+jobs.Mask) {
		t.Errorf("failed execute answer %s: want the error with the password masked", body)
	}
	h.WaitEvent(t, "vault-sync", failID, jobs.EventFailed)
	call("GET", "/api/v1/vault-sync/"+failID+"/audit", "")

	// An async job: START, CHECK, RESULT.
	code, body = call("POST", "/api/v1/vault-async/start", params)
	if code != 200 && code != 202 {
		t.Fatalf("start: %d %s", code, body)
	}
	asyncID := id(body)
	h.WaitEvent(t, "vault-async", asyncID, jobs.EventCompleted)
	call("GET", "/api/v1/vault-async/"+asyncID+"/check", "")
	call("GET", "/api/v1/vault-async/"+asyncID+"/result", "")
	call("GET", "/api/v1/vault-async/"+asyncID+"/audit", "")

	// A saga whose input holds a key, used by its step.
	code, body = call("POST", "/api/v1/sagas/vault/start",
		`{"sagaId":"vault-1","input":{"apiKey":"`+sagaSecret+`","user":"bob","note":"key is `+sagaSecret+`"}}`)
	if code != http.StatusCreated {
		t.Fatalf("saga start: %d %s", code, body)
	}
	waitFor(t, func() bool {
		_, body := call("GET", "/api/v1/sagas/vault/vault-1", "")
		return strings.Contains(body, `"COMPLETED"`)
	})

	// Handled commands leave JOBS_COMMANDS.
	ctx := context.Background()
	waitFor(t, func() bool {
		s, err := h.JS.Stream(ctx, bus.StreamCommands)
		if err != nil {
			return false
		}
		info, err := s.Info(ctx)
		return err == nil && info.State.Msgs == 0
	})

	for _, a := range answers {
		if strings.Contains(a, marker) {
			t.Errorf("HTTP answer leaks a secret: %s", a)
		}
	}
	if strings.Contains(body, sagaSecret) || !strings.Contains(body, jobs.Mask) {
		t.Errorf("saga GET %s: want the input masked", body)
	}
	scanStreams(t, h.JS)
	waitFor(t, func() bool { return len(rec.Ended()) > 0 })
	for _, s := range rec.Ended() {
		if strings.Contains(s.Name(), marker) || strings.Contains(s.Status().Description, marker) {
			t.Errorf("span %s leaks a secret: %q", s.Name(), s.Status().Description)
		}
		for _, a := range s.Attributes() {
			if strings.Contains(a.Value.Emit(), marker) {
				t.Errorf("span %s attribute %s leaks a secret: %s", s.Name(), a.Key, a.Value.Emit())
			}
		}
	}
	out := logs.String()
	if !strings.Contains(out, "stage started") || !strings.Contains(out, "retrying stage") {
		t.Errorf("the debug log lacks the stage and retry lines the test relies on:\n%s", out)
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, marker) {
			t.Errorf("log line leaks a secret: %s", line)
		}
	}
}

// scanStreams reads every message of every stream (the KV buckets and
// object stores are streams too), headers included, and fails on a secret.
// JOBS_DLQ keeps original commands on purpose and is skipped.
func scanStreams(t *testing.T, js jetstream.JetStream) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), jetjobstest.DefaultTimeout)
	defer cancel()
	names := js.StreamNames(ctx)
	seen := 0
	for name := range names.Name() {
		if name == bus.StreamDLQ {
			continue
		}
		s, err := js.Stream(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		info, err := s.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
			m, err := s.GetMsg(ctx, seq)
			if errors.Is(err, jetstream.ErrMsgNotFound) {
				continue
			}
			if err != nil {
				t.Fatalf("%s #%d: %v", name, seq, err)
			}
			seen++
			if strings.Contains(string(m.Data), marker) || strings.Contains(fmt.Sprint(m.Header), marker) {
				t.Errorf("stream %s message %d on %s leaks a secret: %s %s", name, seq, m.Subject, m.Header, m.Data)
			}
		}
	}
	if err := names.Err(); err != nil {
		t.Fatal(err)
	}
	if seen == 0 {
		t.Fatal("no message scanned")
	}
}

// The engine's ids are random: an execution id the engine chooses shares
// no prefix with the next one, where NUIDs shared 12 characters.
func TestEngineChosenIDsAreRandom(t *testing.T) {
	t.Parallel()
	h := jetjobstest.New(t, func(r *jobs.Registry) { r.MustRegister("vault-sync", vaultSync{}) })
	var ids []string
	for range 3 {
		resp := h.Call(t, "vault-sync", jobs.StageExecute, &jobs.Request{})
		ids = append(ids, resp.ExecutionID)
	}
	assertRandomIDs(t, ids)
}

func assertRandomIDs(t *testing.T, ids []string) {
	t.Helper()
	for i := 1; i < len(ids); i++ {
		a, b := ids[i-1], ids[i]
		n := 0
		for n < len(a) && n < len(b) && a[n] == b[n] {
			n++
		}
		// Two random hex digits agree with p=1/16; 6 in a row, ~1e-7.
		if n >= 6 || len(a) != 36 || a[14] != '4' {
			t.Errorf("ids %q and %q: %d characters in common, or not a UUID v4", a, b, n)
		}
	}
}
