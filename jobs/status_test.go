package jobs_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/jetjobs/jetjobs/jobs"
)

// allStatuses is every status CanTransition may see: "no execution yet", the
// six statuses (docs/jobs.md, "The response") and one that does not exist.
var allStatuses = []jobs.Status{
	"",
	jobs.StatusStarted, jobs.StatusRunning,
	jobs.StatusCompleted, jobs.StatusFailed, jobs.StatusStopped, jobs.StatusTimedOut,
	"BOGUS",
}

// allowedTransitions is the state machine (docs/jobs.md, "The response"), written out
// as the set of legal moves: a new execution may be created in any status;
// STARTED may move on to anything but itself; RUNNING to any terminal status;
// terminal statuses (and unknown ones) go nowhere.
var allowedTransitions = map[jobs.Status][]jobs.Status{
	"": {
		jobs.StatusStarted, jobs.StatusRunning,
		jobs.StatusCompleted, jobs.StatusFailed, jobs.StatusStopped, jobs.StatusTimedOut,
	},
	jobs.StatusStarted: {
		jobs.StatusRunning,
		jobs.StatusCompleted, jobs.StatusFailed, jobs.StatusStopped, jobs.StatusTimedOut,
	},
	jobs.StatusRunning: {
		jobs.StatusCompleted, jobs.StatusFailed, jobs.StatusStopped, jobs.StatusTimedOut,
	},
}

func TestCanTransition(t *testing.T) {
	t.Parallel()
	type row struct {
		from, to jobs.Status
		want     bool
	}
	var rows []row
	for _, from := range allStatuses {
		for _, to := range allStatuses {
			want := false
			for _, ok := range allowedTransitions[from] {
				if ok == to {
					want = true
				}
			}
			rows = append(rows, row{from, to, want})
		}
	}
	if got, want := len(rows), len(allStatuses)*len(allStatuses); got != want {
		t.Fatalf("table has %d rows, want %d", got, want)
	}
	for _, r := range rows {
		t.Run(fmt.Sprintf("%q->%q", r.from, r.to), func(t *testing.T) {
			t.Parallel()
			if got := jobs.CanTransition(r.from, r.to); got != r.want {
				t.Errorf("CanTransition(%q, %q) = %v, want %v", r.from, r.to, got, r.want)
			}
		})
	}
}

func TestStatusTerminalAndValid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		s        jobs.Status
		terminal bool
		valid    bool
	}{
		{"", false, false},
		{jobs.StatusStarted, false, true},
		{jobs.StatusRunning, false, true},
		{jobs.StatusCompleted, true, true},
		{jobs.StatusFailed, true, true},
		{jobs.StatusStopped, true, true},
		{jobs.StatusTimedOut, true, true},
		{"BOGUS", false, false},
		{"completed", false, false}, // statuses are case-sensitive on the wire
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.s), func(t *testing.T) {
			t.Parallel()
			if got := tt.s.Terminal(); got != tt.terminal {
				t.Errorf("%q.Terminal() = %v, want %v", tt.s, got, tt.terminal)
			}
			if got := tt.s.Valid(); got != tt.valid {
				t.Errorf("%q.Valid() = %v, want %v", tt.s, got, tt.valid)
			}
			// A terminal status has no way out (docs/jobs.md, "The response").
			if tt.terminal {
				for _, to := range allStatuses {
					if jobs.CanTransition(tt.s, to) {
						t.Errorf("terminal %q may move to %q", tt.s, to)
					}
				}
			}
		})
	}
}

func TestParseStage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    jobs.Stage
		wantErr string
	}{
		{in: "start", want: jobs.StageStart},
		{in: "START", want: jobs.StageStart},
		{in: "Check", want: jobs.StageCheck},
		{in: "collect", want: jobs.StageCollect},
		{in: "result", want: jobs.StageResult},
		{in: "stop", want: jobs.StageStop},
		{in: "execute", want: jobs.StageExecute},
		{in: "bogus", wantErr: `unknown stage "bogus" (want one of start, check, collect, result, stop, execute, report)`},
		{in: "", wantErr: `unknown stage "" (want one of start, check, collect, result, stop, execute, report)`},
		{in: " start", wantErr: `unknown stage " start" (want one of start, check, collect, result, stop, execute, report)`},
		{in: "JOB_START", wantErr: `unknown stage "JOB_START" (want one of start, check, collect, result, stop, execute, report)`},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.in), func(t *testing.T) {
			t.Parallel()
			got, err := jobs.ParseStage(tt.in)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("ParseStage(%q) = %q, want error %q", tt.in, got, tt.wantErr)
				}
				if err.Error() != tt.wantErr {
					t.Errorf("ParseStage(%q) error = %q, want %q", tt.in, err, tt.wantErr)
				}
				if !errors.Is(err, jobs.ErrInvalidArgument) {
					t.Errorf("ParseStage(%q) error %v does not match ErrInvalidArgument", tt.in, err)
				}
				if got != "" {
					t.Errorf("ParseStage(%q) = %q with an error, want \"\"", tt.in, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseStage(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("ParseStage(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestStageTokenCommandTypeRoundTrip(t *testing.T) {
	t.Parallel()
	for _, st := range jobs.Stages {
		t.Run(string(st), func(t *testing.T) {
			t.Parallel()
			if got, err := jobs.ParseStage(st.Token()); err != nil || got != st {
				t.Errorf("ParseStage(%q) = %q, %v; want %q", st.Token(), got, err, st)
			}
			if got, ok := jobs.StageOfCommandType(st.CommandType()); !ok || got != st {
				t.Errorf("StageOfCommandType(%q) = %q, %v; want %q, true", st.CommandType(), got, ok, st)
			}
			if want := st != jobs.StageExecute; st.Async() != want {
				t.Errorf("%s.Async() = %v, want %v", st, st.Async(), want)
			}
		})
	}
}

func TestStageOfCommandType(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in     string
		want   jobs.Stage
		wantOK bool
	}{
		{"JOB_START", jobs.StageStart, true},
		{"JOB_CHECK", jobs.StageCheck, true},
		{"JOB_COLLECT", jobs.StageCollect, true},
		{"JOB_RESULT", jobs.StageResult, true},
		{"JOB_STOP", jobs.StageStop, true},
		{"JOB_EXECUTE", jobs.StageExecute, true},
		{"JOB_start", "", false}, // command types are upper case only
		{"job_START", "", false},
		{"START", "", false},
		{"JOB_", "", false},
		{"", "", false},
		{"JOB_STARTED", "", false}, // an event type, not a command
		{"JOB_STAGE_RESPONSE", "", false},
		{"JOB_BOGUS", "", false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.in), func(t *testing.T) {
			t.Parallel()
			got, ok := jobs.StageOfCommandType(tt.in)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("StageOfCommandType(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestTerminalEventType(t *testing.T) {
	t.Parallel()
	tests := []struct {
		s    jobs.Status
		want string
	}{
		{jobs.StatusCompleted, jobs.EventCompleted},
		{jobs.StatusFailed, jobs.EventFailed},
		{jobs.StatusStopped, jobs.EventStopped},
		{jobs.StatusTimedOut, jobs.EventFailed}, // docs/wire.md: TIMED_OUT ends with JOB_FAILED
		{jobs.StatusStarted, ""},
		{jobs.StatusRunning, ""},
		{"", ""},
		{"BOGUS", ""},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.s), func(t *testing.T) {
			t.Parallel()
			if got := jobs.TerminalEventType(tt.s); got != tt.want {
				t.Errorf("TerminalEventType(%q) = %q, want %q", tt.s, got, tt.want)
			}
			// Exactly the terminal statuses have a terminal event.
			if (tt.want != "") != tt.s.Terminal() {
				t.Errorf("TerminalEventType(%q) = %q but Terminal() = %v", tt.s, tt.want, tt.s.Terminal())
			}
		})
	}
	// The wire names of docs/wire.md.
	for got, want := range map[string]string{
		jobs.EventStarted: "JOB_STARTED", jobs.EventProgress: "JOB_PROGRESS", jobs.EventCompleted: "JOB_COMPLETED",
		jobs.EventFailed: "JOB_FAILED", jobs.EventStopped: "JOB_STOPPED", jobs.EventStageResponse: "JOB_STAGE_RESPONSE",
	} {
		if got != want {
			t.Errorf("event constant %q, want %q", got, want)
		}
	}
}
