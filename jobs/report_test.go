package jobs_test

import (
	"strings"
	"testing"

	"github.com/jetjobs/jetjobs/jobs"
)

func TestReportAnswer(t *testing.T) {
	t.Parallel()
	pct := func(p int) *int { return &p }
	tests := []struct {
		name       string
		req        jobs.Request
		wantStatus jobs.Status
		wantPct    int
		wantOK     bool
		wantErr    string // "" when the report is well formed
	}{
		{"progress", jobs.Request{ProgressPercentage: pct(30), Message: "m"}, jobs.StatusRunning, 30, true, ""},
		{"message keeps the progress", jobs.Request{Message: "m"}, jobs.StatusRunning, 12, true, ""},
		{"completed", jobs.Request{Status: jobs.StatusCompleted, Data: map[string]any{"a": 1}}, jobs.StatusCompleted, 100, true, ""},
		{"failed", jobs.Request{Status: jobs.StatusFailed, Error: "boom"}, jobs.StatusFailed, 12, false, ""},
		{"empty", jobs.Request{}, "", 0, false, "give progressPercentage, message or a final status"},
		{"out of range", jobs.Request{ProgressPercentage: pct(101)}, "", 0, false, "outside 0..100"},
		{"stopped", jobs.Request{Status: jobs.StatusStopped}, "", 0, false, "want RUNNING, COMPLETED or FAILED"},
		{"data without completed", jobs.Request{Data: map[string]any{}}, "", 0, false, "data is the result of a COMPLETED report"},
		{"error without failed", jobs.Request{Status: jobs.StatusRunning, Error: "x"}, "", 0, false, "error belongs to a FAILED report"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, err := jobs.ReportAnswer(&tt.req, 12)
			if tt.wantErr != "" {
				if err == nil || jobs.CodeOf(err) != jobs.CodeInvalidArgument || !contains(err.Error(), tt.wantErr) {
					t.Fatalf("ReportAnswer = %+v, %v; want invalid_argument %q", resp, err, tt.wantErr)
				}
				return
			}
			if err != nil || resp.Status != tt.wantStatus || resp.ProgressPercentage != tt.wantPct || resp.Success != tt.wantOK {
				t.Fatalf("ReportAnswer = %+v, %v; want %s %d%% success=%v", resp, err, tt.wantStatus, tt.wantPct, tt.wantOK)
			}
		})
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
