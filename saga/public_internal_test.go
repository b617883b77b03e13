package saga

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// Answers show the saga, not the coordinator's machinery; the stored
// instance keeps it.
func TestInstancePublicHidesMachinery(t *testing.T) {
	t.Parallel()
	until := time.Now()
	in := &Instance{
		Saga: "s", SagaID: "i", Status: StatusRunning,
		Outbox:     []OutEvent{{Seq: 1}},
		FlushClaim: "c1", FlushUntil: &until,
		Steps: []*StepState{{Name: "a",
			Run:  Run{Job: "j", ExecutionID: "e1", Claim: "c2", ClaimUntil: &until, TimerArmed: true},
			Comp: &Run{Job: "k", Claim: "c3", ClaimUntil: &until}}},
	}
	out, err := json.Marshal(in.Public())
	if err != nil {
		t.Fatal(err)
	}
	for _, hidden := range []string{`"outbox"`, `"flushClaim"`, `"flushUntil"`, `"claim"`, `"claimUntil"`, `"timerArmed"`} {
		if strings.Contains(string(out), hidden) {
			t.Errorf("answer shows %s: %s", hidden, out)
		}
	}
	if !strings.Contains(string(out), `"executionId":"e1"`) {
		t.Errorf("answer lost the step's execution: %s", out)
	}
	if len(in.Outbox) != 1 || in.FlushClaim != "c1" || in.Steps[0].Run.Claim != "c2" || in.Steps[0].Comp.Claim != "c3" {
		t.Errorf("Public changed the stored instance: %+v", in)
	}
}
