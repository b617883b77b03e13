package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/nats-io/nats.go"

	"github.com/jetjobs/jetjobs"
	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/httpadapter/auth"
	"github.com/jetjobs/jetjobs/internal/authtest"
	"github.com/jetjobs/jetjobs/internal/samplejobs"
	"github.com/jetjobs/jetjobs/jetjobstest"
	"github.com/jetjobs/jetjobs/jobs"
	"github.com/jetjobs/jetjobs/saga"
)

// chromium finds the browser: Debian's chromium (.ci/run installs it),
// else another Chromium or Chrome on the PATH.
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no Chromium on this CI machine: .ci/run installs Debian's chromium (apt-get install -y chromium)")
	}
	t.Skip("no Chromium found (apt-get install -y chromium): the console's browser tests are skipped outside CI")
	return ""
}

// fixture is one engine with the fixture jobs and the demo saga, REST with API keys,
// and one headless browser, shared by the console's browser tests.
type fixture struct {
	h       *jetjobstest.Harness
	base    string
	browser context.Context
}

func newFixture(t *testing.T) *fixture {
	path := chromium(t)
	keys := `keys:
  - name: ops
    sha256: "` + auth.HashKey("ops-key") + `"
    permissions: ["read:*", "run:*", "admin:*"]
  - name: reader
    sha256: "` + auth.HashKey("reader-key") + `"
    permissions: ["read:*"]
`
	file := authtest.WriteFile(t, t.TempDir(), "api-keys.yaml", []byte(keys))
	h := jetjobstest.New(t, func(r *jobs.Registry) {
		if err := samplejobs.Register(r); err != nil {
			t.Fatal(err)
		}
		if err := samplejobs.RegisterSagaSteps(r); err != nil {
			t.Fatal(err)
		}
	}, jetjobstest.WithEngineOptions(jetjobs.WithComponents(saga.InEngine(samplejobs.Onboarding()))),
		jetjobstest.WithConfig(func(c *jetjobs.Config) {
			c.HTTP.Addr = "127.0.0.1:0"
			c.HTTP.Auth.APIKeysFile = file
		}))
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.WindowSize(1280, 900), chromedp.Flag("disable-dev-shm-usage", true))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	browser, cancelBrowser := chromedp.NewContext(alloc)
	if err := chromedp.Do(browser); err != nil { // starts the browser
		cancelBrowser()
		cancelAlloc()
		t.Fatalf("start Chromium %s: %v", path, err)
	}
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
	})
	return &fixture{h: h, base: "http://" + h.Engine.HTTPAddr(), browser: browser}
}

// tab opens a tab in a browser context of its own (its own cookies),
// logged in with key through the login page.
func (f *fixture) tab(t *testing.T, key string) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(f.browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil { // opens the tab; no timeout on this first run
		t.Fatal(err)
	}
	ctx, cancelT := context.WithTimeout(ctx, 45*time.Second)
	t.Cleanup(cancelT)
	f.run(t, ctx,
		chromedp.Navigate(f.base+"/ui/"),
		chromedp.WaitVisible(chromedp.ID("key")), // redirected to the login page
		chromedp.SendKeys(chromedp.ID("key"), key),
		chromedp.Click(css(`#login button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("article.job")),
	)
	return ctx
}

func (f *fixture) run(t *testing.T, ctx context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		failAt(t, ctx, err)
	}
}

// val runs one action that reads a value.
func val[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		failAt(t, ctx, err)
	}
	return v
}

func failAt(t *testing.T, ctx context.Context, err error) {
	t.Helper()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	t.Fatalf("browser: %v\nat %s:\n%.2000s", err, loc, body)
}

// shot writes a screenshot to docs/console/<name>.png when
// JETJOBS_SCREENSHOTS is set (make screenshots).
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if os.Getenv("JETJOBS_SCREENSHOTS") == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	dir := filepath.Join("..", "docs", "console")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// rest calls the engine's REST API with an API key.
func (f *fixture) rest(t *testing.T, method, path, key, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, f.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The console in a real headless Chromium against a real engine with the
// demo jobs and saga; one browser, a browser context per subtest.
func TestConsole(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	t.Run("overview", func(t *testing.T) { t.Parallel(); overview(t, f) })
	t.Run("start shows live progress", func(t *testing.T) { t.Parallel(); startLive(t, f) })
	t.Run("failed saga shows compensation", func(t *testing.T) { t.Parallel(); sagaCompensation(t, f) })
	t.Run("dead letter replay", func(t *testing.T) { t.Parallel(); dlqReplay(t, f) })
	t.Run("read-only caller", func(t *testing.T) { t.Parallel(); readOnly(t, f) })
	t.Run("schedules", func(t *testing.T) { t.Parallel(); schedulesPage(t, f) }) // schedules_browser_test.go
}

type css = chromedp.CSS

// The overview lists the demo jobs with their mode.
func overview(t *testing.T, f *fixture) {
	ctx := f.tab(t, "ops-key")
	names := val(t, ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('article.job')].map(a => a.dataset.job)`))
	for _, want := range []string{"customer-import", "customer-validation", "order-import", "notification", "customer-purge"} {
		if !slices.Contains(names, want) {
			t.Errorf("overview lists %v, not %s", names, want)
		}
	}
	if mode := val(t, ctx, chromedp.Text(css(`article[data-job="customer-import"] h3 .badge`))); mode != "async" {
		t.Errorf("customer-import mode = %q", mode)
	}
	shot(t, ctx, "overview")
	f.run(t, ctx, chromedp.EmulateViewport(390, 844), chromedp.Reload(), chromedp.WaitVisible(css(`article.job`)))
	shot(t, ctx, "overview-narrow")
}

// Starting a job from the form lands on the list with the new execution,
// whose progress bar reaches 100% over the live stream, without a reload.
func startLive(t *testing.T, f *fixture) {
	ctx := f.tab(t, "ops-key")
	params := `{"datasetId":"console-live","records":100,"batchSize":25,"batchDelay":"400ms"}`
	f.run(t, ctx,
		chromedp.Navigate(f.base+"/ui/start/customer-import"),
		chromedp.WaitVisible(chromedp.ID("params-json")),
		chromedp.SetValue(chromedp.ID("params-json"), params),
	)
	shot(t, ctx, "start")
	f.run(t, ctx, chromedp.Click(css(`#start button[type=submit]`)), chromedp.WaitVisible(chromedp.ID("executions")))
	loc := val(t, ctx, chromedp.Location())
	_, id, ok := strings.Cut(loc, "new=")
	if !ok {
		t.Fatalf("after the start form the page is %s", loc)
	}
	row := `tr[data-key="customer-import/` + id + `"]`
	f.run(t, ctx, chromedp.WaitVisible(css(row)))
	val(t, ctx, chromedp.Evaluate[bool](`window.__noReload = true`))
	shot(t, ctx, "executions")
	val(t, ctx, chromedp.Poll[bool](`document.querySelector('`+row+` progress').value === 100 && window.__noReload === true`,
		chromedp.WithPollingTimeout(30*time.Second)))
	if status := val(t, ctx, chromedp.Text(css(row+` [data-status]`))); status != "COMPLETED" {
		t.Errorf("status after 100%% = %q", status)
	}
	f.run(t, ctx, chromedp.Click(css(row+` a`)), chromedp.WaitVisible(chromedp.ID("h-audit")))
	if tl := val(t, ctx, chromedp.Text(css(`.timeline`))); !strings.Contains(tl, "START") || !strings.Contains(tl, "COMPLETED") {
		t.Errorf("timeline: %s", tl)
	}
	shot(t, ctx, "execution")
}

// A saga whose order import fails ends COMPENSATED; its page shows the
// customer import's compensation, in the table and on the graph.
func sagaCompensation(t *testing.T, f *fixture) {
	id := "console-fail-1"
	body := `{"sagaId":"` + id + `","input":{"datasetId":"d1","records":20,"batchSize":10,"batchDelay":"10ms",` +
		`"failOrders":true,"orderDuration":"50ms","channel":"email"}}`
	if code, b := f.rest(t, http.MethodPost, "/api/v1/sagas/customer-onboarding/start", "ops-key", body); code != http.StatusCreated {
		t.Fatalf("start saga: %d %s", code, b)
	}
	ctx := f.tab(t, "ops-key")
	// The saga page is not live: it reloads itself until the saga has ended.
	f.run(t, ctx, chromedp.Navigate(f.base+"/ui/sagas/customer-onboarding/"+id), chromedp.WaitVisible(chromedp.ID("saga-status")))
	val(t, ctx, chromedp.PollFunction[bool](`() => { const e = document.querySelector('#saga-status'); const s = e ? e.textContent : '';
		if (s === 'COMPENSATED' || s === 'FAILED' || s === 'COMPLETED') return true;
		if (!window.__reloading) { window.__reloading = true; setTimeout(() => location.reload(), 300); } return false; }`,
		chromedp.WithPollingTimeout(30*time.Second)))
	f.run(t, ctx, chromedp.WaitVisible(chromedp.ID("saga-status")))
	if status := val(t, ctx, chromedp.Text(chromedp.ID("saga-status"))); status != "COMPENSATED" {
		t.Fatalf("saga status %q, want COMPENSATED", status)
	}
	comp := val(t, ctx, chromedp.Text(css(`#steps tbody tr:first-child td.compensation`)))
	if !strings.Contains(comp, "customer-purge") || !strings.Contains(comp, "COMPLETED") {
		t.Errorf("compensation cell: %q", comp)
	}
	if n := val(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('svg.dag g.compensation').length`)); n != 1 {
		t.Errorf("%d compensation boxes on the graph, want 1", n)
	}
	shot(t, ctx, "saga")
	f.run(t, ctx, chromedp.Navigate(f.base+"/ui/sagas"), chromedp.WaitVisible(chromedp.ID("h-defs")))
	shot(t, ctx, "sagas")
}

// putDeadLetter puts a command into JOBS_DLQ as the engine's consumers do.
func putDeadLetter(t *testing.T, f *fixture, id string) uint64 {
	h := nats.Header{}
	for k, v := range map[string]string{"ce-specversion": "1.0", "ce-id": id, "ce-source": "/test", "ce-type": "JOB_EXECUTE",
		"Content-Type": "application/json", bus.HeaderDLQSubject: "jobs.cmd.customer-validation.execute",
		bus.HeaderDLQReason: "test: dead-lettered", bus.HeaderDLQDeliveries: "5",
		bus.HeaderDLQTime: time.Now().UTC().Format(time.RFC3339Nano)} {
		h.Set(k, v)
	}
	ack, err := f.h.JS.PublishMsg(context.Background(), &nats.Msg{Subject: "jobs.dlq.customer-validation.execute", Header: h,
		Data: []byte(`{"parameters":{"customerId":"CUST-7"}}`)})
	if err != nil {
		t.Fatal(err)
	}
	return ack.Sequence
}

// A dead letter is listed with its reason, shows its command, and replays
// from its page.
func dlqReplay(t *testing.T, f *fixture) {
	seq := putDeadLetter(t, f, "console-dl-1")
	ctx := f.tab(t, "ops-key")
	row := fmt.Sprintf(`tr[data-seq="%d"]`, seq)
	f.run(t, ctx, chromedp.Navigate(f.base+"/ui/dlq"), chromedp.WaitVisible(css(row)))
	if reason := val(t, ctx, chromedp.Text(css(row+` td.err`))); reason != "test: dead-lettered" {
		t.Errorf("reason %q", reason)
	}
	shot(t, ctx, "dlq")
	f.run(t, ctx, chromedp.Click(css(row+` a`)), chromedp.WaitVisible(chromedp.ID("h-cmd")))
	if cmd := val(t, ctx, chromedp.Text(css(`pre`))); !strings.Contains(cmd, "CUST-7") {
		t.Errorf("original command: %s", cmd)
	}
	shot(t, ctx, "dlq-entry")
	val(t, ctx, chromedp.Evaluate[bool](`window.confirm = () => true; true`))
	f.run(t, ctx, chromedp.Click(css(`button[data-post$="/replay"]`)))
	// The page says "Done" and reloads itself 600ms later; a slow machine
	// may poll only after the reload, which finds the entry gone. Either
	// shows the replay went through; the REST API then confirms it.
	val(t, ctx, chromedp.Poll[bool](`(document.querySelector('#flash') || {textContent: ''}).textContent.startsWith('Done') ||
		document.body.textContent.includes('not found')`, chromedp.WithPollingTimeout(15*time.Second)))
	if code, b := f.rest(t, http.MethodGet, fmt.Sprintf("/api/v1/dlq/%d", seq), "ops-key", ""); code != http.StatusNotFound {
		t.Errorf("dead letter %d after replay: %d %s, want 404 (replayed and removed)", seq, code, b)
	}
}

// A read-only caller sees the pages but no action, and a forged POST is
// refused: a form of another origin, even in a browser logged in as an
// admin, and the reader's own state changes.
func readOnly(t *testing.T, f *fixture) {
	ctx := f.tab(t, "reader-key")
	count := func(sel string) int {
		return val(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('`+sel+`').length`))
	}
	if n := count(`a.button, [data-post], [data-delete]`); n != 0 {
		t.Errorf("overview shows %d actions to a reader", n)
	}
	code, b := f.rest(t, http.MethodPost, "/api/v1/customer-validation/execute", "ops-key", `{"parameters":{"customerId":"CUST-1"}}`)
	if code != http.StatusOK {
		t.Fatalf("execute: %d %s", code, b)
	}
	var ex struct {
		ExecutionID string `json:"executionId"`
	}
	_ = json.Unmarshal([]byte(b), &ex)
	f.run(t, ctx, chromedp.Navigate(f.base+"/ui/executions/customer-validation/"+ex.ExecutionID), chromedp.WaitVisible(chromedp.ID("h-audit")))
	if n := count(`a.button:not([download]), [data-post], [data-delete]`); n != 0 {
		t.Errorf("execution page shows %d actions to a reader", n)
	}
	shot(t, ctx, "readonly-execution")
	f.run(t, ctx, chromedp.Navigate(f.base+"/ui/start/customer-import"), chromedp.WaitVisible(css(`main h1`)))
	if n := count(`#start`); n != 0 {
		t.Error("the start form is shown to a reader")
	}
	f.run(t, ctx, chromedp.Navigate(f.base+"/ui/dlq"), chromedp.WaitVisible(css(`.problem`)))
	if problem := val(t, ctx, chromedp.Text(css(`.problem`))); !strings.Contains(problem, "lacks admin") {
		t.Errorf("dlq page for a reader: %q", problem)
	}
	// The reader's own cookie, from the console's page, with its header:
	// the adapter's permission check answers.
	status := val(t, ctx, chromedp.Evaluate[int](`fetch('/api/v1/customer-import/start', {method: 'POST', credentials: 'same-origin',
		headers: {'Content-Type': 'application/json', 'X-Jetjobs-Console': '1'}, body: '{"parameters":{"datasetId":"x"}}'}).then(r => r.status)`,
		chromedp.EvalAwaitPromise))
	if status != http.StatusForbidden {
		t.Errorf("reader's start: %d, want 403", status)
	}
	// A page of another origin posts a form to the engine in a browser
	// logged in as ops: the cookie alone does not authenticate a POST.
	// notification: no other subtest runs it (the failing saga stops
	// before its notify step).
	before := countExecutions(t, f, "notification")
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<form id="f" method="post" action="%s/api/v1/notification/execute"><input name="parameters" value="x"></form>
			<script>document.getElementById('f').submit()</script>`, f.base)
	}))
	defer evil.Close()
	ops := f.tab(t, "ops-key")
	f.run(t, ops, chromedp.Navigate(evil.URL))
	val(t, ops, chromedp.Poll[bool](`location.href.includes('/api/v1/') && document.readyState === 'complete'`, chromedp.WithPollingTimeout(10*time.Second)))
	text := val(t, ops, chromedp.Evaluate[string](`document.body.innerText`))
	if !strings.Contains(text, "authentication required") && !strings.Contains(text, "Content-Type") {
		t.Errorf("forged form POST was answered: %s", text)
	}
	if after := countExecutions(t, f, "notification"); after != before {
		t.Errorf("a forged POST started an execution: %d -> %d", before, after)
	}
}

func countExecutions(t *testing.T, f *fixture, job string) int {
	code, b := f.rest(t, http.MethodGet, "/api/v1/jobs", "ops-key", "")
	if code != http.StatusOK {
		t.Fatalf("jobs: %d %s", code, b)
	}
	var l struct {
		Jobs []struct {
			Name   string         `json:"name"`
			Counts map[string]int `json:"counts"`
		} `json:"jobs"`
	}
	_ = json.Unmarshal([]byte(b), &l)
	n := 0
	for _, j := range l.Jobs {
		if j.Name == job {
			for _, c := range j.Counts {
				n += c
			}
		}
	}
	return n
}
