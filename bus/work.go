package bus

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetjobs/jetjobs/jobs"
)

// Worker jobs' work (docs/wire.md, "Worker jobs"): one message per
// execution on P.work.<job>.<executionId> in the work-queue stream
// JOBS_WORK, taken by a WorkRunner (workrunner.go; not to be confused with
// Worker, the command consumer pool of worker.go). STOP reaches the
// instance running an execution's Work with a core-NATS request on
// P.cancel.<job>.<executionId>.

var _ jobs.WorkQueue = (*WorkQueue)(nil)

// Work is P.work.<job>.<executionId>.
func (s Subjects) Work(job, executionID string) string {
	return s.Prefix + ".work." + job + "." + executionID
}

// Cancel is P.cancel.<job>.<executionId> (core NATS, not stored).
func (s Subjects) Cancel(job, executionID string) string {
	return s.Prefix + ".cancel." + job + "." + executionID
}

// WorkConsumer is the durable consumer name of a worker job's work.
func WorkConsumer(job string) string { return "work-" + job }

func workStream(cfg StreamsConfig) jetstream.StreamConfig {
	return jetstream.StreamConfig{Name: StreamWork, Description: "jetjobs worker jobs' queued work, one message per execution",
		Subjects: []string{cfg.Prefix + ".work.>"}, Retention: jetstream.WorkQueuePolicy,
		Duplicates: cfg.DuplicateWindow, MaxAge: cfg.WorkMaxAge, MaxBytes: cfg.WorkMaxBytes, Discard: jetstream.DiscardNew}
}

// workBody is the data of a work message.
type workBody struct {
	Parameters map[string]any `json:"parameters,omitempty"`
}

// WorkQueue is jobs.WorkQueue on JOBS_WORK.
type WorkQueue struct {
	nc         *nats.Conn
	js         jetstream.JetStream
	subjects   Subjects
	cancelWait time.Duration
}

// NewWorkQueue returns the work queue under prefix. cancelWait bounds how
// long Cancel waits for the running Work to return (default 5s).
func NewWorkQueue(nc *nats.Conn, js jetstream.JetStream, prefix string, cancelWait time.Duration) *WorkQueue {
	if prefix == "" {
		prefix = "jobs"
	}
	if cancelWait <= 0 {
		cancelWait = 5 * time.Second
	}
	return &WorkQueue{nc: nc, js: js, subjects: Subjects{Prefix: prefix}, cancelWait: cancelWait}
}

// Enqueue publishes the work with the execution id as its Nats-Msg-Id, so
// a START handled twice (a redelivery) queues it once. Within a command it
// rides the command's pipeline (PublishOut): START's record is created,
// and answered, before it, and the command is acknowledged only once it
// is stored.
func (q *WorkQueue) Enqueue(ctx context.Context, item jobs.WorkItem) error {
	m := NewOutMsg(q.subjects.Work(item.JobType, item.ExecutionID))
	if err := m.EncodeJSON(workBody{Parameters: item.Parameters}); err != nil {
		m.Release()
		return jobs.Errorf(jobs.CodeInvalidParameter, "parameters of %s are not JSON-encodable: %v", item.ExecutionID, err)
	}
	m.SetHeader(jetstream.MsgIDHeader, "work."+item.JobType+"."+item.ExecutionID)
	if err := PublishOut(ctx, q.js, m); err != nil {
		return PortError("queue work", err)
	}
	return nil
}

// Cancel asks every instance to cancel the execution's Work; the one that
// runs it answers once Work has returned. No answer within the bound (no
// instance holds it, or the holder died) is no error: the record is
// terminal already, and a runner that still holds it sees that at its next
// heartbeat.
func (q *WorkQueue) Cancel(ctx context.Context, jobType, executionID string) error {
	ctx, cancel := context.WithTimeout(ctx, q.cancelWait)
	defer cancel()
	_, err := q.nc.RequestWithContext(ctx, q.subjects.Cancel(jobType, executionID), nil)
	switch {
	case err == nil, errors.Is(err, nats.ErrNoResponders), errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout):
		return nil
	}
	return err
}
