package console

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/jetjobs/jetjobs/httpadapter"
	"github.com/jetjobs/jetjobs/httpadapter/auth"
	"github.com/jetjobs/jetjobs/jobs"
)

// maxLive bounds the executions one live stream follows (a page's worth).
const maxLive = 100

// live streams the listing lines of the executions named by its e
// parameters (<job>/<id>) as Server-Sent Events: one "exec" event now and
// on every change the index sees, until all are terminal. One stream
// serves a whole page, where the adapter's per-execution streams would
// take a connection each.
func (c *Console) live(w http.ResponseWriter, r *http.Request) {
	if c.o.Index == nil {
		writeErr(w, http.StatusServiceUnavailable, "the execution index is off (console.enabled: false)")
		return
	}
	type key struct{ job, id string }
	var keys []key
	for _, e := range r.URL.Query()["e"] {
		job, id, ok := strings.Cut(e, "/")
		if !ok || len(keys) >= maxLive {
			continue
		}
		if err := auth.Check(r.Context(), auth.Read, job); err != nil {
			writeErr(w, http.StatusForbidden, err.Error())
			return
		}
		keys = append(keys, key{job, id})
	}
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	_ = rc.SetWriteDeadline(time.Time{})
	sent := map[key]jobs.ExecutionSummary{}
	beat := time.NewTicker(15 * time.Second)
	defer beat.Stop()
	drain := httpadapter.Draining(r.Context())
	for {
		ch := c.o.Index.Changed()
		live := 0
		for _, k := range keys {
			s, ok := c.o.Index.Lookup(k.job, k.id)
			if !ok {
				continue
			}
			if !s.Status.Terminal() {
				live++
			}
			if prev, seen := sent[k]; seen && prev.Status == s.Status && prev.ProgressPercentage == s.ProgressPercentage {
				continue
			}
			sent[k] = s
			b, _ := json.Marshal(s)
			if _, err := fmt.Fprintf(w, "event: exec\ndata: %s\n\n", b); err != nil {
				return
			}
		}
		if rc.Flush() != nil {
			return
		}
		if live == 0 && len(sent) == len(keys) {
			_, _ = fmt.Fprint(w, "event: done\ndata: {}\n\n")
			_ = rc.Flush()
			return
		}
		select {
		case <-ch:
			// Let a burst of writes settle into one round of events.
			select {
			case <-time.After(100 * time.Millisecond):
			case <-r.Context().Done():
				return
			}
		case <-beat.C:
			if _, err := fmt.Fprint(w, ": heartbeat\n\n"); err != nil || rc.Flush() != nil {
				return
			}
		case <-drain:
			return
		case <-r.Context().Done():
			return
		}
	}
}
