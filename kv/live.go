package kv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetjobs/jetjobs/jobs"
)

var _ jobs.LiveExecutions = (*StateStore)(nil)

// liveHoldBytes bounds the bytes of live records a Live pass keeps while
// it reads the bucket; past it, a live record is kept by its key and read
// again when its turn comes.
const liveHoldBytes = 4 << 20

// liveList is what a pass found live, in the bucket's order: the keys one
// after another in one buffer (an offset of 8 bytes each, where a string
// per key took 16 and an allocation of 48), and the bytes of the records
// held, by their place in the list.
type liveList struct {
	keys []byte
	ends []int // ends[i]: where key i ends in keys
	held []heldRecord
}

// heldRecord is the bytes of the live record at place at.
type heldRecord struct {
	at  int
	val []byte
}

func (l *liveList) add(key string, val []byte) {
	if val != nil {
		l.held = append(l.held, heldRecord{at: len(l.ends), val: val})
	}
	l.keys = append(l.keys, key...)
	l.ends = append(l.ends, len(l.keys))
}

func (l *liveList) key(i int) string {
	start := 0
	if i > 0 {
		start = l.ends[i-1]
	}
	return string(l.keys[start:l.ends[i]])
}

// Live calls fn for every record of jobType that is not terminal. It reads
// the latest value of every key of the job type once (a KV watch of
// <job>.*, which ends once the current values are delivered): the cost of
// a pass is one read of the job type's records, terminal ones included, so
// it is for a pass every few minutes, not per command. The timer
// reconciler lists by LiveSummary instead (live_summary.go), which reads
// four fields of each record and holds no record nor makes any request
// per record; Live stays for a listing that needs the whole records.
//
// A record is judged by its status alone (decodeIndexRecord, a fraction
// of a full decode), and a live one is decoded in full only just before fn
// sees it. The listing keeps the bytes of the live records up to
// liveHoldBytes and only the keys of the rest, which are read again (one
// Get each, skipped if the record has ended or gone since): measured over
// 30,000 live records, 270 bytes held per record instead of 970 with all
// their bytes kept (and more decoded, as it was), so about 25 MB instead
// of 100 MB with 100,000 executions in flight; the keys kept in one buffer
// instead of a string each (liveList) take about 50 bytes of that per
// record instead of 90. The Gets cost a round trip
// per live record past the budget, once per pass (every five minutes).
func (s *StateStore) Live(ctx context.Context, jobType string, fn func(*jobs.Execution) error) error {
	return s.live(ctx, jobType, liveHoldBytes, fn)
}

// live is Live keeping at most hold bytes of live records.
func (s *StateStore) live(ctx context.Context, jobType string, hold int, fn func(*jobs.Execution) error) error {
	w, err := s.kv.Watch(ctx, jobType+".*", jetstream.IgnoreDeletes())
	if err != nil {
		return fmt.Errorf("kv: list %s: %w", jobType, translate(err))
	}
	defer func() { _ = w.Stop() }()
	// The live ones are gathered first and fn called after, so a slow fn
	// does not hold the watch's subscription back.
	var (
		live liveList
		head indexRecord
		held int
	)
read:
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case entry, ok := <-w.Updates():
			if !ok || entry == nil {
				break read // every current value seen
			}
			if err := decodeIndexRecord(entry.Value(), &head); err != nil || head.Status.Terminal() {
				continue // not a record this engine can read, or ended
			}
			var val []byte
			if v := entry.Value(); held+len(v) <= hold {
				val, held = bytes.Clone(v), held+len(v)
			}
			live.add(entry.Key(), val)
		}
	}
	_ = w.Stop()
	for i := range live.ends {
		var b []byte
		if len(live.held) > 0 && live.held[0].at == i {
			b = live.held[0].val
			live.held[0] = heldRecord{} // let the pass's copies go as it goes
			live.held = live.held[1:]
		} else {
			key := live.key(i)
			entry, err := s.kv.Get(ctx, key)
			if errors.Is(err, jetstream.ErrKeyNotFound) {
				continue // gone since it was listed
			}
			if err != nil {
				return fmt.Errorf("kv: list %s: read %s: %w", jobType, key, translate(err))
			}
			b = entry.Value()
		}
		var e jobs.Execution
		if err := json.Unmarshal(b, &e); err != nil || e.Status.Terminal() {
			continue // not a record this engine can read, or ended since it was listed
		}
		if err := fn(&e); err != nil {
			return err
		}
	}
	return nil
}
