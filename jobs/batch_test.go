package jobs_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/jetjobs/jetjobs/jobs"
	"github.com/jetjobs/jetjobs/jobs/jobstest"
)

// pipelined publishes events as the bus does within a command: Publish
// only sends, and the outcome comes when the batch's Writes is waited on.
type pipelined struct {
	mu     sync.Mutex
	sent   []jobs.Event
	stored map[string]int // event id -> times stored
	types  []string       // the types of the events stored, in order
	refuse int            // the next waits that fail, losing what was sent
}

var (
	_ jobs.EventPublisher = (*pipelined)(nil)
	_ jobs.Writes         = (*pipelined)(nil)
)

func (p *pipelined) Publish(_ context.Context, ev *jobs.Event) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sent = append(p.sent, *ev)
	return nil
}

func (p *pipelined) Wait(context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	sent := p.sent
	p.sent = nil
	if p.refuse > 0 {
		p.refuse--
		return errors.New("event write refused")
	}
	if p.stored == nil {
		p.stored = map[string]int{}
	}
	for _, ev := range sent {
		p.stored[ev.ID]++
		p.types = append(p.types, ev.Data.EventType)
	}
	return nil
}

// The terminal flag waits for the batch: a client's CHECK whose terminal
// event write fails stores the COMPLETED record without the flag and fails;
// its redelivery publishes the event, once, and then stores the flag.
func TestTerminalFlagWaitsForTheBatch(t *testing.T) {
	t.Parallel()
	job := &running{}
	reg := jobs.NewRegistry()
	reg.MustRegister("j", job)
	store, ev := &jobstest.MemoryStore{}, &pipelined{}
	rt := jobs.NewRuntime(reg, store, ev, &timers{}, jobs.RuntimeConfig{})
	ctx := context.Background()
	handle := func(stage jobs.Stage, delivery int) error {
		_, err := rt.HandleBatch(ctx, jobs.NewBatch(ev), &jobs.Command{ID: "c-" + string(stage), JobType: "j", Stage: stage,
			Request: jobs.Request{ExecutionID: "e1"}, Delivery: delivery})
		return err
	}
	if err := handle(jobs.StageStart, 1); err != nil {
		t.Fatal(err)
	}
	job.mu.Lock()
	job.done = true
	job.mu.Unlock()
	for _, tc := range []struct {
		name     string
		refuse   int
		delivery int
		wantErr  bool
		flag     bool
		stored   int // JOB_COMPLETED stored
	}{
		{"event write fails", 1, 1, true, false, 0},
		{"redelivered", 0, 2, false, true, 1},
		{"delivered again", 0, 3, false, true, 1},
	} {
		ev.mu.Lock()
		ev.refuse = tc.refuse
		ev.mu.Unlock()
		err := handle(jobs.StageCheck, tc.delivery)
		if (err != nil) != tc.wantErr || (err != nil && !errors.Is(err, jobs.ErrUnavailable)) {
			t.Fatalf("%s: err %v, want error %t (unavailable)", tc.name, err, tc.wantErr)
		}
		exec, _, err := store.Get(ctx, "j", "e1")
		if err != nil {
			t.Fatal(err)
		}
		if exec.Status != jobs.StatusCompleted || exec.TerminalEventSent != tc.flag {
			t.Fatalf("%s: record %s terminalEventSent=%t, want COMPLETED %t", tc.name, exec.Status, exec.TerminalEventSent, tc.flag)
		}
		ev.mu.Lock()
		n := ev.stored["j.e1."+jobs.EventCompleted]
		ev.mu.Unlock()
		if n != tc.stored {
			t.Fatalf("%s: JOB_COMPLETED stored %d times, want %d", tc.name, n, tc.stored)
		}
	}
}
