package bus_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/jobs"
)

// A Call nobody answers in time returns, with its UnansweredError, a
// response naming the execution the command runs as: the request's
// executionId, or the command's own id for a START or EXECUTE without one
// (the engine starts it under that id), or none when that id cannot be an
// execution id.
func TestCallUnansweredNamesItsExecution(t *testing.T) {
	t.Parallel()
	_, nc, js := startAndConnect(t)
	if err := bus.EnsureStreams(context.Background(), js, bus.StreamsConfig{}); err != nil {
		t.Fatal(err)
	}
	client := bus.NewClient(nc, js)
	t.Cleanup(client.Close)
	tests := []struct {
		name    string
		stage   jobs.Stage
		req     *jobs.Request
		opts    bus.SendOptions
		wantID  string // "" with wantCmd: the command's id
		wantCmd bool
	}{
		{name: "start without executionId runs as the command", stage: jobs.StageStart, req: &jobs.Request{}, wantCmd: true},
		{name: "execute without executionId runs as the command", stage: jobs.StageExecute, req: &jobs.Request{}, wantCmd: true},
		{name: "start with executionId", stage: jobs.StageStart, req: &jobs.Request{ExecutionID: "given-1"}, wantID: "given-1"},
		{name: "check names its execution", stage: jobs.StageCheck, req: &jobs.Request{ExecutionID: "given-2"}, wantID: "given-2"},
		{name: "command id that is no execution id", stage: jobs.StageStart, req: &jobs.Request{}, opts: bus.SendOptions{ID: "cmd.1"}, wantID: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			resp, err := client.Call(ctx, "nobody", tt.stage, tt.req, tt.opts)
			var ua *bus.UnansweredError
			if !errors.As(err, &ua) || jobs.CodeOf(err) != jobs.CodeTimeout {
				t.Fatalf("err = %v, want an UnansweredError with code timeout", err)
			}
			want := tt.wantID
			if tt.wantCmd {
				want = ua.CommandID
			}
			if resp == nil || resp.ExecutionID != want || resp.Success || resp.Code != jobs.CodeTimeout {
				t.Fatalf("resp = %+v, want executionId %q, no success, code timeout", resp, want)
			}
		})
	}
}
