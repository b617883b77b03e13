package bus

import (
	"sync"
	"sync/atomic"
)

// jobNames keeps, per job type and event type, the strings every event of
// theirs carries (its subject P.evt.<job>.<TYPE> and its source
// /<topic>/<job>), so that publishing an event does not build them again.
// Reads take no lock: the table is replaced, never changed, on a miss.
type jobNames struct {
	mu    sync.Mutex
	table atomic.Pointer[map[string]map[string]eventNames] // job type → event type → names
}

type eventNames struct{ subject, source string }

// The table's bounds: names beyond them (never in practice: they are the
// registered jobs and the event types of docs/wire.md) are built per event.
const (
	maxCachedJobTypes   = 4096
	maxCachedEventTypes = 64
)

func (n *jobNames) of(job, eventType string, p *EventPublisher) eventNames {
	if t := n.table.Load(); t != nil {
		if e, ok := (*t)[job][eventType]; ok {
			return e
		}
	}
	e := eventNames{subject: p.subjects.Event(job, eventType), source: "/" + p.topic + "/" + job}
	n.mu.Lock()
	defer n.mu.Unlock()
	old := map[string]map[string]eventNames{}
	if t := n.table.Load(); t != nil {
		old = *t
	}
	if len(old) >= maxCachedJobTypes || len(old[job]) >= maxCachedEventTypes {
		return e
	}
	next := make(map[string]map[string]eventNames, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	types := make(map[string]eventNames, len(old[job])+1)
	for k, v := range old[job] {
		types[k] = v
	}
	types[eventType] = e
	next[job] = types
	n.table.Store(&next)
	return e
}
