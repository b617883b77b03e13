package kv

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetjobs/jetjobs/jobs"
)

var _ jobs.LiveExecutions = (*StateStore)(nil)

// Live calls fn for every record of jobType that is not terminal. It reads
// the latest value of every key of the job type once (a KV watch of
// <job>.*, which ends once the current values are delivered): the cost of
// a pass is one read of the job type's records, terminal ones included, so
// the timer reconciler runs it every few minutes, not per command.
//
// A record is judged by its status alone (decodeIndexRecord, a fraction
// of a full decode), and only a live one is kept, as its bytes: it is
// decoded in full just before fn sees it, so a pass holds a compact copy
// of each live record rather than a decoded one (with 100,000 in flight,
// tens of MB fewer while the pass runs).
func (s *StateStore) Live(ctx context.Context, jobType string, fn func(*jobs.Execution) error) error {
	w, err := s.kv.Watch(ctx, jobType+".*", jetstream.IgnoreDeletes())
	if err != nil {
		return fmt.Errorf("kv: list %s: %w", jobType, translate(err))
	}
	defer func() { _ = w.Stop() }()
	// The live ones are gathered first and fn called after, so a slow fn
	// does not hold the watch's subscription back.
	var live [][]byte
	var head indexRecord
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
			live = append(live, bytes.Clone(entry.Value()))
		}
	}
	_ = w.Stop()
	for i, b := range live {
		live[i] = nil // let the pass's copies go as it goes
		var e jobs.Execution
		if err := json.Unmarshal(b, &e); err != nil {
			continue // not a record this engine can read
		}
		if err := fn(&e); err != nil {
			return err
		}
	}
	return nil
}
