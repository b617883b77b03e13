package jetjobs_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetjobs/jetjobs"
	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/jetjobstest"
	"github.com/jetjobs/jetjobs/jobs"
	"github.com/jetjobs/jetjobs/kv"
)

// A replyto is answered only under _INBOX, the inbox prefix and
// nats.reply-prefixes; any other is dead-lettered with the reason and
// nothing is published to it (the engine would publish with its own
// credentials: into its own buckets, its own command subjects).
func TestReplyToRule(t *testing.T) {
	t.Parallel()
	h := demoHarness(t, jetjobstest.WithConfig(func(c *jetjobs.Config) {
		c.NATS.ReplyPrefixes = []string{"replies.*.>"}
	}))
	ctx := context.Background()
	state, err := h.JS.KeyValue(ctx, kv.StateBucket)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, replyTo string
		wantRefused   string // "" = answered
	}{
		{"KV bucket", "$KV.JOBS_STATE.x", `replyto "$KV.JOBS_STATE.x" refused: subjects starting with $`},
		{"JetStream API", "$JS.API.STREAM.DELETE.JOBS_EVENTS", "refused: subjects starting with $"},
		{"engine subject", "jobs.evt.customer-validation.forged", "under the engine's subject prefix jobs"},
		{"not allowed", "elsewhere.reply", "not under an allowed reply prefix (_INBOX.>, replies.*.>"},
		{"pattern too short", "replies.a", "not under an allowed reply prefix"},
		{"inbox", "_INBOX.replyto-test.a1", ""},
		{"configured prefix", "replies.t1.a2", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sub, err := h.Conn.SubscribeSync(tt.replyTo)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = sub.Unsubscribe() }()
			if err := h.Conn.Flush(); err != nil {
				t.Fatal(err)
			}
			id := "rt-" + strings.NewReplacer(" ", "-").Replace(tt.name)
			hdr := binaryCommand(id, "JOB_EXECUTE")
			hdr.Set("ce-replyto", tt.replyTo)
			subject := "jobs.cmd.customer-validation.execute"
			if _, err := h.JS.PublishMsg(ctx, &nats.Msg{Subject: subject, Header: hdr,
				Data: []byte(`{"parameters":{"customerId":"CUST-9"}}`)}); err != nil {
				t.Fatal(err)
			}
			if tt.wantRefused == "" {
				m, err := sub.NextMsg(jetjobstest.DefaultTimeout)
				if err != nil {
					t.Fatalf("no answer on %s: %v", tt.replyTo, err)
				}
				if resp, err := bus.DecodeResponse(m.Header, m.Data); err != nil || !resp.Success {
					t.Fatalf("answer %+v, %v", resp, err)
				}
				return
			}
			dl := waitDeadLetter(t, h, id)
			if r := dl.Headers().Get(bus.HeaderDLQReason); !strings.Contains(r, tt.wantRefused) {
				t.Errorf("dead letter reason %q, want %q", r, tt.wantRefused)
			}
			// The command is acknowledged once its dead letter is written
			// and its answer (if any) handed to the connection: flushing the
			// engine's connection after that puts any answer on the server.
			waitFor(t, func() bool {
				cons, err := h.JS.Consumer(ctx, bus.StreamCommands, bus.CommandConsumer("customer-validation"))
				if err != nil {
					return false
				}
				info, err := cons.Info(ctx)
				return err == nil && info.NumAckPending == 0 && info.NumPending == 0
			})
			if err := h.Engine.Conn().Flush(); err != nil {
				t.Fatal(err)
			}
			if err := h.Conn.Flush(); err != nil {
				t.Fatal(err)
			}
			if m, err := sub.NextMsg(0); err == nil || !errors.Is(err, nats.ErrTimeout) {
				t.Errorf("something was published on %s: %v %v", tt.replyTo, m, err)
			}
		})
	}
	t.Run("nothing in the bucket", func(t *testing.T) {
		t.Parallel()
		if _, err := state.Get(ctx, "x"); !errors.Is(err, jetstream.ErrKeyNotFound) {
			t.Errorf("JOBS_STATE key x: %v, want not found", err)
		}
	})
	t.Run("no execution ran", func(t *testing.T) {
		t.Parallel()
		if _, _, err := h.Engine.State().Get(ctx, "customer-validation", "rt-KV-bucket"); !errors.Is(err, jobs.ErrNotFound) {
			t.Errorf("execution of the refused command: %v, want not found", err)
		}
	})
}

// waitDeadLetter reads JOBS_DLQ until the dead letter of command id.
func waitDeadLetter(t *testing.T, h *jetjobstest.Harness, id string) jetstream.Msg {
	t.Helper()
	cons, err := h.JS.OrderedConsumer(context.Background(), bus.StreamDLQ, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(jetjobstest.DefaultTimeout)
	for time.Now().Before(deadline) {
		m, err := cons.Next(jetstream.FetchMaxWait(time.Until(deadline)))
		if err == nil && m.Headers().Get("ce-id") == id {
			return m
		}
	}
	t.Fatalf("no dead letter for command %s", id)
	return nil
}
