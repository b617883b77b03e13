package console_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/jetjobs/jetjobs/console"
	"github.com/jetjobs/jetjobs/httpadapter"
	"github.com/jetjobs/jetjobs/internal/samplejobs"
	"github.com/jetjobs/jetjobs/jobs"
	"github.com/jetjobs/jetjobs/kv"
)

// BenchmarkConsolePages serves the console's pages in-process (template,
// in-process REST calls, the index) with 100,000 executions retained
// (docs/console.md, "Page load"). NATS is not involved: /health answers
// DOWN at once, so the overview's time is the console's own.
func BenchmarkConsolePages(b *testing.B) {
	reg := jobs.NewRegistry()
	if err := samplejobs.Register(reg); err != nil {
		b.Fatal(err)
	}
	if err := samplejobs.RegisterSagaSteps(reg); err != nil {
		b.Fatal(err)
	}
	x := kv.NewExecutionIndexLoaded()
	base := time.Now().Add(-100_000 * time.Second)
	names := []string{"customer-import", "customer-validation", "order-import", "notification", "customer-purge"}
	sts := []jobs.Status{jobs.StatusCompleted, jobs.StatusFailed, jobs.StatusRunning, jobs.StatusCompleted}
	for i := range 100_000 {
		job := names[i%len(names)]
		x.Put(job, jobs.ExecutionSummary{JobType: job, ExecutionID: fmt.Sprintf("%08d-0000-4000-8000-000000000000", i),
			Status: sts[i%len(sts)], CreatedAt: base, UpdatedAt: base.Add(time.Duration(i) * time.Second), ProgressPercentage: i % 101})
	}
	c := console.New(console.Options{Registry: reg, Index: x})
	router := httpadapter.NewRouter(httpadapter.Deps{Registry: reg, Executions: x},
		httpadapter.Options{Mounted: []httpadapter.Mounted{{Prefix: console.Prefix, Handler: c.Handler()}}})
	c.SetAPI(router)
	h := c.Front(router)
	for _, p := range []string{"/ui/", "/ui/executions", "/ui/executions?job=customer-import&status=FAILED", "/ui/start/customer-import"} {
		b.Run(p, func(b *testing.B) {
			for range b.N {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, p, nil))
				if rec.Code != http.StatusOK {
					b.Fatalf("%s: %d %s", p, rec.Code, rec.Body.String())
				}
			}
		})
	}
}
