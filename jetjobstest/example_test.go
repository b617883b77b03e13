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
// JetStream server, a START sent over NATS, and the execution's end waited
// for: its JOB_COMPLETED event carries the CHECK's data as the result. (Write it as func TestImport(t *testing.T); the
// harness stops everything when the test ends.)
func ExampleNew() {
	var t *testing.T // the test's own t
	h := jetjobstest.New(t, func(r *jobs.Registry) { r.MustRegister("import", importJob{}) })
	resp := h.Call(t, "import", jobs.StageStart, &jobs.Request{Parameters: map[string]any{"file": "a.csv"}})
	// WaitFor fails the test at once if the execution ends otherwise.
	ev := h.WaitFor(t, "import", resp.ExecutionID, jobs.StatusCompleted)
	if ev.Data.Data["rows"] != float64(3) {
		t.Fatalf("result %v", ev.Data.Data)
	}
}
