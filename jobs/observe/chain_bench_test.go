package observe_test

import (
	"context"
	"io"
	"testing"

	"github.com/rs/zerolog"

	"github.com/jetjobs/jetjobs/internal/telemetry"
	"github.com/jetjobs/jetjobs/internal/testutil"
	"github.com/jetjobs/jetjobs/jobs"
	"github.com/jetjobs/jetjobs/jobs/observe"
	"github.com/jetjobs/jetjobs/jobs/resilience"
)

type noopJob struct{ jobs.AsyncDefaults }

func (noopJob) Start(context.Context, *jobs.Request) (*jobs.Response, error) {
	return jobs.Completed("ok", nil), nil
}

func (noopJob) Check(context.Context, *jobs.Request) (*jobs.Response, error) {
	return jobs.Completed("ok", nil), nil
}

func (noopJob) Stop(context.Context, *jobs.Request) (*jobs.Response, error) {
	return &jobs.Response{Success: true}, nil
}

// BenchmarkStageChain measures the engine's default chain (tracing with no
// exporter, logging at error level, metrics through the SDK, retry,
// breaker, timeout) around a stage that does nothing, each concern alone
// and all together: what every stage call pays before any work is done.
func BenchmarkStageChain(b *testing.B) {
	tel, err := telemetry.New(telemetry.Config{TracingEnabled: true, Exporter: "none", MetricsEnabled: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	ob, err := observe.New(observe.Options{TracerProvider: tel.TracerProvider, MeterProvider: tel.MeterProvider,
		Logger: zerolog.New(io.Discard).Level(zerolog.ErrorLevel), Sanitizer: jobs.NewSanitizer(jobs.DefaultSensitiveKeys...)})
	if err != nil {
		b.Fatal(err)
	}
	pol := resilience.New(resilience.DefaultConfig(), ob)
	reg := jobs.NewRegistry()
	reg.MustRegister("noop", noopJob{})
	def, _ := reg.Lookup("noop")
	stage := func(context.Context, *jobs.Invocation) (*jobs.Response, error) { return jobs.Completed("ok", nil), nil }
	policies := pol.Middleware() // retry, breaker, timeout
	all := append([]jobs.Middleware{ob.Tracing, ob.Logging, ob.Metrics}, policies...)
	for _, c := range []struct {
		name string
		mws  []jobs.Middleware
	}{
		{"none", nil}, {"tracing", all[:1]}, {"logging", all[1:2]}, {"metrics", all[2:3]},
		{"retry", policies[:1]}, {"breaker", policies[1:2]}, {"timeout", policies[2:3]}, {"all", all},
	} {
		b.Run(c.name, func(b *testing.B) {
			h := jobs.Chain(stage, c.mws...)
			ctx := context.Background()
			b.ReportAllocs()
			cpu := testutil.ProcessCPU()
			for b.Loop() {
				req := &jobs.Request{ExecutionID: "e-1", JobType: "noop", Stage: jobs.StageStart, Parameters: map[string]any{"pad": "x"}}
				if _, err := h(ctx, &jobs.Invocation{Job: def, Stage: jobs.StageStart, Request: req}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(testutil.ProcessCPU()-cpu)/float64(b.N), "cpu-ns/op")
		})
	}
}
