package httpadapter_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/jetjobs/jetjobs/httpadapter"
	"github.com/jetjobs/jetjobs/jobs"
)

// sseEvent is one message of an event stream; a comment is an event with
// Comment set.
type sseEvent struct {
	ID, Name, Data, Comment string
}

// stream opens an event stream and delivers its messages on a channel
// that is closed when the stream ends.
func stream(t *testing.T, ctx context.Context, url string, headers ...string) (*http.Response, <-chan sseEvent) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan sseEvent, 64)
	go func() {
		defer close(ch)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev != (sseEvent{}) {
					ch <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, ":"):
				ev.Comment = strings.TrimSpace(line[1:])
			default:
				k, v, _ := strings.Cut(line, ":")
				v = strings.TrimPrefix(v, " ")
				switch k {
				case "id":
					ev.ID = v
				case "event":
					ev.Name = v
				case "data":
					ev.Data += v
				}
			}
		}
	}()
	return resp, ch
}

// The stream shows the execution move and ends with its terminal status.
func TestEventsStream(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpadapter.Options{})
	id := e.start(t, `{"datasetId":"d","records":10,"batchSize":1,"batchDelay":"50ms"}`)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	resp, events := stream(t, ctx, e.srv.URL+importBase+"/"+id+"/events")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var got []httpadapter.StatusEvent
	lastID := ""
	for ev := range events {
		if ev.Comment != "" {
			continue
		}
		if ev.Name != "status" || ev.ID == "" {
			t.Fatalf("unexpected event %+v", ev)
		}
		var se httpadapter.StatusEvent
		if err := json.Unmarshal([]byte(ev.Data), &se); err != nil {
			t.Fatalf("event data %q: %v", ev.Data, err)
		}
		got, lastID = append(got, se), ev.ID
	}
	if ctx.Err() != nil {
		t.Fatalf("stream did not end by itself; events: %+v", got)
	}
	if len(got) < 2 {
		t.Fatalf("want progress and a terminal event, got %+v", got)
	}
	progressed := false
	for i, se := range got {
		if se.ExecutionID != id || se.JobType != importJob {
			t.Fatalf("event %d: %+v", i, se)
		}
		if se.ProgressPercentage > 0 && se.ProgressPercentage < 100 && se.Status == jobs.StatusRunning {
			progressed = true
		}
		if i > 0 && se.ProgressPercentage < got[i-1].ProgressPercentage {
			t.Fatalf("progress went back: %+v", got)
		}
	}
	final := got[len(got)-1]
	if !progressed || final.Status != jobs.StatusCompleted || final.ProgressPercentage != 100 || final.EndedAt == nil {
		t.Fatalf("events: %+v", got)
	}
	// Reconnecting after the end gets 204: EventSource stops.
	r := e.do(t, http.MethodGet, importBase+"/"+id+"/events", "", "Last-Event-ID", lastID)
	if r.Status != http.StatusNoContent {
		t.Fatalf("reconnect after the end: %d %s", r.Status, r.Body)
	}
	// Without Last-Event-ID a finished execution still shows its end.
	resp, events = stream(t, ctx, e.srv.URL+importBase+"/"+id+"/events")
	var n int
	for ev := range events {
		n++
		if !strings.Contains(ev.Data, `"status":"COMPLETED"`) {
			t.Fatalf("finished execution: %+v", ev)
		}
	}
	if resp.StatusCode != http.StatusOK || n != 1 {
		t.Fatalf("finished execution: status %d, %d events", resp.StatusCode, n)
	}
}

// A quiet stream carries heartbeats, and a STOP ends it.
func TestEventsHeartbeatAndStop(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpadapter.Options{SSEHeartbeat: 30 * time.Millisecond})
	id := e.start(t, `{"datasetId":"d","records":1000,"batchSize":1,"batchDelay":"1h"}`)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	_, events := stream(t, ctx, e.srv.URL+importBase+"/"+id+"/events")
	beats, stopped := 0, false
	for ev := range events {
		switch {
		case ev.Comment == "heartbeat":
			beats++
			if beats == 2 {
				expect(t, e.do(t, http.MethodPost, importBase+"/"+id+"/stop?reason=bored", ""), http.StatusOK)
			}
		case strings.Contains(ev.Data, `"status":"STOPPED"`):
			stopped = true
		}
	}
	if beats < 2 || !stopped || ctx.Err() != nil {
		t.Fatalf("heartbeats %d, stopped %v, ctx %v", beats, stopped, ctx.Err())
	}
}

// Stopping the Server ends open streams instead of waiting for them.
func TestServerStopEndsStreams(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpadapter.Options{})
	srv := httpadapter.NewServer("127.0.0.1:0", httpadapter.NewRouter(depsOf(e.h), httpadapter.Options{}), zerolog.Nop())
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop(context.Background()) })
	base := "http://" + srv.Addr()
	id := e.start(t, `{"datasetId":"d","records":1000,"batchSize":1,"batchDelay":"1h"}`)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	_, events := stream(t, ctx, base+importBase+"/"+id+"/events")
	// STARTED, or RUNNING when the engine's first CHECK came before the
	// stream did: either way a live event of the execution.
	if ev := <-events; ev.Name != "status" || !strings.Contains(ev.Data, `"executionId":"`+id+`"`) ||
		!(strings.Contains(ev.Data, `"status":"STARTED"`) || strings.Contains(ev.Data, `"status":"RUNNING"`)) {
		t.Fatalf("first event: %+v", ev)
	}
	stopCtx, stopCancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer stopCancel()
	if err := srv.Stop(stopCtx); err != nil {
		t.Fatalf("stop: %v", err)
	}
	for range events { //nolint:revive // drain until the stream ends
	}
	if ctx.Err() != nil {
		t.Fatal("the stream outlived the server")
	}
}
