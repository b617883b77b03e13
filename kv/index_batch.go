package kv

import (
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetjobs/jetjobs/jobs"
)

// indexBatch is the updates read from the watch in one go. A burst
// writes each record several times (STARTED, RUNNING, COMPLETED) within
// milliseconds, and the index only needs the latest of each key: the
// batch is applied newest first, one decode per key.
type indexBatch struct {
	entries []jetstream.KeyValueEntry
	last    map[string]struct{} // keys settled while applying
	puts    []indexPut
}

// indexPut is one decoded record to put, or (del) a key to remove.
type indexPut struct {
	key string
	rec indexRecord
	del bool
}

func (b *indexBatch) add(e jetstream.KeyValueEntry) { b.entries = append(b.entries, e) }

// drain adds the updates already waiting, up to maxBatch; it stops at the
// end-of-initial-values marker (marker) or at the end of the watch
// (closed), which come after the batch.
func (b *indexBatch) drain(ch <-chan jetstream.KeyValueEntry) (marker, closed bool) {
	for len(b.entries) < maxBatch {
		select {
		case e, ok := <-ch:
			switch {
			case !ok:
				return false, true
			case e == nil:
				return true, false
			}
			b.add(e)
		default:
			return false, false
		}
	}
	return false, false
}

// applyBatch applies the batch as if entry by entry: for each key, the
// newest update the index takes (a delete, or a record it can read; one it
// cannot read leaves the one before in place, as applied in turn). Records
// are decoded outside the lock, then applied under one.
func (x *ExecutionIndex) applyBatch(b *indexBatch) {
	if len(b.entries) == 0 {
		return
	}
	clear(b.last)
	b.puts = b.puts[:0]
	for i := len(b.entries) - 1; i >= 0; i-- {
		e := b.entries[i]
		k := e.Key()
		if _, done := b.last[k]; done {
			continue
		}
		p := indexPut{key: k, del: e.Operation() != jetstream.KeyValuePut}
		if !p.del {
			if err := decodeIndexRecord(e.Value(), &p.rec); err != nil || p.rec.JobType == "" ||
				p.rec.ExecutionID == "" {
				continue // not an execution record this engine reads
			}
			if _, ok := statusCode(p.rec.Status); !ok {
				continue
			}
		}
		b.last[k] = struct{}{}
		b.puts = append(b.puts, p)
	}
	clear(b.entries)
	b.entries = b.entries[:0]
	x.mu.Lock()
	changed := false
	for i := range b.puts {
		p := &b.puts[i]
		if p.del {
			changed = x.removeKey(p.key) || changed
			continue
		}
		r := &p.rec
		x.putLocked(r.JobType, jobs.ExecutionSummary{JobType: r.JobType, ExecutionID: r.ExecutionID,
			Status: r.Status, ProgressPercentage: r.ProgressPercentage, CreatedAt: r.CreatedAt,
			UpdatedAt: r.UpdatedAt, Error: r.Error, SagaID: r.SagaID})
		changed = true
	}
	loaded := x.loaded
	x.mu.Unlock()
	clear(b.puts)
	if changed && loaded {
		x.notify()
	}
}
