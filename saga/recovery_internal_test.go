package saga

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jetjobs/jetjobs"
	"github.com/jetjobs/jetjobs/jetjobstest"
)

// A coordinator dies right after storing a step's completion (before
// sending the next START), right after the engine accepted the next START
// (before recording it), or right after a sync step's EXECUTE answered
// (before recording its outcome). Another coordinator finishes the saga from
// the redelivered event, and no step runs twice. Results are not persisted
// here, so JOB_COMPLETED has no data and each result is asked with RESULT.
func TestCoordinatorKilledMidStep(t *testing.T) {
	t.Parallel()
	h, rec := harness(t, jetjobstest.WithConfig(func(c *jetjobs.Config) {
		c.Orchestration.Persistence.ResultPersistenceEnabled = false
	}))
	def := &Definition{Name: "crash", Steps: []Step{
		{Name: "a", Job: "work", Compensate: undo("undo")},
		{Name: "b", Job: "work", Parameters: map[string]any{"value": "${steps.a.executionId}"}},
		{Name: "c", Job: "quick"},
	}}
	// The claim on a dead coordinator's START expires after CallTimeout +
	// AckWait: keep both short.
	edit := func(c *Config) { c.CallTimeout = 2 * time.Second }
	for _, point := range []string{"afterEvent", "afterDispatch", "afterExecute"} {
		id := "k-" + point
		crashed := make(chan struct{})
		var once sync.Once
		crash := func(target string) func(*Instance, string) error {
			return func(in *Instance, step string) error {
				fired := false
				if in.SagaID == id && step == target {
					once.Do(func() { fired = true; close(crashed) })
				}
				if fired {
					return errCrash
				}
				return nil
			}
		}
		c1 := coordinatorWith(t, h, edit, func(c *Coordinator) {
			switch point {
			case "afterEvent":
				c.hooks.afterEvent = crash("a")
			case "afterDispatch":
				c.hooks.afterDispatch = crash("b")
			default:
				c.hooks.afterDispatch = crash("c")
			}
		}, def)
		start(t, c1, "crash", id, nil)
		select {
		case <-crashed:
		case <-time.After(wait):
			t.Fatalf("%s: the coordinator never reached the crash point", point)
		}
		c1.Stop()
		c2 := coordinator(t, h, edit, def)
		in := waitStatus(t, h, "crash", id, StatusCompleted)
		c2.Stop()
		for _, s := range []string{"a", "b", "c"} {
			if n := rec.count(id + "-" + s); n != 1 {
				t.Fatalf("%s: step %s ran %d times: %s", point, s, n, dump(in))
			}
		}
		if step(in, "b").Run.Result["value"] != id+"-a" {
			t.Fatalf("%s: b result: %s", point, dump(in))
		}
		checkEvents(t, sagaEvents(t, h, "crash", id, EventCompleted), EventStarted,
			EventStepCompleted+":a", EventStepCompleted+":b", EventStepCompleted+":c", EventCompleted)
	}
}

// Two coordinators share the consumers: every saga completes, every step
// runs once and every event is published once, in order.
func TestTwoCoordinators(t *testing.T) {
	t.Parallel()
	h, rec := harness(t)
	def := &Definition{Name: "pair", Steps: []Step{
		{Name: "a", Job: "work", Compensate: undo("undo")},
		{Name: "b", Job: "work", DependsOn: []string{"a"}},
		{Name: "c", Job: "quick", DependsOn: []string{"a"}},
		{Name: "d", Job: "work", DependsOn: []string{"b", "c"}},
	}}
	cs := []*Coordinator{coordinator(t, h, nil, def), coordinator(t, h, nil, def)}
	const n = 8
	for i := range n {
		start(t, cs[i%2], "pair", fmt.Sprint("p", i), nil)
	}
	for i := range n {
		id := fmt.Sprint("p", i)
		waitStatus(t, h, "pair", id, StatusCompleted)
		for _, s := range []string{"a", "b", "c", "d"} {
			if got := rec.count(id + "-" + s); got != 1 {
				t.Fatalf("%s-%s ran %d times", id, s, got)
			}
		}
		data := sagaEvents(t, h, "pair", id, EventCompleted)
		for i, e := range data {
			if e.Seq != uint64(i+1) {
				t.Fatalf("%s: event %d has seq %d", id, i, e.Seq)
			}
		}
		evs := types(data)
		if len(evs) != 6 || evs[0] != EventStarted || evs[1] != EventStepCompleted+":a" ||
			evs[4] != EventStepCompleted+":d" || evs[5] != EventCompleted {
			t.Fatalf("%s: events %v", id, evs)
		}
	}
}
