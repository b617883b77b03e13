package kv

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetjobs/jetjobs/jobs"
)

var _ jobs.LiveSummaries = (*StateStore)(nil)

// summaryList is what a LiveSummary pass found live, in the bucket's
// order: the execution ids one after another in one buffer and, per
// execution, where its id ends and the rest of its summary. About 90
// bytes per live execution and no allocation kept per execution (a string
// per id would be one more, and 16 bytes).
type summaryList struct {
	ids  []byte
	rows []summaryRow
}

type summaryRow struct {
	end      int // where the id ends in ids
	status   jobs.Status
	pending  bool
	deadline time.Time
}

// LiveSummary calls fn for every record of jobType that is not terminal,
// as Live does, with only what the timer reconciler reads of it
// (jobs.LiveSummary). It reads the latest value of every key of the job
// type once (a KV watch of <job>.*, which ends once the current values
// are delivered) and reads from each only its id, status, claim flag and
// deadline (decodeLiveRecord); nothing is read again, so a summary may be
// stale by the time fn sees it: the reconciler reads the record again
// before it acts. Unlike Live, it holds no record's bytes and makes no
// request per record.
func (s *StateStore) LiveSummary(ctx context.Context, jobType string, fn func(jobs.LiveSummary) error) error {
	w, err := s.kv.Watch(ctx, jobType+".*", jetstream.IgnoreDeletes())
	if err != nil {
		return fmt.Errorf("kv: list %s: %w", jobType, translate(err))
	}
	defer func() { _ = w.Stop() }()
	// The live ones are gathered first and fn called after, so a slow fn
	// does not hold the watch's subscription back.
	var (
		live summaryList
		rec  liveRecord
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
			if err := decodeLiveRecord(entry.Value(), &rec); err != nil || rec.Status.Terminal() {
				continue // not a record this engine can read, or ended
			}
			live.ids = append(live.ids, rec.ExecutionID...)
			live.rows = append(live.rows, summaryRow{end: len(live.ids), status: rec.Status,
				pending: rec.Pending, deadline: rec.Deadline})
		}
	}
	_ = w.Stop()
	start := 0
	for _, row := range live.rows {
		sum := jobs.LiveSummary{ExecutionID: string(live.ids[start:row.end]), Status: row.status,
			Pending: row.pending, Deadline: row.deadline}
		start = row.end
		if err := fn(sum); err != nil {
			return err
		}
	}
	return nil
}
