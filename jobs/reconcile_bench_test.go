package jobs_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/jetjobs/jetjobs/internal/testutil"
	"github.com/jetjobs/jetjobs/jobs"
)

// BenchmarkReconcilerPass is one pass over 20,000 RUNNING executions, all
// armed, on an embedded server (its CPU counted: same process): with the
// timers listed once ("listed") and with a lookup per execution
// ("one-by-one", as before ArmedSet). cpu-ns/exec is the process CPU of
// a pass per live execution (getrusage: compare builds by it, not by
// ns/op, on a busy machine). The listing of the records (kv
// StateStore.LiveSummary: 41.6 µs per execution with the whole records of
// StateStore.Live, 10.6 with it) is in both.
func BenchmarkReconcilerPass(b *testing.B) {
	const n = 20_000
	r := newReconcileRig(b)
	for i := range n {
		id := fmt.Sprintf("e-%05d", i)
		r.create(b, id, jobs.StatusRunning, time.Hour, false)
		if err := r.timers.Arm(b.Context(), "j", id, time.Hour); err != nil {
			b.Fatal(err)
		}
	}
	for _, bc := range []struct {
		name   string
		repair jobs.TimerRepair
	}{{"listed", r.timers}, {"one-by-one", oneByOne{r.timers}}} {
		b.Run(bc.name, func(b *testing.B) {
			rec := jobs.NewReconciler(r.rt, r.store, bc.repair, jobs.ReconcilerConfig{})
			b.ReportAllocs()
			cpu := testutil.ProcessCPU()
			for b.Loop() {
				rep, err := rec.Pass(b.Context())
				if err != nil || rep.Live != n || rep.Rearmed != 0 {
					b.Fatalf("%+v, %v", rep, err)
				}
			}
			b.ReportMetric(float64(testutil.ProcessCPU()-cpu)/float64(b.N*n), "cpu-ns/exec")
		})
	}
}
