package saga

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetjobs/jetjobs/jobs"
)

// A saga command whose replyto the engine's rule refuses is not applied
// and nothing is published there: the coordinator would publish with its
// own credentials.
func TestSagaCommandReplyToRule(t *testing.T) {
	t.Parallel()
	h, _ := harness(t)
	c := coordinator(t, h, nil, testDefs()...)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	tests := []struct {
		sagaID, replyTo string
		applied         bool
	}{
		{"rt-kv", "$KV.SAGAS.happy.rt-x", false},
		{"rt-engine", h.Subjects.Prefix + ".sagacmd.happy.cancel", false},
		{"rt-elsewhere", "elsewhere.x", false},
		{"rt-inbox", nats.NewInbox(), true},
	}
	for _, tt := range tests {
		t.Run(tt.sagaID, func(t *testing.T) {
			sub, err := h.Conn.SubscribeSync(tt.replyTo)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = sub.Unsubscribe() }()
			hdr := nats.Header{}
			for k, v := range map[string]string{"ce-specversion": "1.0", "ce-id": tt.sagaID, "ce-source": "/test",
				"ce-type": "SAGA_START", "ce-replyto": tt.replyTo, "Content-Type": "application/json"} {
				hdr.Set(k, v)
			}
			if _, err := h.JS.PublishMsg(ctx, &nats.Msg{Subject: h.Subjects.Prefix + ".sagacmd.happy.start", Header: hdr,
				Data: []byte(`{"sagaId":"` + tt.sagaID + `"}`)}); err != nil {
				t.Fatal(err)
			}
			if tt.applied {
				if _, err := sub.NextMsgWithContext(ctx); err != nil {
					t.Fatalf("no answer on %s: %v", tt.replyTo, err)
				}
				waitStatus(t, h, "happy", tt.sagaID, StatusCompleted)
				return
			}
			// Settled (termed) once the coordinator has handled it.
			for {
				cons, err := h.JS.Consumer(ctx, StreamCommands, c.cfg.Name+"-commands")
				if err != nil {
					t.Fatal(err)
				}
				info, err := cons.Info(ctx)
				if err == nil && info.NumAckPending == 0 && info.NumPending == 0 && info.Delivered.Consumer > 0 {
					break
				}
				select {
				case <-ctx.Done():
					t.Fatal("the command was never settled")
				case <-time.After(10 * time.Millisecond):
				}
			}
			if err := h.Conn.Flush(); err != nil {
				t.Fatal(err)
			}
			if m, err := sub.NextMsg(100 * time.Millisecond); !errors.Is(err, nats.ErrTimeout) {
				t.Fatalf("published on %s: %v %v", tt.replyTo, m, err)
			}
			if _, err := c.cmds.Get(ctx, "happy", tt.sagaID); !errors.Is(err, jobs.ErrNotFound) {
				t.Fatalf("saga %s: %v, want not found (the command must not be applied)", tt.sagaID, err)
			}
		})
	}
	kv, err := h.JS.KeyValue(ctx, Bucket)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Get(ctx, "happy.rt-x"); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Errorf("SAGAS key happy.rt-x: %v, want not found", err)
	}
}
