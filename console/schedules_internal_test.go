package console

import (
	"maps"
	"testing"
)

// The fired ticks read from Prometheus text, whatever the metric prefix;
// other outcomes, other metrics and unreadable lines are skipped.
func TestParseTicks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		text string
		want map[tickKey]int64
	}{
		{"fired only", `# HELP firefly_data_job_schedule_ticks_total Schedule ticks
# TYPE firefly_data_job_schedule_ticks_total counter
firefly_data_job_schedule_ticks_total{job_type="customer-import",outcome="fired",schedule="nightly"} 3
firefly_data_job_schedule_ticks_total{job_type="customer-import",outcome="started",schedule="nightly"} 3
firefly_data_job_schedule_ticks_total{job_type="order-import",outcome="fired",schedule="poll"} 1 1733333333000
`, map[tickKey]int64{{"customer-import", "nightly"}: 3, {"order-import", "poll"}: 1}},
		{"another prefix", `acme_jobs_schedule_ticks_total{outcome="fired",schedule="a",job_type="j"} 7` + "\n",
			map[tickKey]int64{{"j", "a"}: 7}},
		{"escaped label", `x_schedule_ticks_total{job_type="j\"q",outcome="fired",schedule="s"} 2` + "\n",
			map[tickKey]int64{{`j"q`, "s"}: 2}},
		{"other metrics and junk", "firefly_data_job_stage_calls_total{job_type=\"j\"} 9\nx_schedule_ticks_total{outcome=\"fired\"} nope\nno braces 1\n",
			map[tickKey]int64{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := parseTicks([]byte(tt.text)); !maps.Equal(got, tt.want) {
				t.Errorf("parseTicks = %v, want %v", got, tt.want)
			}
		})
	}
}
