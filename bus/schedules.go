package bus

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetjobs/jetjobs/jobs"
)

// StreamSchedules holds the job schedules and delayed starts as NATS
// message schedules (docs/schedules.md): the server itself fires them.
const StreamSchedules = "JOBS_SCHEDULES"

// The headers of the server's message schedules (nats-server's
// scheduler): a schedule message carries the pattern, its zone and the
// subject to publish to; a tick the server produces carries Nats-Scheduler
// (the schedule's subject) and Nats-Schedule-Next (the next tick, or
// "purge" after the last).
const (
	HeaderSchedule         = "Nats-Schedule"
	HeaderScheduleTimeZone = "Nats-Schedule-Time-Zone"
	HeaderScheduleTarget   = "Nats-Schedule-Target"
	HeaderScheduleTTL      = "Nats-Schedule-TTL"
	HeaderScheduler        = "Nats-Scheduler"
	HeaderScheduleNext     = "Nats-Schedule-Next"
)

// TickTTL is how long a tick the engines have not taken yet is kept
// (Nats-Schedule-TTL): a week, as commands (nats.limits.commands.max-age).
const TickTTL = 7 * 24 * time.Hour

// ScheduleOf is P.schedule.<job>.<name>: one schedule, one message.
func (s Subjects) ScheduleOf(job, name string) string {
	return s.Prefix + ".schedule." + job + "." + name
}

// ScheduleTick is P.schedule.<job>.<name>.tick, where the server puts
// that schedule's ticks (a schedule's target must be in its own stream).
func (s Subjects) ScheduleTick(job, name string) string { return s.ScheduleOf(job, name) + ".tick" }

// DelayOf is P.delay.<job>.<executionId>: one delayed start.
func (s Subjects) DelayOf(job, executionID string) string {
	return s.Prefix + ".delay." + job + "." + executionID
}

// DelayFire is P.delay.<job>.<executionId>.fire, where its one tick lands.
func (s Subjects) DelayFire(job, executionID string) string {
	return s.DelayOf(job, executionID) + ".fire"
}

// ScheduleStreamConfig is JOBS_SCHEDULES: limits retention (a definition
// stays until deleted), one message per subject (a new definition replaces
// the old; the server rolls a schedule's subject up itself), per-message
// TTLs for the ticks. The server refuses discard-new on a schedule stream,
// so Put checks the room left itself (ErrStorageFull).
func ScheduleStreamConfig(prefix string, replicas int, storage jetstream.StorageType, maxBytes int64) jetstream.StreamConfig {
	if maxBytes <= 0 {
		maxBytes = -1
	}
	return jetstream.StreamConfig{Name: StreamSchedules, Description: "jetjobs job schedules and delayed starts (NATS message schedules)",
		Subjects:  []string{prefix + ".schedule.>", prefix + ".delay.>"},
		Retention: jetstream.LimitsPolicy, Discard: jetstream.DiscardOld, MaxBytes: maxBytes,
		MaxMsgsPerSubject: 1, AllowMsgSchedules: true, AllowMsgTTL: true, AllowRollup: true,
		Duplicates: 2 * time.Minute, Replicas: max(replicas, 1), Storage: storage}
}

// Schedules stores schedules in JOBS_SCHEDULES (jobs.Schedules) and
// delayed starts beside them.
type Schedules struct {
	js       jetstream.JetStream
	subjects Subjects
	san      *jobs.Sanitizer
}

var _ jobs.Schedules = (*Schedules)(nil)

// NewSchedules uses the stream of ScheduleStreamConfig under prefix.
func NewSchedules(js jetstream.JetStream, prefix string) *Schedules {
	return &Schedules{js: js, subjects: Subjects{Prefix: prefix}}
}

// WithSanitizer masks sensitive parameters and metadata in what Shown
// returns (nil: none masked).
func (s *Schedules) WithSanitizer(san *jobs.Sanitizer) *Schedules {
	s.san = san
	return s
}

// Shown is a schedule as it may be shown (REST, CLI): sensitive values of
// its parameters and metadata masked. The stored schedule keeps them, as a
// command does, for the STARTs it makes.
func (s *Schedules) Shown(sc jobs.Schedule) jobs.Schedule {
	if s.san != nil {
		sc.Parameters, sc.Metadata = s.san.Map(sc.Parameters), s.san.Strings(sc.Metadata)
	}
	return sc
}

// Subjects are the subjects the store uses.
func (s *Schedules) Subjects() Subjects { return s.subjects }

func (s *Schedules) stream(ctx context.Context) (jetstream.Stream, error) {
	st, err := s.js.Stream(ctx, StreamSchedules)
	if err != nil {
		return nil, PortError("schedules stream", err)
	}
	return st, nil
}

// scheduleMsg is the message of a schedule: its JSON as the body, and the
// server's headers unless it is paused.
func (s *Schedules) scheduleMsg(sc jobs.Schedule) (*nats.Msg, error) {
	body, err := json.Marshal(sc)
	if err != nil {
		return nil, err
	}
	m := nats.NewMsg(s.subjects.ScheduleOf(sc.Job, sc.Name))
	m.Data = body
	if !sc.Paused {
		m.Header.Set(HeaderSchedule, sc.Pattern())
		m.Header.Set(HeaderScheduleTarget, s.subjects.ScheduleTick(sc.Job, sc.Name))
		m.Header.Set(HeaderScheduleTTL, TickTTL.String())
		if sc.TimeZone != "" {
			m.Header.Set(HeaderScheduleTimeZone, sc.TimeZone)
		}
	}
	return m, nil
}

// Put creates or replaces a schedule. The same definition again publishes
// nothing, so an Every schedule keeps its phase across engine restarts.
func (s *Schedules) Put(ctx context.Context, sc jobs.Schedule) error {
	if sc.Origin == "" {
		sc.Origin = jobs.OriginAPI
	}
	if err := sc.Validate(); err != nil {
		return err
	}
	if old, err := s.Get(ctx, sc.Job, sc.Name); err == nil {
		if sameSchedule(*old, sc) {
			return nil
		}
	} else if !jobs.IsScheduleNotFound(err) {
		return err
	}
	return s.publish(ctx, sc)
}

func sameSchedule(a, b jobs.Schedule) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

func (s *Schedules) publish(ctx context.Context, sc jobs.Schedule) error {
	m, err := s.scheduleMsg(sc)
	if err != nil {
		return err
	}
	if err := s.checkRoom(ctx, len(m.Data)+256); err != nil {
		return err
	}
	if _, err := s.js.PublishMsg(ctx, m); err != nil {
		return scheduleError("publish schedule "+sc.Job+"/"+sc.Name, err)
	}
	return nil
}

// scheduleError turns the server's refusal of a pattern (a bad cron, a bad
// zone) into an invalid parameter, and the rest into a port error.
func scheduleError(what string, err error) error {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && strings.Contains(strings.ToLower(apiErr.Description), "schedule") {
		return jobs.Errorf(jobs.CodeInvalidParameter, "%s: the NATS server refused it: %s", what, apiErr.Description)
	}
	return PortError(what, err)
}

// checkRoom refuses a write that would make the stream drop its oldest
// definitions (the server allows only discard-old here).
func (s *Schedules) checkRoom(ctx context.Context, n int) error {
	st, err := s.stream(ctx)
	if err != nil {
		return err
	}
	info, err := st.Info(ctx)
	if err != nil {
		return PortError("schedules stream", err)
	}
	if mb := info.Config.MaxBytes; mb > 0 && int64(info.State.Bytes)+int64(n) > mb {
		return &jobs.Error{Code: jobs.CodeStorageFull,
			Msg: "JOBS_SCHEDULES is full (delete schedules or raise nats.limits.schedules.max-bytes)"}
	}
	return nil
}

// Get returns one schedule.
func (s *Schedules) Get(ctx context.Context, job, name string) (*jobs.Schedule, error) {
	if err := jobs.ValidateJobName(job); err != nil {
		return nil, err
	}
	if jobs.ValidateJobName(name) != nil {
		return nil, jobs.ErrScheduleNotFound
	}
	st, err := s.stream(ctx)
	if err != nil {
		return nil, err
	}
	raw, err := st.GetLastMsgForSubject(ctx, s.subjects.ScheduleOf(job, name))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, jobs.ErrScheduleNotFound
	}
	if err != nil {
		return nil, PortError("get schedule", err)
	}
	return decodeSchedule(job, name, raw.Header, raw.Data)
}

// decodeSchedule reads a stored schedule, also one published directly on
// NATS: job and name come from the subject, the pattern from the headers
// when the body has none.
func decodeSchedule(job, name string, h nats.Header, data []byte) (*jobs.Schedule, error) {
	var sc jobs.Schedule
	if len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, &sc); err != nil {
			return nil, jobs.Errorf(jobs.CodeInvalidArgument, "schedule %s/%s: body is not a schedule: %v", job, name, err)
		}
	}
	sc.Job, sc.Name = job, name
	if p := h.Get(HeaderSchedule); p != "" && sc.Cron == "" && sc.Every == "" && sc.At == "" {
		switch {
		case strings.HasPrefix(p, "@every "):
			sc.Every = strings.TrimPrefix(p, "@every ")
		case strings.HasPrefix(p, "@at "):
			sc.At = strings.TrimPrefix(p, "@at ")
		default:
			sc.Cron = p
		}
		sc.TimeZone = h.Get(HeaderScheduleTimeZone)
	}
	if h.Get(HeaderSchedule) == "" {
		sc.Paused = true
	}
	return &sc, nil
}

// List returns the schedules of a job ("" for every job).
func (s *Schedules) List(ctx context.Context, job string) ([]jobs.Schedule, error) {
	filter := s.subjects.Prefix + ".schedule.*.*"
	if job != "" {
		if err := jobs.ValidateJobName(job); err != nil {
			return nil, err
		}
		filter = s.subjects.ScheduleOf(job, "*")
	}
	st, err := s.stream(ctx)
	if err != nil {
		return nil, err
	}
	info, err := st.Info(ctx, jetstream.WithSubjectFilter(filter))
	if err != nil {
		return nil, PortError("list schedules", err)
	}
	subjects := make([]string, 0, len(info.State.Subjects))
	for subj := range info.State.Subjects {
		subjects = append(subjects, subj)
	}
	sort.Strings(subjects)
	out := []jobs.Schedule{}
	for _, subj := range subjects {
		tok := strings.Split(strings.TrimPrefix(subj, s.subjects.Prefix+".schedule."), ".")
		if len(tok) != 2 {
			continue
		}
		sc, err := s.Get(ctx, tok[0], tok[1])
		if jobs.IsScheduleNotFound(err) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, *sc)
	}
	return out, nil
}

// Delete removes a schedule; the server stops its ticks. Ticks already
// made and not yet taken still start their executions.
func (s *Schedules) Delete(ctx context.Context, job, name string) error {
	if _, err := s.Get(ctx, job, name); err != nil {
		return err
	}
	st, err := s.stream(ctx)
	if err != nil {
		return err
	}
	if err := st.Purge(ctx, jetstream.WithPurgeSubject(s.subjects.ScheduleOf(job, name))); err != nil {
		return PortError("delete schedule", err)
	}
	return nil
}

// Pause keeps the definition without the server's headers: the server
// has no pause, and a message without Nats-Schedule on the subject ends
// the schedule.
func (s *Schedules) Pause(ctx context.Context, job, name string) error {
	return s.setPaused(ctx, job, name, true)
}

// Resume publishes the definition with its headers again; an Every
// schedule starts counting from now.
func (s *Schedules) Resume(ctx context.Context, job, name string) error {
	return s.setPaused(ctx, job, name, false)
}

func (s *Schedules) setPaused(ctx context.Context, job, name string, paused bool) error {
	sc, err := s.Get(ctx, job, name)
	if err != nil {
		return err
	}
	if sc.Paused == paused {
		return nil
	}
	sc.Paused = paused
	return s.publish(ctx, *sc)
}

// PutDelayed stores a delayed START of req (whose ExecutionID is set) on
// job, fired once by the server at at.
func (s *Schedules) PutDelayed(ctx context.Context, job string, at time.Time, req *jobs.Request) error {
	if err := jobs.ValidateJobName(job); err != nil {
		return err
	}
	if err := jobs.ValidateExecutionID(req.ExecutionID); err != nil {
		return err
	}
	body, err := MarshalJSON(req, req.Parameters)
	if err != nil {
		return err
	}
	m := nats.NewMsg(s.subjects.DelayOf(job, req.ExecutionID))
	m.Data = body
	m.Header.Set(HeaderSchedule, "@at "+at.UTC().Format(time.RFC3339))
	m.Header.Set(HeaderScheduleTarget, s.subjects.DelayFire(job, req.ExecutionID))
	m.Header.Set(HeaderScheduleTTL, TickTTL.String())
	// One delayed start per execution id: sent twice, stored once.
	m.Header.Set(nats.MsgIdHdr, "delay-"+job+"-"+req.ExecutionID)
	if err := s.checkRoom(ctx, len(body)+256); err != nil {
		return err
	}
	if _, err := s.js.PublishMsg(ctx, m); err != nil {
		return scheduleError(fmt.Sprintf("publish delayed start of %s/%s", job, req.ExecutionID), err)
	}
	return nil
}

// EnsureScheduleStream creates or updates JOBS_SCHEDULES. A server older
// than 2.12 has no message schedules and refuses it.
func EnsureScheduleStream(ctx context.Context, js jetstream.JetStream, cfg jetstream.StreamConfig) error {
	if _, err := js.CreateOrUpdateStream(ctx, cfg); err != nil {
		return StreamError(cfg.Name, err)
	}
	return nil
}
