package jetjobs_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jetjobs/jetjobs"
	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/jetjobstest"
	"github.com/jetjobs/jetjobs/jobs"
	"github.com/jetjobs/jetjobs/kv"
)

// The audit trail of a whole lifecycle, in order, with the fields it
// promises.
func TestAuditTrailOfALifecycle(t *testing.T) {
	t.Parallel()
	h := demoHarness(t, jetjobstest.WithConfig(func(c *jetjobs.Config) {
		c.Orchestration.Persistence.AuditRetentionDays = 7
	}))
	start := h.Call(t, "customer-import", jobs.StageStart, &jobs.Request{RequestID: "req-1", Initiator: "crm",
		Parameters: map[string]any{"datasetId": "d1", "records": 20, "batchSize": 10, "batchDelay": "20ms", "token": "t-secret"}})
	id := start.ExecutionID
	h.WaitEvent(t, "customer-import", id, jobs.EventCompleted)
	h.Call(t, "customer-import", jobs.StageResult, &jobs.Request{ExecutionID: id})
	entries, err := h.Engine.Audit().Entries(context.Background(), "customer-import", id)
	if err != nil {
		t.Fatal(err)
	}
	var stages []string
	for _, e := range entries {
		stages = append(stages, string(e.Stage))
		if e.ExecutionID != id || e.JobType != "customer-import" || e.StartedAt.IsZero() || e.EndedAt.Before(e.StartedAt) ||
			e.Attempt < 1 || e.Outcome == "" || e.RequestID != "req-1" {
			t.Fatalf("entry %+v", e)
		}
		if e.Parameters["token"] != jobs.Mask || e.Parameters["datasetId"] != "d1" {
			t.Fatalf("parameters not persisted sanitized: %v", e.Parameters)
		}
	}
	// START, the engine's CHECKs, then the RESULT the engine ran once at
	// completion to store the result; the RESULT call above is answered from
	// the store and runs no stage.
	if len(stages) < 3 || stages[0] != "START" || stages[len(stages)-1] != "RESULT" || stages[len(stages)-2] != "CHECK" {
		t.Fatalf("stages %v", stages)
	}
	last := entries[len(entries)-2]
	if last.Status != jobs.StatusCompleted || entries[0].Status != jobs.StatusStarted {
		t.Fatalf("statuses: first %s, completing CHECK %s", entries[0].Status, last.Status)
	}
	info, err := h.JS.Stream(context.Background(), bus.StreamAudit)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.CachedInfo().Config.MaxAge; got != 7*24*time.Hour {
		t.Fatalf("audit stream max age %s, want 7 days", got)
	}
	none, err := h.Engine.Audit().Entries(context.Background(), "customer-import", "never-ran")
	if err != nil || len(none) != 0 {
		t.Fatalf("unknown execution: %v %v", none, err)
	}
}

// bigJob returns a result of `size` bytes.
type bigJob struct{}

func (bigJob) Execute(_ context.Context, req *jobs.Request) (*jobs.Response, error) {
	n, err := req.Int("size")
	if err != nil {
		return nil, err
	}
	return jobs.Completed("made", map[string]any{"blob": strings.Repeat("x", int(n))}), nil
}

// Results round-trip small and large (over one NATS message, through the
// object store); one over max-data-size-bytes is refused with a clear error
// and the execution is kept.
func TestResultsSmallLargeAndOversize(t *testing.T) {
	t.Parallel()
	h := jetjobstest.New(t, func(r *jobs.Registry) { r.MustRegister("big", bigJob{}) },
		jetjobstest.WithConfig(func(c *jetjobs.Config) { c.Orchestration.Persistence.MaxDataSizeBytes = 3 << 20 }))
	ctx := context.Background()
	for _, size := range []int{100, 1<<20 + 512<<10} {
		resp := h.Call(t, "big", jobs.StageExecute, &jobs.Request{Parameters: map[string]any{"size": size}})
		if !resp.Success {
			t.Fatalf("size %d: %+v", size, resp)
		}
		if size > 1<<20 { // over one NATS message: the answer comes without its data
			if resp.Data != nil || !strings.Contains(resp.ErrorText(), bus.LargeDataNote) {
				t.Fatalf("large answer: %q", resp.ErrorText())
			}
			// Over HTTP there is no such limit: RESULT answers in full.
			rr := httptest.NewRecorder()
			h.Engine.Router().ServeHTTP(rr, httptest.NewRequest("GET", "/api/v1/big/"+resp.ExecutionID+"/result", nil))
			var res jobs.Response
			if err := json.Unmarshal(rr.Body.Bytes(), &res); err != nil || rr.Code != 200 {
				t.Fatalf("REST result: %d %v", rr.Code, err)
			}
			if blob, _ := res.Data["blob"].(string); len(blob) != size || res.Error != nil {
				t.Fatalf("REST result has %d bytes of data, error %v", len(blob), res.Error)
			}
		}
		r, err := h.Engine.Results().Get(ctx, "big", resp.ExecutionID)
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		if blob, _ := r.TransformedOutput["blob"].(string); len(blob) != size || r.Refused != "" {
			t.Fatalf("size %d: stored %d bytes, refused %q", size, len(blob), r.Refused)
		}
	}
	over := h.Call(t, "big", jobs.StageExecute, &jobs.Request{Parameters: map[string]any{"size": 4 << 20}})
	if !over.Success || over.ErrorText() == "" || !strings.Contains(over.ErrorText(), "exceeds max-data-size-bytes 3145728") {
		t.Fatalf("oversize answer: %+v", over.ErrorText())
	}
	r, err := h.Engine.Results().Get(ctx, "big", over.ExecutionID)
	if err != nil || r.Refused == "" || r.TransformedOutput != nil {
		t.Fatalf("oversize stored %+v %v", r, err)
	}
	if exec := h.Execution(t, "big", over.ExecutionID); exec.Status != jobs.StatusCompleted {
		t.Fatalf("execution lost: %+v", exec)
	}
	entries, err := h.Engine.Audit().Entries(ctx, "big", over.ExecutionID)
	if err != nil || len(entries) != 1 {
		t.Fatalf("audit %v %v", entries, err)
	}
}

// RESULT is answered from the store, also after a restart, and JOB_COMPLETED
// carries the result.
func TestResultSurvivesRestart(t *testing.T) {
	t.Parallel()
	h := demoHarness(t)
	start := h.Call(t, "customer-import", jobs.StageStart, &jobs.Request{
		Parameters: map[string]any{"datasetId": "d", "records": 30, "batchSize": 10, "batchDelay": "10ms"}})
	ev := h.WaitEvent(t, "customer-import", start.ExecutionID, jobs.EventCompleted)
	if ev.Data.Data["totalRecords"] != float64(30) {
		t.Fatalf("JOB_COMPLETED data %v", ev.Data.Data)
	}
	before := h.Call(t, "customer-import", jobs.StageResult, &jobs.Request{ExecutionID: start.ExecutionID})
	h.Restart(t)
	after := h.Call(t, "customer-import", jobs.StageResult, &jobs.Request{ExecutionID: start.ExecutionID})
	b1, _ := json.Marshal(before.Data)
	b2, _ := json.Marshal(after.Data)
	if !after.Success || string(b1) != string(b2) || after.Data["successCount"] != float64(30) {
		t.Fatalf("before %s after %s", b1, b2)
	}
}

// The cache answers a second read without the bucket and forgets a result
// when any engine rewrites it.
func TestResultCacheHitAndInvalidation(t *testing.T) {
	t.Parallel()
	h := demoHarness(t)
	ctx := context.Background()
	other, err := kv.NewResultStore(ctx, h.JS, 1<<20, kv.ResultsConfig{CacheTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	r := &jobs.Result{ExecutionID: "c1", JobType: "customer-import", Status: jobs.StatusCompleted,
		TransformedOutput: map[string]any{"v": "one"}}
	if err := other.Put(ctx, r); err != nil {
		t.Fatal(err)
	}
	store := h.Engine.Results()
	got, err := store.Get(ctx, "customer-import", "c1")
	if err != nil || got.TransformedOutput["v"] != "one" || store.CacheLen() == 0 {
		t.Fatalf("first read %+v %v (cached %d)", got, err, store.CacheLen())
	}
	again, _ := store.Get(ctx, "customer-import", "c1")
	if again != got {
		t.Fatal("second read did not come from the cache")
	}
	r.TransformedOutput = map[string]any{"v": "two"}
	if err := other.Put(ctx, r); err != nil { // another engine rewrites it
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		got, err := store.Get(ctx, "customer-import", "c1")
		return err == nil && got.TransformedOutput["v"] == "two"
	})
}

// echoJob answers its parameters as its result.
type echoJob struct{}

func (echoJob) Execute(_ context.Context, req *jobs.Request) (*jobs.Response, error) {
	return jobs.Completed("echo", req.Parameters), nil
}

// Secrets in a result are masked where the result is stored and in the
// JOB_COMPLETED event that carries it.
func TestResultsAreSanitized(t *testing.T) {
	t.Parallel()
	h := jetjobstest.New(t, func(r *jobs.Registry) { r.MustRegister("echo", echoJob{}) })
	resp := h.Call(t, "echo", jobs.StageExecute, &jobs.Request{Parameters: map[string]any{
		"user": "bob", "accessToken": "tok-1", "nested": []any{map[string]any{"clientSecret": "s-2"}}}})
	r, err := h.Engine.Results().Get(context.Background(), "echo", resp.ExecutionID)
	if err != nil {
		t.Fatal(err)
	}
	ev := h.WaitEvent(t, "echo", resp.ExecutionID, jobs.EventCompleted)
	for where, data := range map[string]map[string]any{"stored result": r.TransformedOutput, "event": ev.Data.Data} {
		b, _ := json.Marshal(data)
		if strings.Contains(string(b), "tok-1") || strings.Contains(string(b), "s-2") || !strings.Contains(string(b), "bob") {
			t.Errorf("%s: %s", where, b)
		}
	}
}
