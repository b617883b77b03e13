package jetjobs_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/jetjobs/jetjobs"
)

// A configuration built in code, part by part, each part named by its
// public alias, then validated the way jetjobs.New validates it: every
// problem comes back as a *jetjobs.FieldError naming its YAML key.
func ExampleConfig() {
	cfg := jetjobs.DefaultConfig() // every documented default
	cfg.NATS.URL = "nats://nats.internal:4222"
	cfg.NATS.Limits.Events = jetjobs.StreamLimits{MaxAge: 7 * 24 * time.Hour, MaxBytes: 256 << 20}
	cfg.HTTP.CORS = jetjobs.CORSConfig{AllowedOrigins: []string{"https://app.example.com"}}
	cfg.Log = jetjobs.LogConfig{Level: "warn", Format: "console"}
	cfg.Jobs = map[string]jetjobs.JobConfig{
		"nightly-export": {
			DefaultTimeout: 2 * time.Hour,
			Schedules:      []jetjobs.ScheduleConfig{{Name: "nightly", Cron: "0 0 2 * * *", TimeZone: "Europe/Paris"}},
		},
	}
	fmt.Println("valid:", cfg.Validate() == nil)

	cfg.Jobs["nightly-export"].Schedules[0].TimeZone = "Mars/Olympus_Mons"
	var fe *jetjobs.FieldError
	if err := cfg.Validate(); errors.As(err, &fe) {
		fmt.Println("refused:", fe.Key)
	}
	// Output:
	// valid: true
	// refused: jobs.nightly-export.schedules[0].time-zone
}
