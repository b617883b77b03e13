package jobs_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jetjobs/jetjobs/jobs"
)

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestScheduleNextRuns: the next ticks the engine shows, as the server
// computes them, around the spring and autumn changes of Europe/Paris in
// 2027 (28 March 02:00 CET -> 03:00 CEST; 31 October 03:00 CEST -> 02:00
// CET), as docs/schedules.md documents them.
func TestScheduleNextRuns(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		s    jobs.Schedule
		from string
		want []string
	}{
		{"02:30 Paris skips the day 02:30 does not exist",
			jobs.Schedule{Cron: "0 30 2 * * *", TimeZone: "Europe/Paris"}, "2027-03-26T12:00:00Z",
			[]string{"2027-03-27T01:30:00Z", "2027-03-29T00:30:00Z", "2027-03-30T00:30:00Z"}},
		{"09:00 Paris on weekdays keeps local time across the change",
			jobs.Schedule{Cron: "0 0 9 * * MON-FRI", TimeZone: "Europe/Paris"}, "2027-03-25T12:00:00Z",
			[]string{"2027-03-26T08:00:00Z", "2027-03-29T07:00:00Z", "2027-03-30T07:00:00Z"}},
		{"02:30 Paris fires twice on the day 02:30 happens twice, as the server does",
			jobs.Schedule{Cron: "0 30 2 * * *", TimeZone: "Europe/Paris"}, "2027-10-30T12:00:00Z",
			[]string{"2027-10-31T00:30:00Z", "2027-10-31T01:30:00Z", "2027-11-01T01:30:00Z"}},
		{"@daily is midnight UTC without a zone",
			jobs.Schedule{Cron: "@daily"}, "2027-01-01T10:00:00Z",
			[]string{"2027-01-02T00:00:00Z", "2027-01-03T00:00:00Z", "2027-01-04T00:00:00Z"}},
		{"every counts from the rounded time",
			jobs.Schedule{Every: "90s"}, "2027-01-01T10:00:00.6Z",
			[]string{"2027-01-01T10:01:31Z", "2027-01-01T10:03:01Z", "2027-01-01T10:04:31Z"}},
		{"at fires once", jobs.Schedule{At: "2027-01-02T00:00:00+01:00"}, "2027-01-01T10:00:00Z",
			[]string{"2027-01-01T23:00:00Z"}},
		{"at in the past fires no more", jobs.Schedule{At: "2026-01-02T00:00:00Z"}, "2027-01-01T10:00:00Z", nil},
		{"paused shows none", jobs.Schedule{Every: "1s", Paused: true}, "2027-01-01T10:00:00Z", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.s.Job, c.s.Name = "export", "nightly"
			if err := c.s.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			got := c.s.NextRuns(mustTime(t, c.from), 3)
			var gs []string
			for _, g := range got {
				gs = append(gs, g.Format(time.RFC3339))
			}
			if strings.Join(gs, " ") != strings.Join(c.want, " ") {
				t.Fatalf("NextRuns = %v, want %v", gs, c.want)
			}
		})
	}
}

func TestScheduleValidate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		s         jobs.Schedule
		wantField string // "" = valid
		wantText  string
	}{
		{"cron", jobs.Schedule{Cron: "0 */5 * * * *"}, "", ""},
		{"cron with zone", jobs.Schedule{Cron: "0 0 2 * * *", TimeZone: "America/New_York"}, "", ""},
		{"every", jobs.Schedule{Every: "1s"}, "", ""},
		{"at", jobs.Schedule{At: "2030-01-01T00:00:00Z", ExecutionID: "Exec_1"}, "", ""},
		{"five fields", jobs.Schedule{Cron: "*/5 * * * *"}, "cron", `invalid cron expression "*/5 * * * *": want 6 fields`},
		{"bad field", jobs.Schedule{Cron: "0 61 * * * *"}, "cron", `invalid cron expression "0 61 * * * *"`},
		{"nonsense", jobs.Schedule{Cron: "every tuesday"}, "cron", `invalid cron expression "every tuesday"`},
		{"cron every", jobs.Schedule{Cron: "@every 5s"}, "cron", "use every:"},
		{"none", jobs.Schedule{}, "cron", "exactly one of cron, every or at"},
		{"two", jobs.Schedule{Cron: "@daily", Every: "1h"}, "cron", "exactly one of cron, every or at"},
		{"short every", jobs.Schedule{Every: "500ms"}, "every", "minimum of 1s"},
		{"bad every", jobs.Schedule{Every: "soon"}, "every", `invalid duration "soon"`},
		{"bad at", jobs.Schedule{At: "tomorrow"}, "at", `invalid RFC 3339 time "tomorrow"`},
		{"zone on every", jobs.Schedule{Every: "1h", TimeZone: "UTC"}, "timeZone", "cron only"},
		{"bad zone", jobs.Schedule{Cron: "@daily", TimeZone: "Mars/Olympus"}, "timeZone", `unknown time zone "Mars/Olympus"`},
		{"bad name", jobs.Schedule{Name: "Bad Name", Every: "1s"}, "name", "invalid schedule name"},
		{"id on cron", jobs.Schedule{Cron: "@daily", ExecutionID: "x"}, "executionId", "only a one-shot"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.s.Job = "export"
			if c.s.Name == "" {
				c.s.Name = "nightly"
			}
			err := c.s.Validate()
			if c.wantField == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			var se *jobs.ScheduleError
			if !errors.As(err, &se) || se.Field != c.wantField || !strings.Contains(err.Error(), c.wantText) {
				t.Fatalf("Validate = %v, want a ScheduleError on %s containing %q", err, c.wantField, c.wantText)
			}
			if jobs.CodeOf(err) != jobs.CodeInvalidParameter {
				t.Fatalf("code %s, want %s", jobs.CodeOf(err), jobs.CodeInvalidParameter)
			}
		})
	}
}

func TestTickExecutionID(t *testing.T) {
	t.Parallel()
	id := jobs.TickExecutionID("nightly", mustTime(t, "2027-03-28T03:30:00+02:00"))
	if id != "nightly-20270328T013000Z" {
		t.Fatalf("id %q", id)
	}
	if err := jobs.ValidateExecutionID(id); err != nil {
		t.Fatal(err)
	}
}
