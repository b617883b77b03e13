package jobs_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/jetjobs/jetjobs/jobs"
	"github.com/jetjobs/jetjobs/jobs/jobstest"
)

type okJob struct{}

func (okJob) Execute(_ context.Context, req *jobs.Request) (*jobs.Response, error) {
	return jobs.Completed("ok", map[string]any{"customerId": req.Parameters["customerId"], "valid": true}), nil
}

// BenchmarkHandle measures what masking costs a command that has nothing
// to mask (the common case): one allocation.
func BenchmarkHandle(b *testing.B) {
	for _, san := range []*jobs.Sanitizer{nil, jobs.NewSanitizer(jobs.DefaultSensitiveKeys...)} {
		b.Run(fmt.Sprint(san != nil), func(b *testing.B) {
			reg := jobs.NewRegistry()
			reg.MustRegister("j", okJob{})
			rt := jobs.NewRuntime(reg, &jobstest.MemoryStore{}, &events{}, &timers{}, jobs.RuntimeConfig{Sanitizer: san})
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				_, _ = rt.Handle(context.Background(), &jobs.Command{ID: fmt.Sprint(i), JobType: "j", Stage: jobs.StageExecute,
					Request: jobs.Request{ExecutionID: fmt.Sprint("e", i), Parameters: map[string]any{"customerId": "CUST-1", "dataSetName": "x", "batchSize": 10}, Metadata: map[string]string{"X-Request-Source": "crm"}}})
			}
		})
	}
}
