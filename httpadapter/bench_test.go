package httpadapter_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/httpadapter"
	"github.com/jetjobs/jetjobs/internal/testutil"
	"github.com/jetjobs/jetjobs/jobs"
)

const benchJob = "bench-noop-sync"

type noopSync struct{}

func (noopSync) Execute(context.Context, *jobs.Request) (*jobs.Response, error) {
	return jobs.Completed("ok", nil), nil
}

// BenchmarkExecute is the adapter's own cost of a REST EXECUTE: the
// router, its middleware, the request decode, bus.Client.Call and the
// response encode, against a real embedded NATS server where a core
// subscriber on the command subject answers every command at once with
// one precomputed engine-style reply (no engine: its cost is not the
// adapter's).
func BenchmarkExecute(b *testing.B) {
	srv, err := bus.StartEmbedded(bus.EmbeddedConfig{Port: -1, StoreDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(srv.Shutdown)
	nc, js, err := bus.Connect(bus.ConnConfig{URL: srv.ClientURL(), Name: b.Name()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(nc.Close)
	ctx := context.Background()
	if err := bus.EnsureStreams(ctx, js, bus.StreamsConfig{}); err != nil {
		b.Fatal(err)
	}
	// The reply, as the engine's worker writes it for a no-op EXECUTE.
	ev := event.New()
	ev.SetID("reply-1")
	ev.SetSource("/jetjobs/engine")
	ev.SetType(jobs.EventStageResponse)
	ev.SetTime(time.Now().UTC())
	ev.SetExtension("jobtype", benchJob)
	resp := jobs.Completed("ok", nil)
	resp.Stage, resp.ExecutionID, resp.Timestamp = jobs.StageExecute, "exec-1", time.Now().UTC()
	if err := ev.SetData("application/json", resp); err != nil {
		b.Fatal(err)
	}
	rh, rbody, err := bus.Encode(ev)
	if err != nil {
		b.Fatal(err)
	}
	sub, err := nc.Subscribe(bus.Subjects{Prefix: "jobs"}.Command(benchJob, jobs.StageExecute.Token()), func(m *nats.Msg) {
		_ = nc.PublishMsg(&nats.Msg{Subject: m.Header.Get("ce-replyto"), Header: rh, Data: rbody})
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = sub.Unsubscribe() })
	client := bus.NewClient(nc, js)
	b.Cleanup(client.Close)
	reg := jobs.NewRegistry()
	reg.MustRegister(benchJob, noopSync{})
	// Tracing off, as in the engine by default.
	router := httpadapter.NewRouter(httpadapter.Deps{Client: client, Registry: reg},
		httpadapter.Options{TracerProvider: tracenoop.NewTracerProvider()})
	body := `{"parameters":{"customer":"c-42","amount":12.5,"note":"` + strings.Repeat("x", 80) + `"}}`
	b.ReportAllocs()
	cpu := testutil.ProcessCPU()
	for b.Loop() {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, "/api/v1/"+benchJob+"/execute", strings.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		router.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
	// The process's CPU, the embedded server's included: wall time on a
	// shared machine measures the other loads.
	b.ReportMetric(float64(testutil.ProcessCPU()-cpu)/float64(b.N), "cpu-ns/op")
}
