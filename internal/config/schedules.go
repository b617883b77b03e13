package config

import (
	"errors"
	"fmt"

	"github.com/jetjobs/jetjobs/jobs"
)

// Schedule is one entry of `jobs.<name>.schedules:` (docs/schedules.md):
// the job is started at each tick, by the NATS server's message schedules.
// Exactly one of Cron, Every and At is set.
type Schedule struct {
	Name       string            `yaml:"name"`       // required: ^[a-z0-9][a-z0-9-]{0,63}$, unique in the job
	Cron       string            `yaml:"cron"`       // default "": six fields with seconds ("0 0 2 * * *") or @daily…
	Every      string            `yaml:"every"`      // default "": a Go duration >= 1s ("15m")
	At         string            `yaml:"at"`         // default "": one RFC 3339 time, fires once
	TimeZone   string            `yaml:"time-zone"`  // default "" (UTC): an IANA zone, cron only
	Parameters map[string]any    `yaml:"parameters"` // default none: the START's parameters
	Metadata   map[string]string `yaml:"metadata"`   // default none: the START's metadata
}

// JobSchedule is the schedule as the engine stores it, owned by the
// configuration (jobs.OriginConfig).
func (s Schedule) JobSchedule(job string) jobs.Schedule {
	return jobs.Schedule{Job: job, Name: s.Name, Cron: s.Cron, Every: s.Every, At: s.At, TimeZone: s.TimeZone,
		Parameters: s.Parameters, Metadata: s.Metadata, Origin: jobs.OriginConfig}
}

// validateSchedules checks jobs.<job>.schedules, naming the entry and its
// field: jobs.export.schedules[0].cron.
func (c Config) validateSchedules(k *checker, job string, list []Schedule) {
	seen := map[string]int{}
	for i, s := range list {
		p := fmt.Sprintf("jobs.%s.schedules[%d]", job, i)
		if prev, dup := seen[s.Name]; dup && s.Name != "" {
			k.add(p+".name", "%q is also the name of schedules[%d]", s.Name, prev)
		}
		seen[s.Name] = i
		if s.Name == "" {
			k.add(p+".name", "must not be empty")
			continue
		}
		err := s.JobSchedule(job).Validate()
		var se *jobs.ScheduleError
		if errors.As(err, &se) {
			field := map[string]string{"timeZone": "time-zone"}[se.Field]
			if field == "" {
				field = se.Field
			}
			k.add(p+"."+field, "%v", se.Err)
		} else if err != nil {
			k.add(p, "%v", err)
		}
	}
}

// maskSchedules masks the sensitive parameters and metadata of the
// schedules in m (Masked), with the sanitizer the persistence keys
// configure; m's jobs are copies.
func (c Config) maskSchedules(m *Config) {
	san := c.Orchestration.Persistence.Sanitizer()
	if san == nil {
		return
	}
	for name, j := range m.Jobs {
		if len(j.Schedules) == 0 {
			continue
		}
		list := make([]Schedule, len(j.Schedules))
		for i, s := range j.Schedules {
			s.Parameters, s.Metadata = san.Map(s.Parameters), san.Strings(s.Metadata)
			list[i] = s
		}
		j.Schedules = list
		m.Jobs[name] = j
	}
}
