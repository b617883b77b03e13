package jetjobs_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/jetjobstest"
	"github.com/jetjobs/jetjobs/jobs"
	"github.com/jetjobs/jetjobs/kv"
)

// startLeastPrivilege runs deploy/nats/least-privilege.conf as it is,
// on a random port and a temporary store, and returns its URL and the
// password of each user.
func startLeastPrivilege(t *testing.T) (string, map[string]string) {
	t.Helper()
	opts, err := server.ProcessConfigFile("deploy/nats/least-privilege.conf")
	if err != nil {
		t.Fatal(err)
	}
	opts.Host, opts.Port, opts.StoreDir = "127.0.0.1", -1, t.TempDir()
	opts.NoSigs, opts.NoLog = true, true
	srv, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	if !srv.ReadyForConnections(jetjobstest.DefaultTimeout) {
		t.Fatal("least-privilege server not ready")
	}
	pw := map[string]string{}
	for _, u := range opts.Users {
		pw[u.Username] = u.Password
	}
	return srv.ClientURL(), pw
}

// The least-privilege example of docs/operations.md holds: the engine
// runs with only its permissions, a client allowed only customer-import
// commands runs them, is refused another job by NATS, and cannot use a
// replyto to make the engine write into its own bucket.
func TestLeastPrivilegeExample(t *testing.T) {
	t.Parallel()
	url, pw := startLeastPrivilege(t)
	cfg := embeddedConfig(t, t.TempDir())
	cfg.NATS.URL, cfg.NATS.User, cfg.NATS.Password = url, "jetjobs-engine", pw["jetjobs-engine"]
	cfg.NATS.InboxPrefix = "_INBOX_jetjobs"
	cfg.NATS.ReplyPrefixes = []string{"_INBOX_customer_import.>"}
	cfg.Orchestration.CheckInterval = 20 * time.Millisecond
	cfg.Orchestration.MaxCheckInterval = 100 * time.Millisecond
	eng, err := startDemoEngine(t, cfg)
	if err != nil {
		t.Fatalf("the engine with the example's permissions: %v", err)
	}

	asyncErrs := make(chan error, 16)
	client, err := nats.Connect(url, nats.UserInfo("customer-import-client", pw["customer-import-client"]),
		nats.CustomInboxPrefix("_INBOX_customer_import"),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { asyncErrs <- err }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.Close)
	cjs, err := jetstream.New(client)
	if err != nil {
		t.Fatal(err)
	}
	cl := bus.NewClient(client, cjs, bus.WithSource("/customer-import-client"))
	t.Cleanup(cl.Close)
	ctx, cancel := context.WithTimeout(context.Background(), jetjobstest.DefaultTimeout)
	defer cancel()

	t.Run("customer-import runs", func(t *testing.T) {
		start, err := cl.Call(ctx, "customer-import", jobs.StageStart, &jobs.Request{
			Parameters: map[string]any{"datasetId": "ds-1", "records": 4, "batchSize": 2, "batchDelay": "1ms"}}, bus.SendOptions{})
		if err != nil || !start.Success {
			t.Fatalf("START: %+v, %v", start, err)
		}
		for {
			check, err := cl.Call(ctx, "customer-import", jobs.StageCheck, &jobs.Request{ExecutionID: start.ExecutionID}, bus.SendOptions{})
			if err != nil || !check.Success {
				t.Fatalf("CHECK: %+v, %v", check, err)
			}
			if check.Status == jobs.StatusCompleted {
				return
			}
			select {
			case <-ctx.Done():
				t.Fatalf("not completed: %+v", check)
			case <-time.After(20 * time.Millisecond):
			}
		}
	})

	t.Run("another job is refused by NATS", func(t *testing.T) {
		sendCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		if _, err := cl.Send(sendCtx, "customer-validation", jobs.StageExecute, &jobs.Request{}, bus.SendOptions{}); err == nil {
			t.Fatal("a customer-validation command was stored")
		}
		for {
			select {
			case err := <-asyncErrs:
				if errors.Is(err, nats.ErrPermissionViolation) && strings.Contains(err.Error(), "jobs.cmd.customer-validation.execute") {
					return
				}
				t.Logf("other async error: %v", err)
			case <-ctx.Done():
				t.Fatal("no permissions violation for jobs.cmd.customer-validation.execute")
			}
		}
	})

	t.Run("replyto into the state bucket", func(t *testing.T) {
		hdr := binaryCommand("lp-kv", "JOB_START")
		hdr.Set("ce-replyto", "$KV.JOBS_STATE.x")
		if _, err := cjs.PublishMsg(ctx, &nats.Msg{Subject: "jobs.cmd.customer-import.start", Header: hdr,
			Data: []byte(`{"parameters":{"datasetId":"ds-2"}}`)}); err != nil {
			t.Fatalf("the client may send customer-import commands: %v", err)
		}
		nc, js, err := eng.Dial(t.Name()) // as the engine user
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		dlq, err := js.OrderedConsumer(ctx, bus.StreamDLQ, jetstream.OrderedConsumerConfig{})
		if err != nil {
			t.Fatal(err)
		}
		var reason string
		for reason == "" {
			m, err := dlq.Next(jetstream.FetchMaxWait(time.Second))
			switch {
			case ctx.Err() != nil:
				t.Fatal("no dead letter for the command")
			case err == nil && m.Headers().Get("ce-id") == "lp-kv":
				reason = m.Headers().Get(bus.HeaderDLQReason)
			}
		}
		if !strings.Contains(reason, `replyto "$KV.JOBS_STATE.x" refused`) {
			t.Errorf("dead letter reason %q", reason)
		}
		waitFor(t, func() bool {
			cons, err := js.Consumer(ctx, bus.StreamCommands, bus.CommandConsumer("customer-import"))
			if err != nil {
				return false
			}
			info, err := cons.Info(ctx)
			return err == nil && info.NumAckPending == 0 && info.NumPending == 0
		})
		if err := eng.Conn().Flush(); err != nil {
			t.Fatal(err)
		}
		state, err := js.KeyValue(ctx, kv.StateBucket)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := state.Get(ctx, "x"); !errors.Is(err, jetstream.ErrKeyNotFound) {
			t.Errorf("JOBS_STATE key x: %v, want not found", err)
		}
	})
}
