package chaos

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/kv"
	"github.com/jetjobs/jetjobs/saga"
)

// faultStreams are the streams a node-kill or step-down aims at (a KV
// bucket's stream is KV_<bucket>); metaTarget stands for the meta leader.
var faultStreams = []string{bus.StreamCommands, bus.StreamEvents, bus.StreamTimers, "KV_" + kv.StateBucket,
	saga.StreamCommands, saga.StreamTimers, "KV_" + saga.Bucket}

const metaTarget = "meta"

// healTimeout bounds the wait for the cluster or an instance to come back.
const healTimeout = 2 * time.Minute

// faultLoop makes a random fault every ~Every until ctx ends; a fault
// under way is finished (its node or instance back) before it returns.
func (r *runner) faultLoop(ctx, outer context.Context) {
	for {
		pause := r.cfg.Every/2 + time.Duration(r.rng.Int64N(int64(r.cfg.Every)+1))
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
		kind := r.cfg.Faults[r.rng.IntN(len(r.cfg.Faults))]
		at := time.Now()
		var target, how string
		var err error
		switch kind {
		case FaultNodeKill:
			target, how, err = r.nodeKill(context.WithoutCancel(ctx))
		case FaultStepDown:
			target, err = r.stepDown(context.WithoutCancel(ctx))
		case FaultInstanceKill:
			target, how, err = r.instanceKill(context.WithoutCancel(ctx))
		}
		r.mu.Lock()
		r.faults[kind]++
		r.mu.Unlock()
		if err != nil {
			r.say("%s  %-13s  %-28s  error: %v", r.since(at), kind, target, err)
			continue
		}
		r.say("%s  %-13s  %-28s  %srecovered in %s", r.since(at), kind, target, how, r.recovery(outer, ctx, at))
	}
}

// nodeKill kills the leader of a random stream (or the meta leader) and
// starts it again after Downtime.
func (r *runner) nodeKill(ctx context.Context) (target, how string, err error) {
	what := metaTarget
	if i := r.rng.IntN(len(faultStreams) + 1); i < len(faultStreams) {
		what = faultStreams[i]
	}
	var leader string
	if what == metaTarget {
		leader, err = r.cl.MetaLeader()
	} else {
		leader, err = r.cl.StreamLeader(what)
	}
	if err != nil {
		return what, "", err
	}
	target = fmt.Sprintf("%s (leader of %s)", leader, what)
	i := r.cl.Index(leader)
	r.cl.Kill(i)
	time.Sleep(r.cfg.Downtime)
	if err := r.cl.Restart(i); err != nil {
		return target, "", err
	}
	hctx, cancel := context.WithTimeout(ctx, healTimeout)
	defer cancel()
	killed := time.Now().Add(-r.cfg.Downtime)
	if err := r.cl.WaitHealthy(hctx); err != nil {
		return target, "", err
	}
	return target, fmt.Sprintf("down %s, cluster healthy %s after the kill, ", r.cfg.Downtime,
		time.Since(killed).Round(100*time.Millisecond)), nil
}

// stepDown makes a random stream's leader step down.
func (r *runner) stepDown(ctx context.Context) (string, error) {
	stream := faultStreams[r.rng.IntN(len(faultStreams))]
	if r.cl != nil {
		leader, err := r.cl.StepDown(stream)
		return fmt.Sprintf("%s (was %s)", stream, leader), err
	}
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	msg, err := r.nc.RequestWithContext(rctx, "$JS.API.STREAM.LEADER.STEPDOWN."+stream, nil)
	if err == nil && len(msg.Data) > 0 && !bytesContain(msg.Data, `"success":true`) {
		err = errors.New(string(msg.Data))
	}
	return stream, err
}

func bytesContain(b []byte, s string) bool { return strings.Contains(string(b), s) }

// instanceKill kills a random running instance and starts it again after
// Downtime.
func (r *runner) instanceKill(ctx context.Context) (target, how string, err error) {
	i := r.rng.IntN(len(r.inst))
	in := r.killInstance(i)
	target = fmt.Sprintf("instance %d (life %d)", i+1, in.life)
	time.Sleep(r.cfg.Downtime)
	t := time.Now()
	if err := r.startInstance(ctx, i); err != nil {
		return target, "", err
	}
	return target, fmt.Sprintf("down %s, restarted in %s, ", r.cfg.Downtime, time.Since(t).Round(100*time.Millisecond)), nil
}

// recovery is how long after at the first sync job accepted after at
// completed: work flows again. "-" if none did within healTimeout, or the
// load (runCtx) ended before one was accepted.
func (r *runner) recovery(ctx, runCtx context.Context, at time.Time) string {
	deadline := time.Now().Add(healTimeout)
	for ctx.Err() == nil && time.Now().Before(deadline) {
		r.mu.Lock()
		var first time.Time
		any := false
		for k := len(r.sent) - 1; k >= 0 && r.sent[k].at.After(at); k-- {
			if s := r.sent[k]; s.kind == kindSync {
				any = true
				if d, ok := r.doneAt[s.id]; ok && (first.IsZero() || d.Before(first)) {
					first = d
				}
			}
		}
		r.mu.Unlock()
		if !any && runCtx.Err() != nil {
			break
		}
		if !first.IsZero() {
			return first.Sub(at).Round(10 * time.Millisecond).String()
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
	return "- (no new sync job completed)"
}

// heal brings every node and instance back after the run.
func (r *runner) heal(ctx context.Context) error {
	hctx, cancel := context.WithTimeout(ctx, healTimeout)
	defer cancel()
	if r.cl != nil {
		for i := range r.cl.Size() {
			if err := r.cl.Restart(i); err != nil {
				return err
			}
		}
		if err := r.cl.WaitHealthy(hctx); err != nil {
			return err
		}
	}
	for i := range r.inst {
		r.mu.Lock()
		down := r.inst[i].eng == nil
		r.mu.Unlock()
		if down {
			if err := r.startInstance(hctx, i); err != nil {
				return err
			}
		}
	}
	return nil
}
