package jetjobs_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/jetjobstest"
	"github.com/jetjobs/jetjobs/jobs"
)

// binaryCommand builds the headers of a valid binary-mode command.
func binaryCommand(id, ceType string) nats.Header {
	h := nats.Header{}
	h.Set("ce-specversion", "1.0")
	h.Set("ce-id", id)
	h.Set("ce-source", "/test")
	h.Set("ce-type", ceType)
	h.Set("Content-Type", "application/json")
	return h
}

// Every kind of bad command lands in JOBS_DLQ with its reason, is acked, and
// the good commands published behind them still run.
func TestBadCommandsGoToDLQ(t *testing.T) {
	t.Parallel()
	h := demoHarness(t)
	noID := binaryCommand("x", "JOB_EXECUTE")
	noID.Del("ce-id")
	structured := nats.Header{}
	structured.Set("Content-Type", "application/cloudevents+json")
	cases := []struct {
		name, subject string
		header        nats.Header
		body          string
		dlqSubject    string
		reason        string
	}{
		{"missing id", "jobs.cmd.customer-validation.execute", noID, `{}`,
			"jobs.dlq.customer-validation.execute", `"id"`},
		{"structured bad json", "jobs.cmd.customer-validation.execute", structured, `{"specversion":`,
			"jobs.dlq.customer-validation.execute", "not a JSON object"},
		{"unknown job", "jobs.cmd.no-such-job.start", binaryCommand("b1", "JOB_START"), `{}`,
			"jobs.dlq.no-such-job.start", `unknown job "no-such-job"`},
		{"invalid job name", "jobs.cmd.Bad_Job.start", binaryCommand("b2", "JOB_START"), `{}`,
			"jobs.dlq._invalid.start", "invalid job name"},
		{"unknown stage", "jobs.cmd.customer-import.launch", binaryCommand("b3", "JOB_START"), `{}`,
			"jobs.dlq.customer-import._unknown", `unknown stage "launch"`},
		{"type does not match stage", "jobs.cmd.customer-import.start", binaryCommand("b4", "JOB_CHECK"), `{}`,
			"jobs.dlq.customer-import.start", `command type "JOB_CHECK" does not match subject stage "start"`},
		{"invalid execution id", "jobs.cmd.customer-import.check", binaryCommand("b5", "JOB_CHECK"), `{"executionId":"a b*"}`,
			"jobs.dlq.customer-import.check", "invalid executionId"},
		{"not a JobStageRequest", "jobs.cmd.customer-validation.execute", binaryCommand("b6", "JOB_EXECUTE"), `{"params":{}}`,
			"jobs.dlq.customer-validation.execute", `unknown field "params"`},
		{"data after the JobStageRequest", "jobs.cmd.customer-validation.execute", binaryCommand("b9", "JOB_EXECUTE"),
			`{"parameters":{"customerId":"CUST-2"}} {"parameters":{}}`,
			"jobs.dlq.customer-validation.execute", "unexpected data after the JSON value at byte 38"},
		{"too few tokens", "jobs.cmd.customer-import", binaryCommand("b7", "JOB_START"), `{}`,
			"jobs.dlq.customer-import._unknown", "malformed command subject"},
		{"too many tokens", "jobs.cmd.customer-import.start.now", binaryCommand("b8", "JOB_START"), `{}`,
			"jobs.dlq.customer-import.start", "malformed command subject"},
	}
	ctx := context.Background()
	for _, c := range cases {
		if _, err := h.JS.PublishMsg(ctx, &nats.Msg{Subject: c.subject, Header: c.header, Data: []byte(c.body)}); err != nil {
			t.Fatalf("%s: publish: %v", c.name, err)
		}
	}
	good := h.Call(t, "customer-validation", jobs.StageExecute, &jobs.Request{Parameters: map[string]any{"customerId": "CUST-1"}})
	if !good.Success {
		t.Fatalf("good command behind the bad ones: %+v", good)
	}
	got := readDLQ(t, h, len(cases))
	for _, c := range cases {
		found := false
		for _, m := range got {
			if m.Headers().Get(bus.HeaderDLQSubject) == c.subject && m.Subject() == c.dlqSubject &&
				strings.Contains(m.Headers().Get(bus.HeaderDLQReason), c.reason) && string(m.Data()) == c.body {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: no dead letter on %s with reason containing %q", c.name, c.dlqSubject, c.reason)
		}
	}
	if t.Failed() {
		for _, m := range got {
			t.Logf("dlq %s from %s: %s", m.Subject(), m.Headers().Get(bus.HeaderDLQSubject), m.Headers().Get(bus.HeaderDLQReason))
		}
	}
	// Nothing is left unacknowledged on the job consumers.
	for _, name := range []string{"cmd-customer-import", "cmd-customer-validation"} {
		waitFor(t, func() bool {
			cons, err := h.JS.Consumer(ctx, bus.StreamCommands, name)
			if err != nil {
				return false
			}
			info, err := cons.Info(ctx)
			return err == nil && info.NumAckPending == 0 && info.NumPending == 0
		})
	}
}

// A bad command with a replyto gets an answer naming the problem, so a
// caller never waits for nothing.
func TestBadCommandIsAnswered(t *testing.T) {
	t.Parallel()
	h := demoHarness(t)
	inbox := nats.NewInbox()
	sub, err := h.Conn.SubscribeSync(inbox)
	if err != nil {
		t.Fatal(err)
	}
	hdr := binaryCommand("r1", "JOB_STOP")
	hdr.Set("ce-replyto", inbox)
	if _, err := h.JS.PublishMsg(context.Background(), &nats.Msg{Subject: "jobs.cmd.customer-import.start", Header: hdr, Data: []byte(`{}`)}); err != nil {
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
	if resp.Success || resp.Code != jobs.CodeInvalidArgument || !strings.Contains(resp.ErrorText(), `"JOB_STOP" does not match`) {
		t.Fatalf("answer %+v (%s)", resp, resp.ErrorText())
	}
}

// A command that is not a valid CloudEvent but whose replyto can be read
// gets an error answer too, instead of leaving its sender to time out.
func TestInvalidCloudEventIsAnswered(t *testing.T) {
	t.Parallel()
	h := demoHarness(t)
	cases := []struct {
		name    string
		header  func(inbox string) nats.Header
		body    func(inbox string) string
		wantErr string
	}{
		{"no specversion", func(inbox string) nats.Header {
			hdr := binaryCommand("v1", "JOB_EXECUTE")
			hdr.Del("ce-specversion")
			hdr.Set("ce-replyto", inbox)
			return hdr
		}, func(string) string { return `{}` }, "specversion"},
		{"raw percent in ce-subject", func(inbox string) nats.Header {
			hdr := binaryCommand("v2", "JOB_EXECUTE")
			hdr.Set("ce-subject", "100%")
			hdr.Set("Ce-ReplyTo", url.PathEscape(inbox))
			return hdr
		}, func(string) string { return `{}` }, "invalid percent-encoding"},
		{"structured without specversion", func(string) nats.Header {
			return nats.Header{"Content-Type": []string{"application/cloudevents+json"}}
		}, func(inbox string) string {
			return `{"id":"v3","source":"/js","type":"JOB_EXECUTE","replyto":"` + inbox + `","data":{}}`
		}, "specversion"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			inbox := nats.NewInbox()
			sub, err := h.Conn.SubscribeSync(inbox)
			if err != nil {
				t.Fatal(err)
			}
			msg := &nats.Msg{Subject: "jobs.cmd.customer-validation.execute", Header: tc.header(inbox), Data: []byte(tc.body(inbox))}
			if _, err := h.JS.PublishMsg(context.Background(), msg); err != nil {
				t.Fatal(err)
			}
			answer, err := sub.NextMsg(jetjobstest.DefaultTimeout)
			if err != nil {
				t.Fatalf("no answer: %v", err)
			}
			resp, err := bus.DecodeResponse(answer.Header, answer.Data)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Success || resp.Code != jobs.CodeInvalidArgument || !strings.Contains(resp.ErrorText(), tc.wantErr) {
				t.Fatalf("answer %+v (%s), want an invalid_argument naming %q", resp, resp.ErrorText(), tc.wantErr)
			}
		})
	}
}

// A command that no engine acknowledges in max-deliver deliveries (here a
// consumer that takes it and never acks, like an engine that crashes on it
// every time) is dead-lettered from the server's advisory.
func TestExhaustedDeliveriesGoToDLQ(t *testing.T) {
	t.Parallel()
	h := demoHarness(t)
	ctx := context.Background()
	cons, err := h.JS.CreateOrUpdateConsumer(ctx, bus.StreamCommands, jetstream.ConsumerConfig{
		Durable: bus.CommandConsumer("crasher"), FilterSubject: "jobs.cmd.crasher.*",
		AckPolicy: jetstream.AckExplicitPolicy, AckWait: 200 * time.Millisecond, MaxDeliver: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.JS.PublishMsg(ctx, &nats.Msg{Subject: "jobs.cmd.crasher.start", Header: binaryCommand("c1", "JOB_START"), Data: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	for range 2 { // take it twice, ack never
		if _, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	// The server gives up on the message when it would deliver it a third
	// time, which needs someone pulling: an engine in a crash loop would be.
	_, _ = cons.Next(jetstream.FetchMaxWait(time.Second))
	got := readDLQ(t, h, 1)
	if r := got[0].Headers().Get(bus.HeaderDLQReason); !strings.Contains(r, "exhausted 2 deliveries") || got[0].Subject() != "jobs.dlq.crasher.start" {
		t.Fatalf("dead letter %s: %q", got[0].Subject(), r)
	}
	// Dead-lettered, it leaves the command work queue.
	waitFor(t, func() bool {
		s, err := h.JS.Stream(ctx, bus.StreamCommands)
		if err != nil {
			return false
		}
		info, err := s.Info(ctx, jetstream.WithSubjectFilter("jobs.cmd.crasher.>"))
		return err == nil && len(info.State.Subjects) == 0
	})
}

func readDLQ(t *testing.T, h *jetjobstest.Harness, n int) []jetstream.Msg {
	t.Helper()
	cons, err := h.JS.OrderedConsumer(context.Background(), bus.StreamDLQ, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	var out []jetstream.Msg
	deadline := time.Now().Add(jetjobstest.DefaultTimeout)
	for len(out) < n && time.Now().Before(deadline) {
		m, err := cons.Next(jetstream.FetchMaxWait(time.Until(deadline)))
		if err == nil {
			out = append(out, m)
		}
	}
	if len(out) < n {
		t.Fatalf("%d dead letters, want %d", len(out), n)
	}
	return out
}
