package jobs_test

import (
	"context"
	"fmt"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/jetjobs/jetjobs/internal/telemetry"
	"github.com/jetjobs/jetjobs/internal/testutil"
	"github.com/jetjobs/jetjobs/jobs"
	"github.com/jetjobs/jetjobs/jobs/observe"
	"github.com/jetjobs/jetjobs/jobs/resilience"
)

// Ports that store nothing and cost nothing, so that a benchmark of the
// runtime measures the runtime and its stage chain, not the ports.
type (
	nopStore   struct{ rev atomic.Uint64 }
	nopEvents  struct{}
	nopTimers  struct{}
	nopAudit   struct{}
	nopResults struct{}
)

func (s *nopStore) Get(context.Context, string, string) (*jobs.Execution, uint64, error) {
	return nil, 0, jobs.ErrNotFound
}
func (s *nopStore) Create(context.Context, *jobs.Execution) (uint64, error) { return s.rev.Add(1), nil }
func (s *nopStore) Update(context.Context, *jobs.Execution, uint64) (uint64, error) {
	return s.rev.Add(1), nil
}
func (s *nopStore) Delete(context.Context, string, string, uint64) error   { return nil }
func (nopEvents) Publish(context.Context, *jobs.Event) error               { return nil }
func (nopTimers) Arm(context.Context, string, string, time.Duration) error { return nil }
func (nopAudit) Append(context.Context, ...*jobs.AuditEntry) error         { return nil }
func (nopResults) Put(context.Context, *jobs.Result) error                 { return nil }
func (nopResults) Get(context.Context, string, string) (*jobs.Result, error) {
	return nil, jobs.ErrNotFound
}

type noopAsync struct{ jobs.AsyncDefaults }

func (noopAsync) Start(context.Context, *jobs.Request) (*jobs.Response, error) {
	return jobs.Completed("ok", nil), nil
}
func (noopAsync) Check(context.Context, *jobs.Request) (*jobs.Response, error) {
	return jobs.Completed("ok", nil), nil
}
func (noopAsync) Stop(context.Context, *jobs.Request) (*jobs.Response, error) {
	return &jobs.Response{Success: true}, nil
}

// BenchmarkHandleNoop is the engine's async no-op burn-down without the
// ports: a START that completes at once (its RESULT asked too), through the
// engine's default stage chain, with the default sanitizer, audit and
// results on. What it allocates is what the runtime and the chain cost a
// job.
func BenchmarkHandleNoop(b *testing.B) {
	for _, chain := range []bool{false, true} {
		b.Run(fmt.Sprintf("chain=%v", chain), func(b *testing.B) {
			var mws []jobs.Middleware
			if chain {
				tel, err := telemetry.New(telemetry.Config{TracingEnabled: true, Exporter: "none", MetricsEnabled: true})
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
				san := jobs.NewSanitizer(jobs.DefaultSensitiveKeys...)
				ob, err := observe.New(observe.Options{TracerProvider: tel.TracerProvider, MeterProvider: tel.MeterProvider,
					Logger: zerolog.New(io.Discard).Level(zerolog.ErrorLevel), Sanitizer: san})
				if err != nil {
					b.Fatal(err)
				}
				mws = append([]jobs.Middleware{ob.Tracing, ob.Logging, ob.Metrics}, resilience.New(resilience.DefaultConfig(), ob).Middleware()...)
			}
			reg := jobs.NewRegistry()
			reg.MustRegister("noop", noopAsync{})
			rt := jobs.NewRuntime(reg, &nopStore{}, nopEvents{}, nopTimers{}, jobs.RuntimeConfig{
				Sanitizer: jobs.NewSanitizer(jobs.DefaultSensitiveKeys...), Middleware: mws,
				Logger: zerolog.New(io.Discard).Level(zerolog.ErrorLevel), Audit: nopAudit{}, Results: nopResults{},
				Persist: jobs.PersistConfig{PersistTrans: true, PersistRaw: true}})
			params := map[string]any{"pad": "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}
			ids := make([]string, 4096)
			for i := range ids {
				ids[i] = fmt.Sprintf("cmd-%08d", i)
			}
			ctx := context.Background()
			b.ReportAllocs()
			cpu := testutil.ProcessCPU()
			for i := 0; b.Loop(); i++ {
				cmd := &jobs.Command{ID: ids[i%len(ids)], JobType: "noop", Stage: jobs.StageStart, Delivery: 1,
					Request: jobs.Request{Parameters: params}}
				resp, err := rt.HandleBatch(ctx, jobs.NewBatch(nil), cmd)
				if err != nil || !resp.Success {
					b.Fatal(resp, err)
				}
			}
			b.ReportMetric(float64(testutil.ProcessCPU()-cpu)/float64(b.N), "cpu-ns/op")
		})
	}
}
