package jetjobstest_test

import (
	"context"
	"testing"

	"github.com/jetjobs/jetjobs/jetjobstest"
	"github.com/jetjobs/jetjobs/jobs"
)

type importJob struct{ jobs.AsyncDefaults }

func (importJob) Start(context.Context, *jobs.Request) (*jobs.Response, error) {
	return jobs.Started("importing"), nil
}

func (importJob) Check(context.Context, *jobs.Request) (*jobs.Response, error) {
	return jobs.Completed("imported", map[string]any{"rows": 3}), nil
}

func (importJob) Stop(context.Context, *jobs.Request) (*jobs.Response, error) {
	return &jobs.Response{Success: true, Status: jobs.StatusStopped, Message: "stopped"}, nil
}

// A job author's end-to-end test: a real engine on a real embedded
// JetStream server, a START sent over NATS, and the job's JOB_COMPLETED
// event waited for. (Write it as func TestImport(t *testing.T); the
// harness stops everything when the test ends.)
func ExampleNew() {
	var t *testing.T // the test's own t
	h := jetjobstest.New(t, func(r *jobs.Registry) { r.MustRegister("import", importJob{}) })
	resp := h.Call(t, "import", jobs.StageStart, &jobs.Request{Parameters: map[string]any{"file": "a.csv"}})
	ev := h.WaitEvent(t, "import", resp.ExecutionID, jobs.EventCompleted)
	if ev.Data.Status != jobs.StatusCompleted {
		t.Fatalf("ended %s", ev.Data.Status)
	}
}
