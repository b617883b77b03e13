package saga

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/trace"

	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/jetjobstest"
	"github.com/jetjobs/jetjobs/jobs"
)

func undo(job string) *Compensation {
	return &Compensation{Job: job, Retry: Retry{Backoff: 50 * time.Millisecond}}
}

func fast(n int) Retry { return Retry{MaxAttempts: n, Backoff: 50 * time.Millisecond, Jitter: 0.01} }

// testDefs are the sagas of TestSagas, one coordinator running them all.
func testDefs() []*Definition {
	failing := func(name, job string, comp *Compensation) Step {
		return Step{Name: name, Job: job, Parameters: map[string]any{"fail": "${input.fail." + name + "}", "value": name}, Compensate: comp}
	}
	return []*Definition{
		{Name: "happy", Steps: []Step{
			{Name: "a", Job: "work", Parameters: map[string]any{"value": "${input.x}"}, Compensate: undo("undo")},
			{Name: "b", Job: "work", Parameters: map[string]any{"value": "${steps.a.result.value}-b", "after": "${steps.a.executionId}"},
				Compensate: undo("undo")},
			{Name: "c", Job: "quick", Params: func(s Scope) (map[string]any, error) {
				return map[string]any{"value": fmt.Sprint(s.Steps["b"].Result["value"], "-c")}, nil
			}},
		}},
		{Name: "fail", Steps: []Step{
			failing("a", "work", undo("undo")), failing("b", "work", undo("undo")),
			failing("c", "quick", undo("undo-async")), failing("d", "work", undo("undo")),
		}},
		{Name: "compfail", Steps: []Step{
			{Name: "a", Job: "work", Compensate: &Compensation{Job: "undo", Retry: fast(3),
				Parameters: map[string]any{"failTimes": 2, "key": "${sagaId}-undo-a"}}},
			{Name: "b", Job: "work", Parameters: map[string]any{"fail": true}},
		}},
		{Name: "resume", Steps: []Step{
			{Name: "a", Job: "work", Compensate: undo("undo")},
			{Name: "b", Job: "work", Compensate: &Compensation{Job: "undo", Retry: fast(2), Critical: true,
				Parameters: map[string]any{"failTimes": 2, "key": "${sagaId}-undo-b"}}},
			{Name: "c", Job: "work", Parameters: map[string]any{"fail": true}},
		}},
		{Name: "parallel", Steps: []Step{
			{Name: "a", Job: "work"},
			{Name: "b", Job: "work", DependsOn: []string{"a"}, Parameters: map[string]any{"waitFor": "${sagaId}-c", "value": "B"}},
			{Name: "c", Job: "work", DependsOn: []string{"a"}, Parameters: map[string]any{"waitFor": "${sagaId}-b", "value": "C"}},
			{Name: "d", Job: "quick", DependsOn: []string{"b", "c"},
				Parameters: map[string]any{"value": "${steps.b.result.value}+${steps.c.result.value}"}},
		}},
		{Name: "timeout", Steps: []Step{
			{Name: "a", Job: "work", Compensate: undo("undo")},
			{Name: "b", Job: "work", Parameters: map[string]any{"never": true}, Timeout: 300 * time.Millisecond, Compensate: undo("undo")},
		}},
		{Name: "retry", Steps: []Step{
			{Name: "a", Job: "work", Retry: fast(2), Parameters: map[string]any{"failTimes": 1, "key": "${sagaId}-a", "value": 7}},
		}},
		{Name: "cancel", Steps: []Step{
			{Name: "a", Job: "work", Compensate: undo("undo")},
			{Name: "b", Job: "work", Parameters: map[string]any{"never": true}, Compensate: undo("undo")},
		}},
	}
}

// TestSagas runs the saga scenarios against one engine and one coordinator
// on an embedded JetStream server.
func TestSagas(t *testing.T) {
	t.Parallel()
	h, rec := harness(t)
	c := coordinator(t, h, nil, testDefs()...)

	// Happy path: parameters from input and earlier results (templates and
	// Go), async and sync steps, events in order, sagaid and trace context
	// on every command.
	t.Run("happy path", func(t *testing.T) {
		t.Parallel()
		tid, _ := trace.TraceIDFromHex("0af7651916cd43dd8448eb211c80319c")
		sid, _ := trace.SpanIDFromHex("b7ad6b7169203331")
		ctx := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
			TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled, Remote: true}))
		ctx, cancel := context.WithTimeout(ctx, wait)
		defer cancel()
		commands := watchCommands(t, h, "work", "start")
		in, created, err := c.StartSaga(ctx, "happy", StartRequest{SagaID: "h1", Input: map[string]any{"x": "hello"}})
		if err != nil || !created || in.Status != StatusRunning {
			t.Fatalf("start: created=%v err=%v %s", created, err, dump(in))
		}
		in = waitStatus(t, h, "happy", "h1", StatusCompleted)
		if v := step(in, "c").Run.Result["value"]; v != "hello-b-c" {
			t.Fatalf("c result %v, want hello-b-c: %s", v, dump(in))
		}
		if step(in, "a").Comp.Status != RunSkipped || in.StartedBy == "" {
			t.Fatalf("finished instance: %s", dump(in))
		}
		checkEvents(t, sagaEvents(t, h, "happy", "h1", EventCompleted), EventStarted,
			EventStepCompleted+":a", EventStepCompleted+":b", EventStepCompleted+":c", EventCompleted)
		for _, id := range []string{"h1-a", "h1-b", "h1-c"} {
			if n := rec.count(id); n != 1 {
				t.Fatalf("%s ran %d times", id, n)
			}
		}
		if exec := h.Execution(t, "work", "h1-b"); exec.SagaID != "h1" || exec.Parameters["after"] != "h1-a" {
			t.Fatalf("execution h1-b: %+v", exec)
		}
		hdr := commands("h1-a")
		if hdr.Get("ce-sagaid") != "h1" || !strings.Contains(hdr.Get("ce-traceparent"), tid.String()) {
			t.Fatalf("START of h1-a lacks sagaid or trace: %v", hdr)
		}
		// A second start with the same id is the same instance.
		again, created, err := c.StartSaga(ctx, "happy", StartRequest{SagaID: "h1"})
		if err != nil || created || again.Status != StatusCompleted {
			t.Fatalf("second start: created=%v err=%v status=%s", created, err, again.Status)
		}
	})

	// A failure at each step: the completed steps are compensated in
	// reverse completion order; the failed step itself is not.
	t.Run("failure at each step", func(t *testing.T) {
		t.Parallel()
		cases := map[string][]string{"a": nil, "b": {"a-c"}, "c": {"b-c", "a-c"}, "d": {"c-c", "b-c", "a-c"}}
		for at := range cases {
			start(t, c, "fail", "f-"+at, map[string]any{"fail": map[string]any{at: true}})
		}
		for at, want := range cases {
			id := "f-" + at
			in := waitStatus(t, h, "fail", id, StatusCompensated)
			var comps []string
			for _, e := range rec.ordered(id + "-") {
				if strings.HasSuffix(e, "-c") {
					comps = append(comps, e)
				}
			}
			if !slices.Equal(comps, want) {
				t.Fatalf("failure at %s: compensations %v, want %v", at, comps, want)
			}
			if in.Failed != at || step(in, at).Run.Status != RunFailed || step(in, at).Comp.Status != RunSkipped {
				t.Fatalf("failure at %s: %s", at, dump(in))
			}
			evs := []string{EventStarted}
			for _, s := range []string{"a", "b", "c", "d"}[:strings.Index("abcd", at)] {
				evs = append(evs, EventStepCompleted+":"+s)
			}
			checkEvents(t, sagaEvents(t, h, "fail", id, EventCompensated), append(evs, EventCompensating, EventCompensated)...)
		}
	})

	t.Run("compensation fails twice then succeeds", func(t *testing.T) {
		t.Parallel()
		start(t, c, "compfail", "cf1", nil)
		in := waitStatus(t, h, "compfail", "cf1", StatusCompensated)
		if comp := step(in, "a").Comp; comp.Status != RunCompleted || comp.Attempt != 3 || comp.ExecutionID != "cf1-a-c3" {
			t.Fatalf("compensation: %s", dump(in))
		}
		if got := rec.ordered("cf1-"); !slices.Equal(got, []string{"a", "b", "a-c", "a-c2", "a-c3"}) {
			t.Fatalf("runs %v", got)
		}
	})

	// An exhausted critical compensation leaves the saga FAILED, holding
	// back the ones after it; the operator resumes it.
	t.Run("exhausted compensation then resume", func(t *testing.T) {
		t.Parallel()
		start(t, c, "resume", "rs1", nil)
		in := waitStatus(t, h, "resume", "rs1", StatusFailed)
		if b, a := step(in, "b").Comp, step(in, "a").Comp; b.Status != RunFailed || b.Attempt != 2 || a.Status != RunPending ||
			!in.Halted || !strings.Contains(in.CompError, "compensation of step b failed") {
			t.Fatalf("failed saga: %s", dump(in))
		}
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		if err := c.Resume(ctx, "resume", "rs1"); err != nil {
			t.Fatal(err)
		}
		waitStatus(t, h, "resume", "rs1", StatusCompensated)
		if got := rec.ordered("rs1-"); !slices.Equal(got, []string{"a", "b", "c", "b-c", "b-c2", "b-c3", "a-c"}) {
			t.Fatalf("runs %v", got)
		}
		checkEvents(t, sagaEvents(t, h, "resume", "rs1", EventCompensated), EventStarted, EventStepCompleted+":a",
			EventStepCompleted+":b", EventCompensating, EventFailed, EventCompensating, EventCompensated)
		if err := c.Resume(ctx, "resume", "rs1"); err == nil {
			t.Fatal("resume of a COMPENSATED saga succeeded")
		}
	})

	// b and c each complete only once the other has started: they must run
	// at the same time. d joins them.
	t.Run("parallel branch", func(t *testing.T) {
		t.Parallel()
		start(t, c, "parallel", "p1", nil)
		in := waitStatus(t, h, "parallel", "p1", StatusCompleted)
		if v := step(in, "d").Run.Result["value"]; v != "B+C" {
			t.Fatalf("d result %v: %s", v, dump(in))
		}
		evs := types(sagaEvents(t, h, "parallel", "p1", EventCompleted))
		if len(evs) != 6 || evs[1] != EventStepCompleted+":a" || evs[4] != EventStepCompleted+":d" || evs[5] != EventCompleted {
			t.Fatalf("events %v", evs)
		}
	})

	t.Run("step timeout", func(t *testing.T) {
		t.Parallel()
		start(t, c, "timeout", "t1", nil)
		in := waitStatus(t, h, "timeout", "t1", StatusCompensated)
		b := step(in, "b")
		if b.Run.Status != RunFailed || !strings.Contains(b.Run.Error, "timed out after 300ms") || b.Comp.Status != RunSkipped {
			t.Fatalf("timed-out step: %s", dump(in))
		}
		rec.mu.Lock()
		stops := rec.stops["t1-b"]
		rec.mu.Unlock()
		if stops != 1 {
			t.Fatalf("the timed-out job was stopped %d times, want 1", stops)
		}
		if got := rec.ordered("t1-"); !slices.Equal(got, []string{"a", "b", "a-c"}) {
			t.Fatalf("runs %v", got)
		}
	})

	t.Run("step retry", func(t *testing.T) {
		t.Parallel()
		start(t, c, "retry", "r1", nil)
		in := waitStatus(t, h, "retry", "r1", StatusCompleted)
		if a := step(in, "a").Run; a.Attempt != 2 || a.ExecutionID != "r1-a-r2" || a.Result["value"] != float64(7) {
			t.Fatalf("retried step: %s", dump(in))
		}
	})

	t.Run("cancel", func(t *testing.T) {
		t.Parallel()
		start(t, c, "cancel", "x1", nil)
		waitFor(t, h, "cancel", "x1", StatusRunning, func(in *Instance) bool { return step(in, "b").Run.Dispatched })
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		if err := c.Cancel(ctx, "cancel", "x1", "changed my mind"); err != nil {
			t.Fatal(err)
		}
		in := waitStatus(t, h, "cancel", "x1", StatusCancelled)
		if step(in, "a").Comp.Status != RunCompleted || step(in, "b").Run.Status != RunFailed || in.Error != "cancelled: changed my mind" {
			t.Fatalf("cancelled saga: %s", dump(in))
		}
	})

	// Over REST the reason may come as a JSON body, as in a SAGA_CANCEL command.
	t.Run("cancel over REST with the reason in the body", func(t *testing.T) {
		t.Parallel()
		start(t, c, "cancel", "x2", nil)
		waitFor(t, h, "cancel", "x2", StatusRunning, func(in *Instance) bool { return step(in, "b").Run.Dispatched })
		if code, body := serve(t, Routes(c), "POST", "/cancel/x2/cancel", `{"reason":"said in the body"}`); code != 202 {
			t.Fatalf("cancel: %d %v", code, body)
		}
		if in := waitStatus(t, h, "cancel", "x2", StatusCancelled); in.Error != "cancelled: said in the body" {
			t.Fatalf("cancelled saga: %s", dump(in))
		}
	})

	// Steps' execution ids derive from the saga id, so one id cannot serve
	// two sagas (they could share jobs and so executions).
	t.Run("saga ids are unique across sagas", func(t *testing.T) {
		t.Parallel()
		start(t, c, "retry", "shared", nil)
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		if _, _, err := c.StartSaga(ctx, "happy", StartRequest{SagaID: "shared"}); err == nil ||
			!strings.Contains(err.Error(), `already used by saga "retry"`) {
			t.Fatalf("second saga with the same id: %v", err)
		}
		resp, err := NewClient(h.JS, ClientOptions{Prefix: h.Subjects.Prefix}).Request(ctx, "happy", "start", CommandData{SagaID: "shared"})
		if err != nil || resp.Success || resp.Code != "conflict" {
			t.Fatalf("start command with a taken id: %+v %v", resp, err)
		}
		waitStatus(t, h, "retry", "shared", StatusCompleted)
	})

	// Any NATS client can start a saga with a CloudEvents command.
	t.Run("start by command", func(t *testing.T) {
		t.Parallel()
		cl := NewClient(h.JS, ClientOptions{Prefix: h.Subjects.Prefix})
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		resp, err := cl.Request(ctx, "happy", "start", CommandData{SagaID: "cmd1", Input: map[string]any{"x": "c"}})
		if err != nil || !resp.Success || resp.SagaID != "cmd1" {
			t.Fatalf("start command: %+v %v", resp, err)
		}
		waitStatus(t, h, "happy", "cmd1", StatusCompleted)
		resp, err = cl.Request(ctx, "nope", "start", CommandData{})
		if err != nil || resp.Success || resp.Code != "not_found" {
			t.Fatalf("unknown saga: %+v %v", resp, err)
		}
		resp, err = cl.Request(ctx, "happy", "resume", CommandData{SagaID: "cmd1"})
		if err != nil || resp.Success || resp.Code != "conflict" {
			t.Fatalf("resume of a completed saga: %+v %v", resp, err)
		}
		// Data with more after the object is refused, not half read.
		inbox := nats.NewInbox()
		sub, err := h.Conn.SubscribeSync(inbox)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = sub.Unsubscribe() }()
		hdr := nats.Header{}
		for k, v := range map[string]string{"ce-specversion": "1.0", "ce-id": "raw-1", "ce-source": "/test",
			"ce-type": "SAGA_START", "ce-replyto": inbox, "Content-Type": "application/json"} {
			hdr.Set(k, v)
		}
		if _, err := h.JS.PublishMsg(ctx, &nats.Msg{Subject: h.Subjects.Prefix + ".sagacmd.happy.start", Header: hdr,
			Data: []byte(`{"sagaId":"cmd2"} {"sagaId":"cmd3"}`)}); err != nil {
			t.Fatal(err)
		}
		m, err := sub.NextMsgWithContext(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ev, err := bus.Decode(m.Header, m.Data)
		if err != nil {
			t.Fatal(err)
		}
		var bad Response
		if err := json.Unmarshal(ev.Data(), &bad); err != nil || bad.Success || bad.Code != "invalid_argument" ||
			!strings.Contains(bad.Error, "unexpected data after the JSON value") {
			t.Fatalf("command with data after the object: %+v %v", bad, err)
		}
		// A saga id in the data and another in the sagaid extension: which one was meant?
		hdr.Set("ce-id", "raw-2")
		hdr.Set("ce-sagaid", "cmd4")
		if _, err := h.JS.PublishMsg(ctx, &nats.Msg{Subject: h.Subjects.Prefix + ".sagacmd.happy.start", Header: hdr,
			Data: []byte(`{"sagaId":"cmd5"}`)}); err != nil {
			t.Fatal(err)
		}
		if m, err = sub.NextMsgWithContext(ctx); err != nil {
			t.Fatal(err)
		}
		if ev, err = bus.Decode(m.Header, m.Data); err != nil {
			t.Fatal(err)
		}
		bad = Response{}
		if err := json.Unmarshal(ev.Data(), &bad); err != nil || bad.Success || bad.Code != "invalid_argument" ||
			!strings.Contains(bad.Error, `sagaId "cmd5" in data and sagaid extension "cmd4" differ`) {
			t.Fatalf("command with two saga ids: %+v %v", bad, err)
		}
	})
}

// watchCommands listens to the commands sent on a job's stage subject (a
// plain subscription: JOBS_COMMANDS is a work queue, a handled command is
// gone from it) and returns a lookup of the one sent for an execution.
func watchCommands(t *testing.T, h *jetjobstest.Harness, job, stage string) func(executionID string) nats.Header {
	t.Helper()
	sub, err := h.Conn.SubscribeSync(h.Subjects.Command(job, stage))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	return func(executionID string) nats.Header {
		t.Helper()
		for {
			msg, err := sub.NextMsg(wait)
			if err != nil {
				t.Fatalf("no %s %s command for %s", job, stage, executionID)
			}
			if msg.Header.Get("ce-executionid") == executionID {
				return msg.Header
			}
		}
	}
}

// A start that nobody answers in time says which saga id it sent, and a
// coordinator that comes later starts that very saga.
func TestUnansweredStartNamesItsSaga(t *testing.T) {
	t.Parallel()
	h, _ := harness(t)
	c := coordinator(t, h, nil, testDefs()...)
	c.Stop() // the command stream stays; nobody consumes it
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	_, err := NewClient(h.JS, ClientOptions{Prefix: h.Subjects.Prefix}).Request(ctx, "happy", "start", CommandData{})
	m := regexp.MustCompile(`no answer to start of saga happy (\S+) .*a coordinator may still apply it`).FindStringSubmatch(fmt.Sprint(err))
	if jobs.CodeOf(err) != jobs.CodeTimeout || m == nil {
		t.Fatalf("unanswered start: %v", err)
	}
	coordinator(t, h, nil, testDefs()...)
	waitStatus(t, h, "happy", m[1], StatusCompleted)
}
