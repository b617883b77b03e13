// Package jetjobstest runs a real jetjobs engine on a real embedded
// JetStream server for tests, with helpers to send commands and wait for
// events. Job authors use it to test their jobs end to end (see
// ExampleNew).
package jetjobstest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/jetjobs/jetjobs"
	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/jobs"
)

// DefaultTimeout bounds every wait of the helpers.
const DefaultTimeout = 20 * time.Second

// Harness is an embedded NATS server, an engine connected to it, and a
// client connection of the test's own.
type Harness struct {
	Server   *bus.Embedded
	Engine   *jetjobs.Engine
	Conn     *nats.Conn
	JS       jetstream.JetStream
	Client   *bus.Client
	Config   jetjobs.Config
	Subjects bus.Subjects

	register func(*jobs.Registry)
	engOpts  []jetjobs.Option
}

// Option adjusts a harness before it starts.
type Option func(*Harness)

// WithConfig edits the engine's configuration.
func WithConfig(f func(*jetjobs.Config)) Option { return func(h *Harness) { f(&h.Config) } }

// WithEngineOptions passes options to jetjobs.New.
func WithEngineOptions(opts ...jetjobs.Option) Option {
	return func(h *Harness) { h.engOpts = append(h.engOpts, opts...) }
}

// New starts a server and an engine whose job types register adds. Both are
// stopped when the test ends. Engine-driven CHECKs run every 20ms to keep
// tests fast, and so do retries (10ms backoff).
func New(t testing.TB, register func(*jobs.Registry), opts ...Option) *Harness {
	t.Helper()
	srv, err := bus.StartEmbedded(bus.EmbeddedConfig{Port: -1, StoreDir: t.TempDir()})
	if err != nil {
		t.Fatalf("jetjobstest: embedded server: %v", err)
	}
	t.Cleanup(srv.Shutdown)
	cfg := jetjobs.DefaultConfig()
	cfg.NATS.URL = srv.ClientURL()
	cfg.HTTP.Addr = ""
	cfg.Log.Level = "warn"
	cfg.Orchestration.CheckInterval = 20 * time.Millisecond
	cfg.Orchestration.MaxCheckInterval = 100 * time.Millisecond
	cfg.Orchestration.Resiliency.RetryWaitDuration = 10 * time.Millisecond
	h := &Harness{Server: srv, Config: cfg, register: register, Subjects: bus.Subjects{Prefix: cfg.NATS.SubjectPrefix}}
	for _, o := range opts {
		o(h)
	}
	h.Subjects.Prefix = h.Config.NATS.SubjectPrefix
	nc, js, err := bus.Connect(bus.ConnConfig{URL: srv.ClientURL(), Name: "jetjobstest"})
	if err != nil {
		t.Fatalf("jetjobstest: connect: %v", err)
	}
	t.Cleanup(nc.Close)
	h.Conn, h.JS = nc, js
	h.Client = bus.NewClient(nc, js, bus.WithPrefix(h.Config.NATS.SubjectPrefix))
	t.Cleanup(h.Client.Close)
	h.Engine = h.StartEngine(t)
	return h
}

// StartEngine starts one more engine on the harness's server, with the same
// job types and configuration; it is stopped when the test ends. Two of them
// behave as two engine instances sharing the consumers.
func (h *Harness) StartEngine(t testing.TB) *jetjobs.Engine {
	t.Helper()
	reg := jobs.NewRegistry()
	if h.register != nil {
		h.register(reg)
	}
	opts := append([]jetjobs.Option{jetjobs.WithLogger(TestLogger(t, h.Config.Log.Level)),
		jetjobs.WithShutdownTimeout(10 * time.Second)}, h.engOpts...)
	eng, err := jetjobs.New(h.Config, reg, opts...)
	if err != nil {
		t.Fatalf("jetjobstest: engine: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
	defer cancel()
	if err := eng.Start(ctx); err != nil {
		t.Fatalf("jetjobstest: start engine: %v", err)
	}
	t.Cleanup(eng.Stop)
	return eng
}

// Restart stops the engine (draining it) and starts a new one: what a
// rolling deploy does.
func (h *Harness) Restart(t testing.TB) {
	t.Helper()
	h.Engine.Stop()
	h.Engine = h.StartEngine(t)
}

// Call sends a command and waits for its JobStageResponse.
func (h *Harness) Call(t testing.TB, job string, stage jobs.Stage, req *jobs.Request) *jobs.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
	defer cancel()
	resp, err := h.Client.Call(ctx, job, stage, req, bus.SendOptions{})
	if err != nil {
		t.Fatalf("jetjobstest: %s %s: %v", job, stage, err)
	}
	return resp
}

// Event is a job event as read back from JOBS_EVENTS.
type Event struct {
	Subject string
	Type    string
	Header  nats.Header
	Data    jobs.EventData
}

// Events reads JOBS_EVENTS from the beginning with an ordered consumer on
// filter (e.g. "jobs.evt.my-job.>").
type Events struct {
	cons jetstream.Consumer
}

// Events opens an event reader; filter "" reads every job event.
func (h *Harness) Events(t testing.TB, filter string) *Events {
	t.Helper()
	if filter == "" {
		filter = h.Subjects.Prefix + ".evt.>"
	}
	ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
	defer cancel()
	cons, err := h.JS.OrderedConsumer(ctx, bus.StreamEvents, jetstream.OrderedConsumerConfig{FilterSubjects: []string{filter}})
	if err != nil {
		t.Fatalf("jetjobstest: events consumer: %v", err)
	}
	return &Events{cons: cons}
}

// Next returns the next event, failing the test after timeout.
func (e *Events) Next(t testing.TB, timeout time.Duration) Event {
	t.Helper()
	ev, ok := e.TryNext(timeout)
	if !ok {
		t.Fatalf("jetjobstest: no event within %s", timeout)
	}
	return ev
}

// TryNext returns the next event, or false after timeout.
func (e *Events) TryNext(timeout time.Duration) (Event, bool) {
	msg, err := e.cons.Next(jetstream.FetchMaxWait(timeout))
	if err != nil {
		return Event{}, false
	}
	ev, err := bus.Decode(msg.Headers(), msg.Data())
	if err != nil {
		return Event{Subject: msg.Subject(), Header: msg.Headers()}, true
	}
	out := Event{Subject: msg.Subject(), Type: ev.Type(), Header: msg.Headers()}
	_ = json.Unmarshal(ev.Data(), &out.Data)
	return out, true
}

// WaitEvent reads events of job until one of eventType for executionID
// arrives, and returns it.
func (h *Harness) WaitEvent(t testing.TB, job, executionID, eventType string) Event {
	t.Helper()
	evs := h.Events(t, h.Subjects.Event(job, eventType))
	deadline := time.Now().Add(DefaultTimeout)
	for time.Now().Before(deadline) {
		ev, ok := evs.TryNext(time.Until(deadline))
		if ok && ev.Data.ExecutionID == executionID {
			return ev
		}
	}
	t.Fatalf("jetjobstest: no %s for %s/%s within %s", eventType, job, executionID, DefaultTimeout)
	return Event{}
}

// WaitFor waits until execution id of job is in status, told by its events
// (JOB_STARTED for STARTED, the first JOB_PROGRESS for RUNNING, the terminal
// event for a terminal status), and returns that event. It fails the test
// after DefaultTimeout, or at once when the execution ends in another
// status.
func (h *Harness) WaitFor(t testing.TB, job, id string, status jobs.Status) Event {
	t.Helper()
	return h.waitEvents(t, job, id, string(status), func(ev Event) bool { return ev.Data.Status == status })
}

// WaitForProgress waits until execution id of job has reported at least
// minPercent (a JOB_PROGRESS event, or JOB_COMPLETED, which is 100%), and
// returns that event. It fails the test after DefaultTimeout, or at once
// when the execution ends otherwise.
func (h *Harness) WaitForProgress(t testing.TB, job, id string, minPercent int) Event {
	t.Helper()
	return h.waitEvents(t, job, id, fmt.Sprintf("progress >= %d%%", minPercent), func(ev Event) bool {
		if ev.Type == jobs.EventCompleted {
			return true
		}
		p := ev.Data.ProgressPercentage
		return ev.Type == jobs.EventProgress && p != nil && *p >= minPercent
	})
}

// waitEvents reads the events of job from the start of the stream until
// one of execution id matches; a terminal event that does not match ends
// the wait with a failure.
func (h *Harness) waitEvents(t testing.TB, job, id, want string, match func(Event) bool) Event {
	t.Helper()
	evs := h.Events(t, h.Subjects.Prefix+".evt."+job+".>")
	deadline := time.Now().Add(DefaultTimeout)
	for time.Now().Before(deadline) {
		ev, ok := evs.TryNext(time.Until(deadline))
		if !ok || ev.Data.ExecutionID != id {
			continue
		}
		if match(ev) {
			return ev
		}
		if ev.Data.Status.Terminal() && ev.Type != jobs.EventProgress {
			t.Fatalf("jetjobstest: %s/%s ended %s (%s) while waiting for %s", job, id, ev.Data.Status, ev.Type, want)
		}
	}
	t.Fatalf("jetjobstest: %s/%s: no event saying %s within %s", job, id, want, DefaultTimeout)
	return Event{}
}

// CountEvents counts the stored events on a subject filter (all of them,
// from the start of the stream), for exactly-once assertions.
func (h *Harness) CountEvents(t testing.TB, filter string, match func(Event) bool) int {
	t.Helper()
	evs := h.Events(t, filter)
	n := 0
	for {
		ev, ok := evs.TryNext(500 * time.Millisecond)
		if !ok {
			return n
		}
		if match == nil || match(ev) {
			n++
		}
	}
}

// Execution reads an execution record from the state store.
func (h *Harness) Execution(t testing.TB, job, executionID string) *jobs.Execution {
	t.Helper()
	exec, _, err := h.Engine.State().Get(context.Background(), job, executionID)
	if err != nil {
		t.Fatalf("jetjobstest: execution %s/%s: %v", job, executionID, err)
	}
	return exec
}

// TestLogger writes the engine's log lines to t.Log.
func TestLogger(t testing.TB, level string) zerolog.Logger {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil {
		lvl = zerolog.WarnLevel
	}
	return zerolog.New(testWriter{t}).Level(lvl).With().Timestamp().Logger()
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
