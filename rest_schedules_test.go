package jetjobs_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/jetjobs/jetjobs"

	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/httpadapter"
	"github.com/jetjobs/jetjobs/jetjobstest"
	"github.com/jetjobs/jetjobs/jobs"
)

func doJSON(t *testing.T, method, url, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// Schedules over REST: create (bad ones refused with 422 naming the
// field), list and get with their next runs, pause (no next runs, the
// definition kept), resume, delete (404 after).
func TestSchedulesOverREST(t *testing.T) {
	t.Parallel()
	var starts atomic.Int32
	h := jetjobstest.New(t, func(r *jobs.Registry) { r.MustRegister("reported", &countingJob{starts: &starts}) })
	srv := serve(t, h)
	base := srv.URL + "/api/v1/reported/schedules"
	cases := []struct {
		name, body string
		wantCode   int
		wantText   string
	}{
		{"bad cron", `{"name":"nightly","cron":"0 0 25 * * *"}`, 422, `cron: invalid cron expression \"0 0 25 * * *\": end of range (25) above maximum (23)`},
		{"five fields", `{"name":"nightly","cron":"0 2 * * *"}`, 422, "want 6 fields"},
		{"bad zone", `{"name":"nightly","cron":"@daily","timeZone":"Nowhere/Town"}`, 422, "timeZone: unknown time zone"},
		{"two patterns", `{"name":"nightly","cron":"@daily","every":"1h"}`, 422, "exactly one of cron, every or at"},
		{"unknown field", `{"name":"nightly","cron":"@daily","when":"now"}`, 400, `unknown field \"when\" (a schedule has name, cron`},
		{"ok", `{"name":"nightly","cron":"0 0 2 * * *","timeZone":"Europe/Paris","parameters":{"mode":"full","password":"hunter2"}}`, 201, `"nextRuns":["`},
	}
	for _, c := range cases {
		code, body := doJSON(t, http.MethodPost, base, c.body)
		if code != c.wantCode || !strings.Contains(string(body), c.wantText) {
			t.Fatalf("%s: %d %s, want %d with %q", c.name, code, body, c.wantCode, c.wantText)
		}
	}
	var list httpadapter.ScheduleList
	code, body := doJSON(t, http.MethodGet, base, "")
	if err := json.Unmarshal(body, &list); err != nil || code != 200 || len(list.Items) != 1 {
		t.Fatalf("list: %d %s", code, body)
	}
	got := list.Items[0]
	if strings.Contains(string(body), "hunter2") || got.Parameters["password"] != jobs.Mask {
		t.Fatalf("a sensitive parameter is shown: %s", body)
	}
	if got.Name != "nightly" || got.Origin != jobs.OriginAPI || len(got.NextRuns) != httpadapter.NextRunsShown {
		t.Fatalf("list item %+v", got)
	}
	for _, r := range got.NextRuns {
		if p := r.In(mustLoc(t, "Europe/Paris")); p.Hour() != 2 || p.Minute() != 0 {
			t.Fatalf("next run %s is not 02:00 in Paris", r)
		}
	}
	code, body = doJSON(t, http.MethodPost, base+"/nightly/pause", "")
	var view httpadapter.ScheduleView
	if err := json.Unmarshal(body, &view); err != nil || code != 200 || !view.Paused || len(view.NextRuns) != 0 || view.Cron != "0 0 2 * * *" {
		t.Fatalf("pause: %d %s", code, body)
	}
	code, body = doJSON(t, http.MethodPost, base+"/nightly/resume", "")
	view = httpadapter.ScheduleView{}
	if err := json.Unmarshal(body, &view); err != nil || code != 200 || view.Paused || len(view.NextRuns) != 3 {
		t.Fatalf("resume: %d %s", code, body)
	}
	if code, body = doJSON(t, http.MethodDelete, base+"/nightly", ""); code != 204 {
		t.Fatalf("delete: %d %s", code, body)
	}
	if code, body = doJSON(t, http.MethodGet, base+"/nightly", ""); code != 404 || !strings.Contains(string(body), `no schedule \"nightly\"`) {
		t.Fatalf("get after delete: %d %s", code, body)
	}
}

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	l, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// A delayed START answers 202 with the execution id at once, and the
// execution starts once, at its time (not before), with the request's
// parameters.
func TestDelayedStartOverREST(t *testing.T) {
	t.Parallel()
	var starts atomic.Int32
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	h := jetjobstest.New(t, func(r *jobs.Registry) { r.MustRegister("later", &countingJob{starts: &starts}) },
		jetjobstest.WithEngineOptions(jetjobs.WithMeterProvider(mp)))
	srv := serve(t, h)
	if code, resp := post(t, srv, "/api/v1/later/start?delay=soon", `{}`); code != 400 || resp.Success {
		t.Fatalf("bad delay: %d %+v", code, resp)
	}
	at := time.Now().Add(2 * time.Second).Truncate(time.Second)
	code, resp := post(t, srv, "/api/v1/later/start?at="+at.UTC().Format(time.RFC3339), `{"executionId":"later-1","parameters":{"n":1}}`)
	if code != http.StatusAccepted || !resp.Success || resp.ExecutionID != "later-1" || !strings.Contains(resp.Message, "start scheduled at") {
		t.Fatalf("delayed start: %d %+v", code, resp)
	}
	ev := h.WaitEvent(t, "later", "later-1", jobs.EventStarted)
	exec := h.Execution(t, "later", "later-1")
	if exec.CreatedAt.Before(at) || exec.Parameters["n"] != float64(1) {
		t.Fatalf("execution %+v created at %s, want at or after %s with its parameters (event %+v)", exec, exec.CreatedAt, at, ev.Data)
	}
	h.WaitEvent(t, "later", "later-1", jobs.EventCompleted)
	if n := starts.Load(); n != 1 {
		t.Fatalf("Start ran %d times", n)
	}
	for outcome, want := range map[string]int64{bus.TickFired: 1, bus.TickStarted: 1, bus.TickFailed: 0} {
		if got := counterWith(t, reader, "firefly.data.job.schedule.ticks", "outcome", outcome); got != want {
			t.Fatalf("schedule.ticks{outcome=%s} = %d, want %d", outcome, got, want)
		}
	}
}

// counterWith sums a counter's data points whose attribute key is val.
func counterWith(t *testing.T, r *sdkmetric.ManualReader, name, key, val string) int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			sum, ok := m.Data.(metricdata.Sum[int64])
			if m.Name != name || !ok {
				continue
			}
			for _, dp := range sum.DataPoints {
				if v, ok := dp.Attributes.Value(attribute.Key(key)); ok && v.AsString() == val {
					n += dp.Value
				}
			}
		}
	}
	return n
}

// The CloudEvents form of a delayed start: a JOB_START with the delay
// extension is answered at once (success, the time) and starts once when
// the server fires it; a bad delay is refused with the reason.
func TestDelayedStartOverCloudEvents(t *testing.T) {
	t.Parallel()
	var starts atomic.Int32
	h := jetjobstest.New(t, func(r *jobs.Registry) { r.MustRegister("later", &countingJob{starts: &starts}) })
	ctx := context.Background()
	send := func(id, delay string) *jobs.Response {
		t.Helper()
		inbox := nats.NewInbox()
		sub, err := h.Conn.SubscribeSync(inbox)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = sub.Unsubscribe() }()
		ev, err := h.Client.Command(ctx, "later", jobs.StageStart, &jobs.Request{Parameters: map[string]any{"n": 2}}, bus.SendOptions{ID: id, ReplyTo: inbox})
		if err != nil {
			t.Fatal(err)
		}
		ev.SetExtension(bus.ExtDelay, delay)
		hd, body, err := bus.Encode(ev)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.JS.PublishMsg(ctx, &nats.Msg{Subject: h.Subjects.Command("later", "start"), Header: hd, Data: body}); err != nil {
			t.Fatal(err)
		}
		msg, err := sub.NextMsg(jetjobstest.DefaultTimeout)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := bus.DecodeResponse(msg.Header, msg.Data)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	if resp := send("ce-bad", "soon"); resp.Success || !strings.Contains(resp.ErrorText(), `extension delay "soon"`) {
		t.Fatalf("bad delay answered %+v", resp)
	}
	sent := time.Now()
	resp := send("ce-later-1", "1s")
	if !resp.Success || resp.ExecutionID != "ce-later-1" || !strings.Contains(resp.Message, "start scheduled at") {
		t.Fatalf("delayed start answered %+v", resp)
	}
	h.WaitEvent(t, "later", "ce-later-1", jobs.EventCompleted)
	if exec := h.Execution(t, "later", "ce-later-1"); exec.CreatedAt.Before(sent.Truncate(time.Second)) || exec.Parameters["n"] != float64(2) {
		t.Fatalf("execution %+v", exec)
	}
	if n := starts.Load(); n != 1 {
		t.Fatalf("Start ran %d times", n)
	}
}
