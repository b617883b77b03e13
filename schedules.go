package jetjobs

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/jobs"
)

// Schedules manages the job schedules and delayed starts (after Start;
// docs/schedules.md); nil when the NATS server has no message schedules
// (before 2.12) and the configuration declares none.
func (e *Engine) Schedules() *bus.Schedules { return e.sched.Load() }

// ensureSchedules creates JOBS_SCHEDULES and the store, before the
// workers start (they store delayed STARTs in it). A server without
// message schedules leaves the store nil.
func (e *Engine) ensureSchedules(ctx context.Context) error {
	n := e.cfg.NATS
	sc := bus.ScheduleStreamConfig(n.SubjectPrefix, n.Replicas, 0, n.Limits.Schedules.MaxBytes)
	if err := bus.EnsureScheduleStream(ctx, e.js, sc); err != nil {
		if e.configSchedules() > 0 {
			return fmt.Errorf("jetjobs: jobs.*.schedules need NATS message schedules (nats-server 2.12 or later): %w", err)
		}
		e.log.Warn().Err(err).Msg("schedules are not available (nats-server 2.12 or later needed); the engine runs without them")
		return nil
	}
	e.sched.Store(bus.NewSchedules(e.js, n.SubjectPrefix).WithSanitizer(e.Sanitizer()))
	return nil
}

// delays is where the workers store delayed STARTs; nil without schedules.
func (e *Engine) delays() bus.DelayedStarts {
	if s := e.sched.Load(); s != nil {
		return s
	}
	return nil
}

// startSchedules applies the configured schedules and starts relaying the
// server's ticks as START commands.
func (e *Engine) startSchedules(ctx context.Context) error {
	store := e.sched.Load()
	if store == nil {
		return nil
	}
	if err := e.applyConfigSchedules(ctx, store); err != nil {
		return err
	}
	n := e.cfg.NATS
	relay := bus.NewTickRelay(e.nc, e.js, bus.TickRelayConfig{Prefix: n.SubjectPrefix, AckWait: n.AckWait,
		Logger: e.log, OnTick: e.obs.ScheduleTick, Client: e.client})
	if err := relay.Start(ctx); err != nil {
		return err
	}
	e.relay = relay
	return nil
}

func (e *Engine) stopSchedules(ctx context.Context) {
	if e.relay != nil {
		e.relay.Stop(ctx)
	}
}

func (e *Engine) configSchedules() int {
	n := 0
	for _, j := range e.cfg.Jobs {
		n += len(j.Schedules)
	}
	return n
}

// applyConfigSchedules makes JOBS_SCHEDULES hold the configured schedules:
// an unchanged one is left as it is (an every: keeps its phase), a changed
// one replaced, and a schedule the configuration made once but no longer
// lists (origin config) deleted. Schedules made at run time (origin api)
// are kept, unless the configuration now declares one of the same name,
// which then owns it. A paused schedule stays paused. A schedule on a sync
// job stops start-up.
func (e *Engine) applyConfigSchedules(ctx context.Context, store *bus.Schedules) error {
	want := map[string]bool{}
	for _, job := range slices.Sorted(maps.Keys(e.cfg.Jobs)) {
		for i, s := range e.cfg.Jobs[job].Schedules {
			if def, ok := e.reg.Lookup(job); ok && def.Async == nil {
				return fmt.Errorf("config: jobs.%s.schedules[%d]: %s is a sync job; a schedule starts async jobs (START)", job, i, job)
			}
			want[job+"/"+s.Name] = true
			sc := s.JobSchedule(job)
			// An operator's pause outlives restarts: the file says what,
			// not whether it is paused.
			if old, err := store.Get(ctx, job, s.Name); err == nil && old.Paused {
				sc.Paused = true
			}
			if err := store.Put(ctx, sc); err != nil {
				return fmt.Errorf("jetjobs: jobs.%s.schedules[%d] (%s): %w", job, i, s.Name, err)
			}
		}
	}
	all, err := store.List(ctx, "")
	if err != nil {
		return err
	}
	for _, s := range all {
		if s.Origin == jobs.OriginConfig && !want[s.Job+"/"+s.Name] {
			if err := store.Delete(ctx, s.Job, s.Name); err != nil && !jobs.IsScheduleNotFound(err) {
				return err
			}
			e.log.Info().Str("job", s.Job).Str("schedule", s.Name).Msg("schedule removed: no longer in the configuration")
		}
	}
	return nil
}
