package httpadapter

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetjobs/jetjobs/bus"
)

// storageFullHeadroom is how close to its max-bytes a stream that refuses
// new messages counts as full: 1% of the bound, but at least a quarter of
// it up to 64 KiB, so that a tiny bound is flagged before a record no
// longer fits rather than after.
func storageFullHeadroom(maxBytes int64) int64 {
	return max(maxBytes/100, min(64<<10, maxBytes/4))
}

// refusesWhenFull reports a stream that refuses new messages rather than
// drop old ones: discard-new, and JOBS_SCHEDULES, which the server allows
// only discard-old but where the engine refuses a schedule that would not
// fit (bus.Schedules, docs/schedules.md).
func refusesWhenFull(c jetstream.StreamConfig) bool {
	return c.Discard == jetstream.DiscardNew || c.Name == bus.StreamSchedules
}

// storageHealth reports the engine's streams and buckets (Deps.Streams)
// against their bounds, and the account's storage against its limit: DOWN,
// naming them, while one that refuses new messages when full (discard new:
// commands, timers, dead letters, state, sagas, work; and schedules) is full, or the account
// is, since the engine then answers 507 to new work (docs/operations.md,
// "Retention and limits"). Streams that drop their oldest messages (events,
// audit) are listed but never full.
func (a *adapter) storageHealth(ctx context.Context) Component {
	if a.d.JS == nil || len(a.d.Streams) == 0 {
		return up(map[string]any{"streams": map[string]any{}})
	}
	streams := map[string]any{}
	var full []string
	lister := a.d.JS.ListStreams(ctx)
	for info := range lister.Info() {
		if !slices.Contains(a.d.Streams, info.Config.Name) {
			continue
		}
		used, bound := int64(info.State.Bytes), info.Config.MaxBytes
		d := map[string]any{"bytes": used, "messages": info.State.Msgs}
		if bound > 0 {
			d["maxBytes"] = bound
			d["usedPercent"] = float64(used*1000/bound) / 10
			if refusesWhenFull(info.Config) && bound-used < storageFullHeadroom(bound) {
				full = append(full, info.Config.Name)
				d["full"] = true
			}
		}
		streams[info.Config.Name] = d
	}
	if err := lister.Err(); err != nil {
		return down("JetStream does not list its streams: " + err.Error())
	}
	details := map[string]any{"streams": streams}
	if acc, err := a.d.JS.AccountInfo(ctx); err == nil && acc.Limits.MaxStore > 0 {
		details["accountBytes"], details["accountMaxBytes"] = acc.Store, acc.Limits.MaxStore
		if acc.Limits.MaxStore-int64(acc.Store) < storageFullHeadroom(acc.Limits.MaxStore) {
			full = append(full, "the account's JetStream storage")
		}
	}
	if len(full) == 0 {
		return up(details)
	}
	slices.Sort(full)
	c := down(fmt.Sprintf("storage full: %s; new work is refused (507) until space is freed or nats.limits raised",
		strings.Join(full, ", ")))
	for k, v := range details {
		c.Details[k] = v
	}
	return c
}
