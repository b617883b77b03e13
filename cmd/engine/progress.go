package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/schollz/progressbar/v3"

	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/jobs"
	"github.com/jetjobs/jetjobs/kv"
)

// ErrExecutionEnded is what engine call … start --wait returns when the
// execution ends FAILED, STOPPED or TIMED_OUT (the exit code is then
// non-zero); errors.Is matches it, the message says how it ended.
var ErrExecutionEnded = errors.New("execution did not complete")

// endedError says how an execution ended other than COMPLETED.
type endedError struct {
	job, id string
	status  jobs.Status
	text    string
}

func (e *endedError) Error() string {
	return fmt.Sprintf("%s execution %s ended %s: %s", e.job, e.id, e.status, dash(e.text))
}

func (e *endedError) Unwrap() error { return ErrExecutionEnded }

// progressState is where an execution is, as far as the follower knows.
type progressState struct {
	status  jobs.Status
	percent int
	message string
	errText string
}

// progressView shows an execution's progress: a bar on a terminal, a line
// per change elsewhere, nothing for JSON.
type progressView interface {
	update(now time.Time, s progressState)
	tick(now time.Time) // the elapsed time moves on
	done(now time.Time, s progressState)
}

// lineView prints `15:04:05 RUNNING 40% Imported 400 of 1000 customers`
// when the status, percentage or message changes.
type lineView struct {
	w     io.Writer
	p     painter
	start time.Time
	last  progressState
	shown bool
}

func (v *lineView) update(now time.Time, s progressState) {
	if v.shown && s == v.last {
		return
	}
	v.last, v.shown = s, true
	msg := s.message
	if s.errText != "" {
		msg = strings.TrimSpace(msg + " " + v.p.paint(ansiRed, s.errText))
	}
	fmt.Fprintf(v.w, "%s %s %d%% %s\n", now.Local().Format(time.TimeOnly), v.p.status(string(s.status)), s.percent, oneLine(msg, 200))
}

func (v *lineView) tick(time.Time) {}

func (v *lineView) done(now time.Time, s progressState) {
	v.update(now, s)
	fmt.Fprintf(v.w, "%s %s after %s\n", now.Local().Format(time.TimeOnly), v.p.status(string(s.status)),
		now.Sub(v.start).Round(100*time.Millisecond))
}

// barView draws a progress bar with the status, the message and the
// elapsed time (github.com/schollz/progressbar).
type barView struct {
	w   io.Writer
	p   painter
	bar *progressbar.ProgressBar
}

func newBarView(w io.Writer, p painter) *barView {
	bar := progressbar.NewOptions(100, progressbar.OptionSetWriter(w), progressbar.OptionSetWidth(30),
		progressbar.OptionSetElapsedTime(true), progressbar.OptionSetPredictTime(false),
		progressbar.OptionEnableColorCodes(p.on), progressbar.OptionShowDescriptionAtLineEnd(),
		progressbar.OptionSetRenderBlankState(true))
	return &barView{w: w, p: p, bar: bar}
}

func (v *barView) describe(s progressState) {
	v.bar.Describe(v.p.status(string(s.status)) + " " + oneLine(s.message, 60))
}

func (v *barView) update(_ time.Time, s progressState) {
	v.describe(s)
	_ = v.bar.Set(s.percent)
}

func (v *barView) tick(time.Time) { _ = v.bar.Add(0) }

func (v *barView) done(_ time.Time, s progressState) {
	v.describe(s)
	if s.status == jobs.StatusCompleted {
		_ = v.bar.Finish()
	} else {
		_ = v.bar.Set(s.percent)
		_ = v.bar.Exit()
	}
	fmt.Fprintln(v.w)
	if s.errText != "" {
		fmt.Fprintln(v.w, v.p.paint(ansiRed, s.errText))
	}
}

// quietView shows nothing (--output json: the document comes at the end).
type quietView struct{}

func (quietView) update(time.Time, progressState) {}
func (quietView) tick(time.Time)                  {}
func (quietView) done(time.Time, progressState)   {}

// recordPoll is how often the follower also reads the execution's record,
// in case an event is missed (a stream that was purged, an event published
// before the follower's consumer existed).
const recordPoll = 2 * time.Second

// follower watches one execution's events on JOBS_EVENTS until it ends.
type follower struct {
	js      jetstream.JetStream
	prefix  string
	job, id string
	cons    jetstream.Consumer
}

// newFollower subscribes to the job's events before the START is sent, so
// none published after the START is missed.
func newFollower(ctx context.Context, js jetstream.JetStream, prefix, job string) (*follower, error) {
	cons, err := js.OrderedConsumer(ctx, bus.StreamEvents, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{prefix + ".evt." + job + ".>"}, DeliverPolicy: jetstream.DeliverNewPolicy})
	if err != nil {
		return nil, fmt.Errorf("follow the events of %s: %w", job, err)
	}
	return &follower{js: js, prefix: prefix, job: job, cons: cons}, nil
}

// follow shows progress from the START answer on until the execution is
// terminal, and returns its last state; an error when ctx ends first.
func (f *follower) follow(ctx context.Context, first progressState, view progressView) (progressState, error) {
	state := first
	now := time.Now()
	view.update(now, state)
	if state.status.Terminal() {
		view.done(now, state)
		return state, nil
	}
	events := make(chan jobs.EventData, 16)
	msgs, err := f.cons.Messages()
	if err != nil {
		return state, err
	}
	go func() {
		defer close(events)
		for {
			msg, err := msgs.Next()
			if err != nil {
				return // stopped
			}
			ev, err := bus.Decode(msg.Headers(), msg.Data())
			if err != nil {
				continue
			}
			var d jobs.EventData
			if json.Unmarshal(ev.Data(), &d) != nil || d.ExecutionID != f.id {
				continue
			}
			select {
			case events <- d:
			case <-ctx.Done():
				return
			}
		}
	}()
	defer func() {
		msgs.Stop()
		for range events { // the reader has ended
		}
	}()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	lister := kv.NewScanLister(f.js, "")
	lastPoll := time.Now()
	for {
		select {
		case d, ok := <-events:
			if !ok {
				return state, errors.New("the event stream ended")
			}
			if d.EventType == jobs.EventStageResponse {
				continue
			}
			state = progressState{status: d.Status, percent: state.percent, message: firstOf(d.Message, state.message)}
			if d.ProgressPercentage != nil {
				state.percent = *d.ProgressPercentage
			}
			if d.Error != nil {
				state.errText = *d.Error
			}
			if d.Status == jobs.StatusCompleted {
				state.percent = 100
			}
		case now := <-tick.C:
			view.tick(now)
			if now.Sub(lastPoll) < recordPoll {
				continue
			}
			lastPoll = now
			rec, err := lister.Get(ctx, f.job, f.id)
			if err != nil || !rec.Status.Terminal() {
				continue
			}
			state = progressState{status: rec.Status, percent: rec.ProgressPercentage, message: rec.Message, errText: rec.Error}
		case <-ctx.Done():
			return state, ctx.Err()
		}
		now := time.Now()
		if state.status.Terminal() {
			view.done(now, state)
			return state, nil
		}
		view.update(now, state)
	}
}

func firstOf(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// waitOptions are the flags of call --wait.
type waitOptions struct {
	out         outputFlag
	timeout     time.Duration // of the RESULT call
	waitTimeout time.Duration // 0: follow until the execution ends
}

// callWait is what call --wait --output json prints.
type callWait struct {
	JobType     string         `json:"jobType"`
	ExecutionID string         `json:"executionId"`
	Status      jobs.Status    `json:"status"`
	Error       string         `json:"error,omitempty"`
	ElapsedMs   int64          `json:"elapsedMs"`
	Start       *jobs.Response `json:"start"`
	Result      *jobs.Response `json:"result,omitempty"`
}

// waitForExecution follows the execution a START began until it ends,
// then asks its RESULT (COMPLETED) or reports how it ended (an error
// matching ErrExecutionEnded).
func waitForExecution(ctx context.Context, cl *bus.Client, f *follower, start *jobs.Response, o waitOptions, w io.Writer) error {
	began := time.Now()
	f.id = start.ExecutionID
	asJSON := o.out.json(w, false)
	p := newPainter(w)
	var view progressView
	switch {
	case asJSON:
		view = quietView{}
	case isTerminal(w):
		fmt.Fprintf(w, "%s execution %s\n", f.job, f.id)
		view = newBarView(w, p)
	default:
		fmt.Fprintf(w, "%s execution %s\n", f.job, f.id)
		view = &lineView{w: w, p: p, start: began}
	}
	fctx := ctx
	if o.waitTimeout > 0 {
		var cancel context.CancelFunc
		fctx, cancel = context.WithTimeout(ctx, o.waitTimeout)
		defer cancel()
	}
	first := progressState{status: start.Status, percent: start.ProgressPercentage, message: start.Message, errText: start.ErrorText()}
	state, err := f.follow(fctx, first, view)
	if err != nil {
		return fmt.Errorf("stopped following %s execution %s (%s %d%%), which may still run: %w", f.job, f.id, state.status, state.percent, err)
	}
	doc := callWait{JobType: f.job, ExecutionID: f.id, Status: state.status, Error: state.errText,
		ElapsedMs: time.Since(began).Milliseconds(), Start: start}
	var ended error
	if state.status != jobs.StatusCompleted {
		ended = &endedError{job: f.job, id: f.id, status: state.status, text: firstOf(state.errText, state.message)}
	} else {
		rctx, cancel := context.WithTimeout(ctx, o.timeout)
		defer cancel()
		doc.Result, err = cl.Call(rctx, f.job, jobs.StageResult, &jobs.Request{ExecutionID: f.id}, bus.SendOptions{})
		if err != nil {
			return fmt.Errorf("%s execution %s completed; its RESULT: %w", f.job, f.id, err)
		}
	}
	if asJSON {
		if err := writeJSON(w, doc); err != nil {
			return err
		}
		return ended
	}
	if doc.Result != nil {
		fmt.Fprintln(w, "result:")
		if err := printResponse(w, doc.Result); err != nil {
			return err
		}
	}
	return ended
}

// printResponse writes a JobStageResponse for people: its fields, then its
// data as indented JSON.
func printResponse(w io.Writer, r *jobs.Response) error {
	p := newPainter(w)
	t := newTable(p)
	outcome := "ok"
	if !r.Success {
		outcome = p.paint(ansiRed, "failed")
	}
	t.row("  success:", outcome)
	for _, kv := range [][2]string{
		{"stage", string(r.Stage)}, {"execution", r.ExecutionID}, {"status", p.status(string(r.Status))},
		{"message", r.Message}, {"error", p.paint(ansiRed, r.ErrorText())},
	} {
		if kv[1] != "" {
			t.row("  "+kv[0]+":", kv[1])
		}
	}
	if r.Status != "" && !r.Status.Terminal() {
		t.row("  progress:", fmt.Sprintf("%d%%", r.ProgressPercentage))
	}
	if err := t.write(w); err != nil {
		return err
	}
	if len(r.Data) == 0 {
		return nil
	}
	b, err := json.MarshalIndent(r.Data, "  ", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "  data: %s\n", b)
	return err
}
