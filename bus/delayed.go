package bus

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetjobs/jetjobs/jobs"
)

// The CloudEvents extensions of a delayed JOB_START (docs/wire.md): the
// server fires the START at startat (RFC 3339) or after delay (a Go
// duration), through the same message schedules as job schedules.
const (
	ExtStartAt = "startat"
	ExtDelay   = "delay"
)

// DelayedStarts stores delayed STARTs (Schedules.PutDelayed).
type DelayedStarts interface {
	PutDelayed(ctx context.Context, job string, at time.Time, req *jobs.Request) error
}

var _ DelayedStarts = (*Schedules)(nil)

// startAt reads a START's startat or delay extension: zero when it has
// neither.
func startAt(ev *inEvent, now time.Time) (time.Time, error) {
	return parseStartAt(ev.extString(ExtStartAt), ev.extString(ExtDelay), now)
}

// parseStartAt reads the values of a START's startat and delay extensions.
func parseStartAt(at, delay string, now time.Time) (time.Time, error) {
	switch {
	case at != "" && delay != "":
		return time.Time{}, fmt.Errorf("extensions %s and %s: give one", ExtStartAt, ExtDelay)
	case at != "":
		t, err := time.Parse(time.RFC3339, at)
		if err != nil {
			return time.Time{}, fmt.Errorf("extension %s %q is not an RFC 3339 time", ExtStartAt, at)
		}
		return t, nil
	case delay != "":
		d, err := time.ParseDuration(delay)
		if err != nil || d < 0 {
			return time.Time{}, fmt.Errorf("extension %s %q is not a positive Go duration", ExtDelay, delay)
		}
		return now.Add(d), nil
	}
	return time.Time{}, nil
}

// delayStart handles a START with startat or delay: stored as a delayed
// start (its execution id: the request's, else the command's id, as for
// any START), answered with success and the time, and acked. It reports
// whether the command was one.
func (w *Worker) delayStart(ctx context.Context, msg jetstream.Msg, ev *inEvent, cmd *jobs.Command, replyTo string) bool {
	if cmd.Stage != jobs.StageStart {
		return false
	}
	at, err := startAt(ev, time.Now())
	if err == nil && at.IsZero() {
		return false
	}
	bad := &badCommand{job: cmd.JobType, stage: "start", replyTo: replyTo, executionID: cmd.Request.ExecutionID}
	if err != nil {
		bad.reason = err.Error()
		w.reject(ctx, msg, bad)
		return true
	}
	if w.cfg.Delays == nil {
		bad.reason = "delayed starts are not available (NATS message schedules need nats-server 2.12 or later)"
		w.reject(ctx, msg, bad)
		return true
	}
	req := cmd.Request
	if req.ExecutionID == "" {
		req.ExecutionID = cmd.ID
	}
	at = at.Truncate(time.Second)
	if err := w.cfg.Delays.PutDelayed(ctx, cmd.JobType, at, &req); err != nil {
		if jobs.CodeOf(err) == jobs.CodeInvalidArgument || jobs.CodeOf(err) == jobs.CodeInvalidParameter {
			bad.reason = err.Error()
			w.reject(ctx, msg, bad)
			return true
		}
		w.retryLater(ctx, msg, cmd, replyTo, err)
		return true
	}
	w.reply(ctx, replyTo, cmd.JobType, &jobs.Response{Success: true, Stage: jobs.StageStart, ExecutionID: req.ExecutionID,
		Message: "start scheduled at " + at.UTC().Format(time.RFC3339), Timestamp: time.Now().UTC(), Metadata: req.Metadata})
	w.poison.forget(streamSeq(msg))
	_ = msg.Ack()
	return true
}
