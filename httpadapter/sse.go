package httpadapter

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetjobs/jetjobs/jobs"
	"github.com/jetjobs/jetjobs/kv"
)

// StatusEvent is the data of an SSE `status` event: the execution record as
// a client follows it (parameters and bookkeeping left out).
type StatusEvent struct {
	ExecutionID        string      `json:"executionId"`
	JobType            string      `json:"jobType"`
	Status             jobs.Status `json:"status"`
	LastStage          jobs.Stage  `json:"lastStage,omitempty"`
	ProgressPercentage int         `json:"progressPercentage"`
	Message            string      `json:"message,omitempty"`
	Error              *string     `json:"error"`
	UpdatedAt          time.Time   `json:"updatedAt"`
	EndedAt            *time.Time  `json:"endedAt,omitempty"`
}

func statusEventOf(e *jobs.Execution) StatusEvent {
	ev := StatusEvent{ExecutionID: e.ExecutionID, JobType: e.JobType, Status: e.Status, LastStage: e.LastStage,
		ProgressPercentage: e.ProgressPercentage, Message: e.Message, UpdatedAt: e.UpdatedAt, EndedAt: e.EndedAt}
	if e.Error != "" {
		msg := e.Error
		ev.Error = &msg
	}
	return ev
}

// same reports whether two events show a client the same thing; the record
// also changes for bookkeeping (CHECK counts), which is not news.
func (e StatusEvent) same(o StatusEvent) bool {
	return e.Status == o.Status && e.ProgressPercentage == o.ProgressPercentage && e.Message == o.Message &&
		(e.Error == nil) == (o.Error == nil) && (e.Error == nil || *e.Error == *o.Error)
}

// events streams an execution's record as Server-Sent Events: one `status`
// event now and one per change (id = "<KV revision>-<status>"), a comment
// as heartbeat, until the execution is terminal; then the stream ends. A
// client that reconnects with the Last-Event-ID of a terminal event gets
// 204, which tells EventSource to stop reconnecting.
func (a *adapter) events(def *jobs.Definition) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		info := infoOf(r)
		info.jobType, info.stage = def.Name, "EVENTS"
		id, err := pathID(r)
		if err != nil {
			writeFailure(w, r, http.StatusBadRequest, "", "", err.Error())
			return
		}
		info.executionID = id
		if body, status, err := readBody(r); err != nil || len(body) > 0 {
			if err == nil {
				status, err = http.StatusBadRequest, fmt.Errorf("GET events takes no request body")
			}
			writeFailure(w, r, status, "", id, err.Error())
			return
		}
		if a.d.State == nil {
			writeFailure(w, r, http.StatusServiceUnavailable, "", id, "no state bucket is configured")
			return
		}
		ctx := r.Context()
		watch, err := a.d.State.Watch(ctx, kv.Key(def.Name, id))
		if err != nil {
			status := http.StatusServiceUnavailable // whatever broke, it is on the NATS side
			if errorCode(err) == jobs.CodeTimeout {
				status = http.StatusGatewayTimeout
			}
			writeFailure(w, r, status, "", id, "watching the execution: "+err.Error())
			return
		}
		defer func() {
			_ = watch.Stop()
			// A callback blocked on a full updates channel would hold the
			// subscription open for good: drain until the watcher closes it.
			go func() {
				for range watch.Updates() { //nolint:revive // draining
				}
			}()
		}()

		// The watcher first delivers the current value (if any), then nil.
		var first jetstream.KeyValueEntry
		timer := time.NewTimer(a.o.RequestTimeout)
		defer timer.Stop()
	initial:
		for {
			select {
			case e, ok := <-watch.Updates():
				if !ok {
					writeFailure(w, r, http.StatusServiceUnavailable, "", id, "the state watch ended")
					return
				}
				if e == nil {
					break initial
				}
				first = e
			case <-timer.C:
				writeFailure(w, r, http.StatusGatewayTimeout, "", id, "reading the execution timed out")
				return
			case <-ctx.Done():
				return
			}
		}
		if first == nil || first.Operation() != jetstream.KeyValuePut {
			writeFailure(w, r, http.StatusNotFound, "", id, fmt.Sprintf("execution %q of job %q not found", id, def.Name))
			return
		}
		exec, err := decodeExecution(first)
		if err != nil {
			writeFailure(w, r, http.StatusInternalServerError, "", id, err.Error())
			return
		}
		if _, st, ok := strings.Cut(r.Header.Get("Last-Event-ID"), "-"); ok && jobs.Status(st).Terminal() {
			w.WriteHeader(http.StatusNoContent) // the client saw the end: EventSource stops reconnecting
			return
		}
		s := &sseWriter{w: w, rc: http.NewResponseController(w)}
		h := w.Header()
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Accel-Buffering", "no")
		w.WriteHeader(http.StatusOK)
		_ = s.rc.SetWriteDeadline(time.Time{}) // a stream outlives any server write timeout

		sent := statusEventOf(exec)
		if s.event("status", eventID(first.Revision(), exec.Status), sent) != nil || exec.Status.Terminal() {
			return
		}
		beat := time.NewTicker(a.o.SSEHeartbeat)
		defer beat.Stop()
		drain, _ := ctx.Value(drainKey).(chan struct{})
		for {
			select {
			case e, ok := <-watch.Updates():
				if !ok {
					return
				}
				if e == nil {
					continue
				}
				if e.Operation() != jetstream.KeyValuePut {
					_ = s.event("deleted", eventID(e.Revision(), "DELETED"), map[string]string{"executionId": id, "jobType": def.Name})
					return
				}
				exec, err := decodeExecution(e)
				if err != nil {
					a.log.Warn().Err(err).Str("executionId", id).Msg("events stream: unreadable record")
					continue
				}
				ev := statusEventOf(exec)
				if !ev.same(sent) || exec.Status.Terminal() {
					if s.event("status", eventID(e.Revision(), exec.Status), ev) != nil {
						return
					}
					sent = ev
				}
				if exec.Status.Terminal() {
					return
				}
			case <-beat.C:
				if s.comment("heartbeat") != nil {
					return
				}
			case <-drain:
				return
			case <-ctx.Done():
				return
			}
		}
	}
}

// eventID is the SSE id of an event: the record's KV revision and the
// status it shows, so that a reconnecting client's Last-Event-ID tells
// whether it has seen the end.
func eventID[S ~string](rev uint64, status S) string {
	return strconv.FormatUint(rev, 10) + "-" + string(status)
}

func decodeExecution(e jetstream.KeyValueEntry) (*jobs.Execution, error) {
	var exec jobs.Execution
	if err := json.Unmarshal(e.Value(), &exec); err != nil {
		return nil, fmt.Errorf("execution record %s is not valid JSON: %v", e.Key(), err)
	}
	return &exec, nil
}

// sseWriter writes the text/event-stream format and flushes each message.
type sseWriter struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

func (s *sseWriter) event(name, id string, data any) error {
	b, err := json.Marshal(data)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(s.w, "id: %s\nevent: %s\ndata: %s\n\n", id, name, b); err != nil {
		return err
	}
	return s.rc.Flush()
}

func (s *sseWriter) comment(text string) error {
	if _, err := fmt.Fprintf(s.w, ": %s\n\n", text); err != nil {
		return err
	}
	return s.rc.Flush()
}
