package bus_test

import (
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/jetjobs/jetjobs/bus"
)

// DecodeTick: a schedule's tick becomes a START whose execution id is the
// schedule and the tick's second, the same for every delivery of that
// tick; a delayed start's tick keeps its execution id and request.
func TestDecodeTick(t *testing.T) {
	t.Parallel()
	at := time.Date(2027, 3, 28, 1, 30, 0, 420_000_000, time.UTC)
	cases := []struct {
		name, subject, body string
		wantJob, wantSched  string
		wantID, wantInit    string
		wantErr             string
	}{
		{"schedule tick", "jobs.schedule.export.nightly.tick", `{"name":"nightly","cron":"0 30 3 * * *","parameters":{"k":"v"},"metadata":{"t":"a"}}`,
			"export", "nightly", "nightly-20270328T013000Z", "schedule:nightly", ""},
		{"published over NATS with params only", "jobs.schedule.export.ad-hoc.tick", `{"parameters":{"k":"v"}}`,
			"export", "ad-hoc", "ad-hoc-20270328T013000Z", "schedule:ad-hoc", ""},
		{"delayed start", "jobs.delay.export.Exec_1.fire", `{"parameters":{"k":"v"},"initiator":"crm","executionId":"ignored"}`,
			"export", "", "Exec_1", "crm", ""},
		{"not a tick", "jobs.schedule.export.nightly", `{}`, "", "", "", "", "not a tick subject"},
		{"other prefix", "acme.schedule.export.nightly.tick", `{}`, "", "", "", "", "not a tick subject"},
		{"bad body", "jobs.schedule.export.nightly.tick", `[1]`, "", "", "", "", "body is not a schedule"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			for range 2 { // a tick delivered twice decodes the same
				tick, err := bus.DecodeTick("jobs", c.subject, nats.Header{}, []byte(c.body), at)
				if c.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), c.wantErr) {
						t.Fatalf("err %v, want %q", err, c.wantErr)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				r := tick.Request
				if tick.Job != c.wantJob || tick.Schedule != c.wantSched || r.ExecutionID != c.wantID || r.Initiator != c.wantInit || r.Parameters["k"] != "v" {
					t.Fatalf("tick %+v request %+v", tick, r)
				}
			}
		})
	}
}
