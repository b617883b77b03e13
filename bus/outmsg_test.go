package bus_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/jetjobs/jetjobs/bus"
)

// Pooled messages published from several goroutines, pipelined and not,
// are each stored as built: a message goes back to its pool only once its
// write is over, never while it can still be sent.
func TestOutMsgsStoredAsBuilt(t *testing.T) {
	t.Parallel()
	ctx, wait, _, _, js := ackSetup(t, 5*time.Second)
	const writers, each = 4, 50
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for g := range writers {
		wg.Go(func() {
			for i := range each {
				m := bus.NewOutMsg(fmt.Sprintf("acks.%d.%d", g, i))
				if err := m.EncodeJSON(map[string]any{"g": g, "i": i, "pad": fmt.Sprintf("%0*d", i*10, 0)}); err != nil {
					errs <- err
					m.Release()
					return
				}
				m.SetHeader("Jobs-Test", fmt.Sprint(g*1000+i))
				var err error
				switch i % 3 {
				case 0:
					err = bus.PublishOut(ctx, js, m)
				case 1:
					_, err = bus.PublishOutAcked(ctx, js, m)
				default:
					err = bus.PublishOut(t.Context(), js, m) // synchronous
				}
				if err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if err := wait(ctx); err != nil {
		t.Fatal(err)
	}
	st, err := js.Stream(t.Context(), "ACKS")
	if err != nil {
		t.Fatal(err)
	}
	for g := range writers {
		for i := range each {
			subject := fmt.Sprintf("acks.%d.%d", g, i)
			msg, err := st.GetLastMsgForSubject(t.Context(), subject)
			if err != nil {
				t.Fatalf("%s: %v", subject, err)
			}
			want := fmt.Sprintf(`{"g":%d,"i":%d,"pad":"%0*d"}`, g, i, i*10, 0)
			if string(msg.Data) != want || msg.Header.Get("Jobs-Test") != fmt.Sprint(g*1000+i) {
				t.Fatalf("%s: stored %s %v, want %s", subject, msg.Data, msg.Header, want)
			}
		}
	}
	if info, err := st.Info(t.Context()); err != nil || info.State.Msgs != writers*each {
		t.Fatalf("stream holds %v messages (%v), want %d", info.State.Msgs, err, writers*each)
	}
}

// A message given back unpublished leaves nothing behind for the next one.
func TestOutMsgReleaseClears(t *testing.T) {
	t.Parallel()
	for range 100 { // the pool may hand back the same message
		m := bus.NewOutMsg("a")
		if len(m.Header()) != 0 || len(m.Data()) != 0 {
			t.Fatalf("a new message has headers %v and data %q", m.Header(), m.Data())
		}
		m.SetHeader("K", "v")
		if err := m.EncodeJSON("x"); err != nil {
			t.Fatal(err)
		}
		m.Release()
	}
}

// A pooled message sent again by the acker's sweep is sent as it was built,
// though other pooled messages come and go meanwhile.
func TestOutMsgResentAsBuilt(t *testing.T) {
	t.Parallel()
	ctx, wait, _, nc, js := ackSetup(t, 20*time.Second) // resent after bus.PublishRetryAfter
	type copyOf struct{ id, data, test string }
	copies := make(chan copyOf, 4)
	sub, err := nc.Subscribe("lossy.out", func(m *nats.Msg) {
		copies <- copyOf{m.Header.Get(nats.MsgIdHdr), string(m.Data), m.Header.Get("Jobs-Test")}
		if len(copies) > 1 { // the first copy is lost; the second is answered
			_ = m.Respond([]byte(`{"stream":"LOSSY","seq":9}`))
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	stop := make(chan struct{})
	var churn sync.WaitGroup
	churn.Go(func() { // other messages through the same pool meanwhile
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			m := bus.NewOutMsg("acks.churn")
			m.SetHeader("Jobs-Test", "churn")
			if err := m.EncodeJSON(map[string]any{"churn": i}); err != nil {
				t.Error(err)
				m.Release()
				return
			}
			if err := bus.PublishOut(ctx, js, m); err != nil {
				t.Error(err)
				return
			}
			if i%16 == 15 {
				if err := wait(ctx); err != nil {
					t.Error(err)
					return
				}
			}
		}
	})
	m := bus.NewOutMsg("lossy.out")
	m.SetHeader("Jobs-Test", "resent")
	if err := m.EncodeJSON(map[string]any{"payload": 1}); err != nil {
		t.Fatal(err)
	}
	seq, err := bus.PublishOutAcked(ctx, js, m)
	close(stop)
	churn.Wait()
	if err != nil || seq != 9 {
		t.Fatalf("PublishOutAcked = %d, %v; want 9 after a resend", seq, err)
	}
	first, second := <-copies, <-copies
	want := copyOf{first.id, `{"payload":1}`, "resent"}
	if first.id == "" || first != want || second != want {
		t.Fatalf("copies %+v and %+v, want both %+v", first, second, want)
	}
}
