package bus

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetjobs/jetjobs/jobs"
)

// The sweeper dead-letters commands no job consumer will ever take: a
// malformed subject, an invalid job name, or a job type for which no engine
// created a consumer. It reads the command stream's subjects every
// SweepInterval rather than a second delivery of every command: unroutable
// commands are rare, and most commands should cost one delivery.

func (w *Worker) startSweeper(ctx context.Context) {
	// Engines before the sweeper had a no-ack consumer for this; it would
	// only cost the server work now.
	_ = w.js.DeleteConsumer(ctx, StreamCommands, "cmd-unrouted")
	w.sweeping.Add(1)
	go func() {
		defer w.sweeping.Done()
		t := time.NewTicker(w.cfg.SweepInterval)
		defer t.Stop()
		for {
			w.sweep()
			select {
			case <-w.ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// sweep dead-letters and then purges every unroutable command subject.
func (w *Worker) sweep() {
	ctx, cancel := context.WithTimeout(w.ctx, w.cfg.SweepInterval+10*time.Second)
	defer cancel()
	stream, err := w.js.Stream(ctx, StreamCommands)
	if err != nil {
		return
	}
	info, err := stream.Info(ctx, jetstream.WithSubjectFilter(w.cfg.Prefix+".cmd.>"))
	if err != nil {
		return
	}
	for subject := range info.State.Subjects {
		if job, stage, reason := w.unroutable(subject); reason != "" {
			if err := w.sweepSubject(ctx, stream, subject, job, stage, reason); err != nil && ctx.Err() == nil {
				w.log.Warn().Err(err).Str("subject", subject).Msg("sweeping unroutable commands failed; trying again later")
			}
		}
	}
}

// unroutable says why no job consumer takes commands on subject ("" when
// one does; unknown stages of a known job are its consumer's to reject).
func (w *Worker) unroutable(subject string) (job, stage, reason string) {
	rest, _ := strings.CutPrefix(subject, w.cfg.Prefix+".cmd.")
	tokens := strings.Split(rest, ".")
	job = tokens[0]
	if len(tokens) > 1 {
		stage = tokens[1]
	}
	switch {
	case len(tokens) != 2:
		reason = fmt.Sprintf("malformed command subject %s: want %s.cmd.<job>.<stage>", subject, w.cfg.Prefix)
	case jobs.ValidateJobName(job) != nil:
		reason = jobs.ValidateJobName(job).Error()
	case !w.isKnown(job):
		reason = fmt.Sprintf("unknown job %q: no engine serves it", job)
	}
	return job, stage, reason
}

// sweepSubject dead-letters the commands on subject up to its last one, then
// purges them from the command stream, unless a consumer for the job
// appeared meanwhile.
func (w *Worker) sweepSubject(ctx context.Context, stream jetstream.Stream, subject, job, stage, reason string) error {
	last, err := stream.GetLastMsgForSubject(ctx, subject)
	if err != nil {
		return err
	}
	// Read with direct gets, not a consumer: JOBS_COMMANDS is a work queue,
	// which allows only acknowledging consumers with filters of their own.
	for seq := uint64(1); seq <= last.Sequence; seq++ {
		msg, err := stream.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(subject))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			break // taken meanwhile (another engine swept it)
		}
		if err != nil {
			return err
		}
		seq = msg.Sequence
		bad := &badCommand{job: job, stage: stage, reason: reason}
		if ev, err := Decode(msg.Header, msg.Data); err == nil {
			bad.replyTo = extString(&ev, "replyto")
			bad.executionID = extString(&ev, "executionid")
		}
		if err := w.deadLetter(ctx, subject, msg.Header, msg.Data, msg.Sequence, 0, bad); err != nil {
			return err
		}
	}
	if _, _, reason := w.unroutable(subject); reason == "" {
		return nil // a consumer for the job appeared: leave the rest to it
	}
	return stream.Purge(ctx, jetstream.WithPurgeSubject(subject), jetstream.WithPurgeSequence(last.Sequence+1))
}
