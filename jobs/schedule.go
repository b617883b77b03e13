package jobs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Schedule is a job's periodic or one-shot start (docs/schedules.md): at
// each tick of exactly one of Cron, Every or At, the job is started with
// the schedule's parameters and metadata, initiator "schedule:<name>".
// The ticks themselves are made by the NATS server (bus.Schedules), not by
// an engine's clock.
type Schedule struct {
	Job  string `json:"job"`
	Name string `json:"name"` // ^[a-z0-9][a-z0-9-]{0,63}$, unique per job
	// Cron is a six-field expression with seconds ("0 30 2 * * *") or a
	// descriptor (@hourly, @daily, @weekly, @monthly, @yearly).
	Cron string `json:"cron,omitempty"`
	// Every is a Go duration of at least one second ("15m").
	Every string `json:"every,omitempty"`
	// At is one RFC 3339 time: the schedule fires once and is removed.
	At string `json:"at,omitempty"`
	// TimeZone is an IANA zone name for Cron ("Europe/Paris"); default UTC.
	// The server refuses a time zone on Every and At.
	TimeZone   string            `json:"timeZone,omitempty"`
	Parameters map[string]any    `json:"parameters,omitempty"`
	Metadata   map[string]string `json:"metadata,omitempty"`
	// Paused keeps the definition but takes it off the server's scheduler.
	Paused bool `json:"paused,omitempty"`
	// Origin is who owns it: OriginConfig (the configuration file, applied
	// at start-up) or OriginAPI (made at run time; the default).
	Origin string `json:"origin,omitempty"`
	// ExecutionID is the id of the one execution a delayed start (At only)
	// makes; repeating schedules derive one per tick (TickExecutionID).
	ExecutionID string `json:"executionId,omitempty"`
}

// Origins of a schedule.
const (
	OriginConfig = "config"
	OriginAPI    = "api"
)

// SchedulePrefix starts the initiator of every execution a schedule
// starts: "schedule:<name>".
const SchedulePrefix = "schedule:"

// ErrScheduleNotFound is the answer for a schedule that does not exist.
var ErrScheduleNotFound = Errorf(CodeNotFound, "schedule not found")

// ScheduleError is a schedule definition that cannot be used; Field names
// the bad field ("cron", "every", "at", "timeZone", "name").
type ScheduleError struct {
	Field string
	Err   error
}

func (e *ScheduleError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *ScheduleError) Unwrap() error { return e.Err }

// invalidSchedule wraps a ScheduleError in an invalid-parameter *Error
// (REST 422), which errors.As still finds.
func invalidSchedule(field string, err error) error {
	return &Error{Code: CodeInvalidParameter, Err: &ScheduleError{Field: field, Err: err}}
}

func schedErr(field, format string, args ...any) error {
	return invalidSchedule(field, fmt.Errorf(format, args...))
}

// cronParser reads the server's cron syntax: six fields, seconds first,
// names for months and days, and the @daily family of descriptors (the
// server's own parser is derived from this one's, docs/schedules.md).
var cronParser = cron.NewParser(cron.Second | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Validate checks the definition as the server will read it, with the
// field named in the error.
func (s Schedule) Validate() error {
	if err := ValidateJobName(s.Job); err != nil {
		return invalidSchedule("job", err)
	}
	if !validJobName(s.Name) {
		return schedErr("name", "invalid schedule name %q: want ^[a-z0-9][a-z0-9-]{0,63}$", truncate(s.Name, 80))
	}
	n := 0
	for _, v := range []string{s.Cron, s.Every, s.At} {
		if v != "" {
			n++
		}
	}
	if n != 1 {
		return schedErr("cron", "exactly one of cron, every or at is needed, got %d", n)
	}
	if s.ExecutionID != "" {
		if err := ValidateExecutionID(s.ExecutionID); err != nil {
			return invalidSchedule("executionId", err)
		}
		if s.At == "" {
			return schedErr("executionId", "only a one-shot schedule (at) names its execution")
		}
	}
	if s.TimeZone != "" && s.Cron == "" {
		return schedErr("timeZone", "a time zone applies to cron only (the server refuses it on every and at)")
	}
	_, err := s.next()
	return err
}

// Pattern is the value of the server's Nats-Schedule header.
func (s Schedule) Pattern() string {
	switch {
	case s.Every != "":
		return "@every " + s.Every
	case s.At != "":
		return "@at " + s.At
	default:
		return strings.Join(strings.Fields(s.Cron), " ")
	}
}

// Repeats reports whether the schedule fires more than once.
func (s Schedule) Repeats() bool { return s.At == "" }

// next returns the function that gives the first tick after a time.
func (s Schedule) next() (func(time.Time) time.Time, error) {
	switch {
	case s.Every != "":
		d, err := time.ParseDuration(s.Every)
		if err != nil {
			return nil, schedErr("every", "invalid duration %q: %v", s.Every, err)
		}
		if d < time.Second {
			return nil, schedErr("every", "%q is shorter than the server's minimum of 1s", s.Every)
		}
		// As the server: the first tick is the publish time rounded to the
		// second plus the interval, and each next one an interval later.
		return func(t time.Time) time.Time { return t.UTC().Round(time.Second).Add(d) }, nil
	case s.At != "":
		at, err := time.Parse(time.RFC3339, s.At)
		if err != nil {
			return nil, schedErr("at", "invalid RFC 3339 time %q: %v", s.At, err)
		}
		return func(t time.Time) time.Time {
			if at.After(t) {
				return at.UTC()
			}
			return time.Time{}
		}, nil
	}
	loc := time.UTC
	if s.TimeZone != "" {
		l, err := time.LoadLocation(s.TimeZone)
		if err != nil {
			return nil, schedErr("timeZone", "unknown time zone %q", s.TimeZone)
		}
		loc = l
	}
	expr := strings.TrimSpace(s.Cron)
	if strings.HasPrefix(expr, "@every") || strings.HasPrefix(expr, "TZ=") || strings.HasPrefix(expr, "CRON_TZ=") {
		return nil, schedErr("cron", "invalid cron expression %q: use every: for intervals and time-zone: for zones", s.Cron)
	}
	if !strings.HasPrefix(expr, "@") && len(strings.Fields(expr)) != 6 {
		return nil, schedErr("cron", "invalid cron expression %q: want 6 fields (seconds minutes hours day-of-month month day-of-week), got %d",
			s.Cron, len(strings.Fields(expr)))
	}
	sched, err := cronParser.Parse(expr)
	if err != nil {
		return nil, schedErr("cron", "invalid cron expression %q: %v", s.Cron, err)
	}
	if sc, ok := sched.(*cron.SpecSchedule); ok {
		sc.Location = loc
	}
	return func(t time.Time) time.Time { return sched.Next(t).UTC() }, nil
}

// NextRuns are the next n ticks after from, in UTC; fewer when the
// schedule ends (an At in the past, a cron that never matches) and none
// when it is paused or invalid. An Every schedule's ticks are counted from
// from, as the server counts them from the time it was published.
func (s Schedule) NextRuns(from time.Time, n int) []time.Time {
	if s.Paused {
		return nil
	}
	next, err := s.next()
	if err != nil {
		return nil
	}
	var out []time.Time
	t := from
	for i := 0; i < n; i++ {
		t = next(t)
		if t.IsZero() {
			break
		}
		out = append(out, t)
	}
	return out
}

// TickExecutionID is the execution id of a schedule's tick: the schedule's
// name and the tick's time to the second in UTC, so a tick delivered twice
// starts one execution ("nightly-20261204T020000Z").
func TickExecutionID(name string, tick time.Time) string {
	return name + "-" + tick.UTC().Format("20060102T150405Z")
}

// Schedules stores the schedules of the job types (bus.Schedules).
type Schedules interface {
	// Put creates or replaces a schedule; the same definition again
	// changes nothing.
	Put(ctx context.Context, s Schedule) error
	// Get returns one schedule or ErrScheduleNotFound.
	Get(ctx context.Context, job, name string) (*Schedule, error)
	// List returns the schedules of a job ("" for all), by job and name.
	List(ctx context.Context, job string) ([]Schedule, error)
	// Delete removes a schedule; its ticks stop.
	Delete(ctx context.Context, job, name string) error
	// Pause keeps the definition and stops its ticks; Resume restarts them.
	Pause(ctx context.Context, job, name string) error
	Resume(ctx context.Context, job, name string) error
}

// IsScheduleNotFound reports whether err says a schedule does not exist.
func IsScheduleNotFound(err error) bool { return errors.Is(err, ErrScheduleNotFound) }
