package saga

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/jetjobs/jetjobs/jobs"
)

// A saga's input is masked once when it starts: the stored instance, the
// SAGA_STARTED event and the step's parameters all hold "****"; with no
// sanitizer it is kept as given.
func TestSagaInputMaskedOnce(t *testing.T) {
	t.Parallel()
	const secret = "saga-secret-42"
	tests := []struct {
		name string
		san  *jobs.Sanitizer
		want string // the step's value parameter, from ${input.apiKey}
	}{
		{"sanitizer on", jobs.NewSanitizer(jobs.DefaultSensitiveKeys...), jobs.Mask},
		{"sanitizer off", nil, secret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h, _ := harness(t)
			def := &Definition{Name: "keyed", Steps: []Step{
				{Name: "a", Job: "quick", Parameters: map[string]any{"value": "${input.apiKey}"}},
			}}
			c := coordinator(t, h, func(cfg *Config) { cfg.Sanitizer = tt.san }, def)
			start(t, c, "keyed", "k1", map[string]any{"apiKey": secret, "note": "uses " + secret, "user": "bob"})
			in := waitStatus(t, h, "keyed", "k1", StatusCompleted)
			if got := step(in, "a").Run.Result["value"]; got != tt.want {
				t.Errorf("step saw %v, want %v", got, tt.want)
			}
			stored, _ := json.Marshal(in)
			started, _ := json.Marshal(sagaEvents(t, h, "keyed", "k1", EventCompleted)[0])
			for what, b := range map[string][]byte{"instance": stored, "SAGA_STARTED": started} {
				if leaked := strings.Contains(string(b), secret); leaked != (tt.san == nil) {
					t.Errorf("%s holds the secret: %v, want %v: %s", what, leaked, tt.san == nil, b)
				}
			}
			if tt.san != nil && in.Input["note"] != "uses "+jobs.Mask {
				t.Errorf("note %v: the secret's value must be masked elsewhere in the input too", in.Input["note"])
			}
		})
	}
}
