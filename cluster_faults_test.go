package jetjobs_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetjobs/jetjobs"
	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/jetjobstest"
	"github.com/jetjobs/jetjobs/jobs"
)

// On a 3-node R3 cluster under load, the leader of JOBS_STATE, then of
// JOBS_TIMERS, then of JOBS_EVENTS is shut down at once (no lame duck mode)
// and started again: every START the cluster accepted ends COMPLETED with
// exactly one terminal event, none stays live, and JOBS_DLQ is empty.
//
// max-deliver is raised here: how many deliveries a command gets while
// JetStream is unavailable is another part of issue 13 (backoff); this test
// is about what the engine writes, not how often it is asked to.
func TestNodeLossLosesNothing(t *testing.T) {
	t.Parallel()
	c := startCluster(t)
	const job, perPhase = "durable", 30
	var checks atomic.Int32
	cfg := jetjobs.DefaultConfig()
	cfg.NATS.URL = strings.Join(c.urls, ",")
	cfg.NATS.Replicas = 3
	cfg.NATS.AckWait = 10 * time.Second
	cfg.HTTP.Addr = ""
	cfg.Orchestration.CheckInterval = 100 * time.Millisecond
	cfg.Orchestration.MaxCheckInterval = 500 * time.Millisecond
	cfg.Orchestration.TimerReconcileInterval = 5 * time.Second
	reg := jobs.NewRegistry()
	reg.MustRegister(job, &clockJob{after: 300 * time.Millisecond, checks: &checks})
	eng, err := jetjobs.New(cfg, reg, jetjobs.WithLogger(jetjobstest.TestLogger(t, "error")),
		jetjobs.WithReconcileAfter(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer eng.Stop()
	nc, js, err := bus.Connect(bus.ConnConfig{URL: strings.Join(c.urls, ","), Name: "load"})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	client := bus.NewClient(nc, js)
	defer client.Close()
	began := time.Now()
	since := func() string { return time.Since(began).Round(100 * time.Millisecond).String() }

	var accepted []string
	for _, stream := range []string{"KV_JOBS_STATE", bus.StreamTimers, bus.StreamEvents} {
		leader := waitHealthy(ctx, t, js, stream)
		victim := c.index(leader)
		var killedAt time.Time
		for i := range perPhase {
			if i == 5 {
				c.kill(victim)
				killedAt = time.Now()
				t.Logf("%s: killed %s, the leader of %s", since(), leader, stream)
			}
			sctx, scancel := context.WithTimeout(ctx, 3*time.Second)
			id, err := client.Send(sctx, job, jobs.StageStart, &jobs.Request{}, bus.SendOptions{})
			scancel()
			if err == nil {
				accepted = append(accepted, id)
			}
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(time.Until(killedAt.Add(3 * time.Second)))
		c.start(victim)
		t.Logf("%s: restarted %s; %d STARTs accepted so far", since(), leader, len(accepted))
	}
	if len(accepted) < perPhase {
		t.Fatalf("only %d STARTs accepted: the load did not run", len(accepted))
	}

	// Every accepted START ends COMPLETED, with one terminal event.
	pending := map[string]bool{}
	for _, id := range accepted {
		pending[id] = true
	}
	var last string
	for deadline := time.Now().Add(60 * time.Second); len(pending) > 0; time.Sleep(250 * time.Millisecond) {
		for id := range pending {
			exec, _, err := eng.State().Get(ctx, job, id)
			switch {
			case err == nil && exec.Status.Terminal():
				if exec.Status != jobs.StatusCompleted {
					t.Fatalf("%s ended %s (%s), want COMPLETED", id, exec.Status, exec.Error)
				}
				delete(pending, id)
			case err == nil:
				last = fmt.Sprintf("%s %s (created %s ago)", id, exec.Status, time.Since(exec.CreatedAt).Round(time.Second))
			default:
				last = fmt.Sprintf("%s: %v", id, err)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d of %d executions not terminal after 60s, e.g. %s", since(), len(pending), len(accepted), last)
		}
	}
	t.Logf("%s: all %d executions COMPLETED", since(), len(accepted))
	for _, stream := range []string{bus.StreamEvents, bus.StreamDLQ} {
		waitHealthy(ctx, t, js, stream)
	}
	var counts map[string]int
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(250 * time.Millisecond) {
		counts = terminalEvents(ctx, t, js, bus.Subjects{Prefix: cfg.NATS.SubjectPrefix}.Event(job, ">"))
		missing := 0
		for _, id := range accepted {
			if counts[id] == 0 {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			diag := ""
			if st, err := js.Stream(ctx, bus.StreamEvents); err == nil {
				if info, err := st.Info(ctx, jetstream.WithSubjectFilter(">")); err == nil {
					diag = fmt.Sprintf("%+v %v", info.State.Subjects, info.Cluster)
				}
			}
			var flagged int
			for _, id := range accepted {
				if exec, _, err := eng.State().Get(ctx, job, id); err == nil && exec.TerminalEventSent {
					flagged++
				}
			}
			t.Fatalf("%d executions without a terminal event (%d flagged); JOBS_EVENTS %s", missing, flagged, diag)
		}
	}
	for _, id := range accepted {
		if counts[id] != 1 {
			t.Errorf("%s: %d terminal events, want 1", id, counts[id])
		}
	}
	dlq, err := js.Stream(ctx, bus.StreamDLQ)
	if err != nil {
		t.Fatal(err)
	}
	if info, err := dlq.Info(ctx); err != nil || info.State.Msgs != 0 {
		t.Fatalf("JOBS_DLQ: %v, %+v; want empty", err, info)
	}
}

// waitHealthy waits until stream has a leader and two current replicas,
// and returns the leader's name.
func waitHealthy(ctx context.Context, t *testing.T, js jetstream.JetStream, stream string) string {
	t.Helper()
	var last string
	for deadline := time.Now().Add(45 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		ictx, cancel := context.WithTimeout(ctx, 2*time.Second)
		st, err := js.Stream(ictx, stream)
		if err == nil {
			info := st.CachedInfo()
			cl := info.Cluster
			ok := cl != nil && cl.Leader != "" && len(cl.Replicas) == 2
			for _, r := range cl.Replicas {
				ok = ok && r.Current && !r.Offline
			}
			if ok {
				cancel()
				return cl.Leader
			}
			last = fmt.Sprintf("%+v", cl)
		} else {
			last = err.Error()
		}
		cancel()
		if time.Now().After(deadline) {
			t.Fatalf("stream %s not healthy in 45s: %s", stream, last)
		}
	}
}

// terminalEvents counts the terminal events stored per execution id,
// reading JOBS_EVENTS message by message (no consumer to create on a
// cluster that has just lost a server); nil if the stream cannot be read
// now.
func terminalEvents(ctx context.Context, t *testing.T, js jetstream.JetStream, filter string) map[string]int {
	t.Helper()
	st, err := js.Stream(ctx, bus.StreamEvents)
	if err != nil {
		return nil
	}
	info, err := st.Info(ctx)
	if err != nil {
		return nil
	}
	prefix := strings.TrimSuffix(filter, ">")
	counts := map[string]int{}
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && seq > 0; seq++ {
		msg, err := st.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return nil
		}
		if !strings.HasPrefix(msg.Subject, prefix) {
			continue
		}
		typ := msg.Subject[strings.LastIndexByte(msg.Subject, '.')+1:]
		if typ == jobs.EventCompleted || typ == jobs.EventFailed || typ == jobs.EventStopped {
			counts[msg.Header.Get("ce-executionid")]++
		}
	}
	return counts
}
