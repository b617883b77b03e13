package bus

import (
	"context"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/jetjobs/jetjobs/jobs"
)

var _ jobs.Rearmer = (*Timers)(nil)

// Rearm arms an execution's CHECK timer again under the dedup id
// timer.<job>.<id>.<key>, so that a timer Arm published inside the
// duplicate window (and lost since) does not make it a no-op.
func (t *Timers) Rearm(ctx context.Context, jobType, executionID string, delay time.Duration, key string) error {
	h := nats.Header{}
	h.Set(headerNotBefore, strconv.FormatInt(time.Now().Add(delay).UnixNano(), 10))
	h.Set(headerExecutionID, executionID)
	h.Set(headerMsgID, "timer."+jobType+"."+executionID+"."+key)
	traceContext.Inject(ctx, headerCarrier(h))
	if err := publish(ctx, t.js, natsMsg(t.subjects.Timer(jobType), h, nil)); err != nil {
		return &jobs.Error{Code: jobs.CodeUnavailable, Msg: "re-arm CHECK timer", Err: err}
	}
	return nil
}
