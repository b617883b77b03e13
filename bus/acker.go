package bus

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
)

// acker publishes to JetStream without waiting and reads the server's
// acknowledgements itself: one inbox subscription per connection, a token
// per publish, and a counter per waiter instead of a future and two
// channels per publish. Profiled on a burn-down, nats.go's async publish
// and its reflection-decoded PubAck were 15% of the engine's CPU; a
// success ack is parsed here by hand (errors still go through
// encoding/json).
//
// A publish not acknowledged within the per-publish retry delay (a stream
// leader lost mid-write: the message went nowhere and no answer will come)
// is sent again, with the same Nats-Msg-Id, until the whole timeout has
// passed; so is one answered 503 (no stream leader yet). Every publish
// carries a Nats-Msg-Id (one is given to those without) so that a resend
// of a write that was in fact stored is answered from the stream's
// duplicate window with the original sequence, never stored twice, and
// never taken for a failed compare-and-set.
type acker struct {
	nc      *nats.Conn
	prefix  string // the inbox subscribed to, without the final token
	ids     string // prefix of the Nats-Msg-Id given to publishes without one
	sub     *nats.Subscription
	timeout time.Duration
	retry   time.Duration // resend a publish not acknowledged after this

	next    atomic.Uint64
	mu      sync.Mutex
	pending map[uint64]pendingAck
	closed  bool
	stop    chan struct{}
	stopped sync.Once
	swept   sync.WaitGroup
}

type pendingAck struct {
	w       *waiter
	msg     *nats.Msg // kept to be sent again
	out     *OutMsg   // msg's pooled parts, if it has them: released when it leaves pending
	first   time.Time // the first send: the timeout counts from it
	sent    time.Time // the last send: the retry delay counts from it
	lastErr error     // why the last send was not stored (a 503), if it was answered
}

// PublishRetryAfter is how long a pipelined publish waits for its
// acknowledgement before it is sent again (capped at half the ack
// timeout). A JetStream leader election takes seconds; a healthy ack takes
// milliseconds, and a resend that was not needed is deduplicated.
const PublishRetryAfter = 2 * time.Second

// newAcker subscribes to a fresh inbox on nc. timeout bounds each wait for
// acknowledgements (a lost ack must not hold a command forever).
func newAcker(nc *nats.Conn, timeout time.Duration) (*acker, error) {
	a := &acker{nc: nc, prefix: nc.NewInbox(), // under the connection's inbox prefix
		ids: "jj-" + nuid.Next() + ".", timeout: timeout, retry: min(PublishRetryAfter, max(timeout/2, time.Millisecond)),
		pending: map[uint64]pendingAck{}, stop: make(chan struct{})}
	sub, err := nc.Subscribe(a.prefix+".*", a.handle)
	if err != nil {
		return nil, fmt.Errorf("bus: subscribe to acknowledgements: %w", err)
	}
	a.sub = sub
	a.swept.Add(1)
	go a.sweep()
	return a, nil
}

// sweep sends again the publishes not acknowledged within the retry
// delay and fails those not acknowledged within the timeout, a few times
// per retry delay: one goroutine instead of a timer per wait.
func (a *acker) sweep() {
	defer a.swept.Done()
	tick := time.NewTicker(max(a.retry/4, 10*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-a.stop:
			return
		case now := <-tick.C:
			var late []pendingAck
			var again []pendingAck
			a.mu.Lock()
			for id, p := range a.pending {
				switch {
				case now.Sub(p.first) >= a.timeout:
					late = append(late, p)
					delete(a.pending, id)
				case now.Sub(p.sent) >= a.retry:
					p.sent = now
					a.pending[id] = p
					if p.out != nil {
						p.out.hold() // its acknowledgement may come while it is sent again
					}
					again = append(again, p)
				}
			}
			a.mu.Unlock()
			for _, p := range again {
				_ = a.nc.PublishMsg(p.msg) // on failure the next sweep tries again, or gives up
				p.out.Release()
			}
			for _, p := range late {
				err := p.lastErr
				if err == nil {
					err = nats.ErrTimeout
				}
				p.w.acked(0, fmt.Errorf("bus: publish to %s not acknowledged within %s: %w", p.msg.Subject, a.timeout, err))
				p.out.Release()
			}
		}
	}
}

// close stops reading acknowledgements; waiters still pending fail. Safe
// twice.
func (a *acker) close() {
	a.stopped.Do(func() { close(a.stop) })
	a.swept.Wait()
	_ = a.sub.Unsubscribe()
	a.mu.Lock()
	pending := a.pending
	a.pending, a.closed = map[uint64]pendingAck{}, true
	a.mu.Unlock()
	for _, p := range pending {
		p.w.acked(0, fmt.Errorf("bus: publish to %s: %w", p.msg.Subject, nats.ErrConnectionClosed))
		p.out.Release()
	}
}

// publish sends msg with a reply subject of its own; its acknowledgement
// goes to w. out, when not nil, holds msg's pooled parts: publish takes it
// over and releases it once msg is no longer pending.
func (a *acker) publish(msg *nats.Msg, out *OutMsg, w *waiter) error {
	id := a.next.Add(1) // the lock is taken once, to make it pending
	// msg is complete before the sweeper can see it (it may resend it).
	// The reply subject is built in one allocation; the token is its end.
	var buf [64]byte // an inbox prefix and a token fit; a longer one goes to the heap
	reply := append(append(buf[:0], a.prefix...), '.')
	reply = strconv.AppendUint(reply, id, 36)
	msg.Reply = string(reply)
	token := msg.Reply[len(a.prefix)+1:]
	if msg.Header == nil {
		msg.Header = nats.Header{}
	}
	if len(msg.Header[nats.MsgIdHdr]) == 0 {
		if out != nil {
			out.SetHeader(nats.MsgIdHdr, a.ids+token)
		} else {
			msg.Header[nats.MsgIdHdr] = []string{a.ids + token}
		}
	}
	now := time.Now()
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		out.Release()
		return fmt.Errorf("bus: publish to %s: %w", msg.Subject, nats.ErrConnectionClosed)
	}
	w.add()
	if out != nil {
		out.hold() // one reference for pending, one for this send
	}
	a.pending[id] = pendingAck{w: w, msg: msg, out: out, first: now, sent: now}
	a.mu.Unlock()
	err := a.nc.PublishMsg(msg)
	if err != nil {
		err = fmt.Errorf("bus: publish to %s: %w", msg.Subject, err)
		if a.forget(id) { // else its acknowledgement, or the sweep, counted it
			w.acked(0, nil)
		}
	}
	out.Release()
	return err
}

// forget drops a pending publish that was not sent; false if it was no
// longer pending.
func (a *acker) forget(id uint64) bool {
	a.mu.Lock()
	p, ok := a.pending[id]
	delete(a.pending, id)
	a.mu.Unlock()
	if ok {
		p.out.Release()
	}
	return ok
}

// handle takes one acknowledgement.
func (a *acker) handle(m *nats.Msg) {
	id, err := strconv.ParseUint(m.Subject[len(a.prefix)+1:], 36, 64)
	if err != nil {
		return
	}
	seq, err := parseAck(m)
	a.mu.Lock()
	p, ok := a.pending[id]
	if ok && errors.Is(err, jetstream.ErrNoStreamResponse) && time.Since(p.first) < a.timeout {
		// No stream leader to take it (an election): send it again later.
		p.lastErr = err
		a.pending[id] = p
		a.mu.Unlock()
		return
	}
	delete(a.pending, id)
	a.mu.Unlock()
	if !ok {
		return // its waiter gave up
	}
	if err != nil {
		err = fmt.Errorf("bus: publish to %s: %w", p.msg.Subject, err)
	}
	p.out.Release()
	p.w.acked(seq, err)
}

var (
	errorKey = []byte(`"error"`)
	seqKey   = []byte(`"seq":`)
)

// parseAck reads a JetStream publish acknowledgement: the stored sequence,
// or the server's error (a *jetstream.APIError, as nats.go returns it).
func parseAck(m *nats.Msg) (uint64, error) {
	if len(m.Data) == 0 {
		if m.Header.Get("Status") == "503" {
			return 0, jetstream.ErrNoStreamResponse
		}
		return 0, errors.New("empty acknowledgement")
	}
	if !bytes.Contains(m.Data, errorKey) {
		if i := bytes.Index(m.Data, seqKey); i >= 0 {
			rest := m.Data[i+len(seqKey):]
			var seq uint64
			n := 0
			for ; n < len(rest) && n < 19 && rest[n] >= '0' && rest[n] <= '9'; n++ { // 19 digits never overflow
				seq = seq*10 + uint64(rest[n]-'0')
			}
			if n > 0 && (n == len(rest) || rest[n] < '0' || rest[n] > '9') {
				return seq, nil
			}
		}
	}
	var ack struct {
		Error *jetstream.APIError `json:"error"`
		Seq   uint64              `json:"seq"`
	}
	if err := json.Unmarshal(m.Data, &ack); err != nil {
		return 0, fmt.Errorf("unreadable acknowledgement %q: %w", m.Data, err)
	}
	if ack.Error != nil {
		return 0, ack.Error
	}
	return ack.Seq, nil
}

// waiter counts the acknowledgements still due for a group of publishes
// (one command's, or a single synchronous write) and keeps the first
// failure.
type waiter struct {
	mu   sync.Mutex
	left int
	seq  uint64 // of the last acknowledgement
	err  error
	wake chan struct{}
}

func newWaiter() *waiter { return &waiter{wake: make(chan struct{}, 1)} }

// waiters keeps the waiters of single writes (PublishAcked), one per
// execution record write otherwise.
var waiters = sync.Pool{New: func() any { return newWaiter() }}

// recycle gives w back to waiters if no acknowledgement is still due to it:
// each pending publish counts itself down once, under w.mu, and after that
// only signals wake, which a later user of w takes for a spurious wake-up.
// A waiter that gave up with publishes due (a timeout, a cancelled ctx) is
// left to the garbage collector, as the sweep may still count one down.
func (w *waiter) recycle() {
	w.mu.Lock()
	done := w.left <= 0
	if done {
		w.left, w.seq, w.err = 0, 0, nil
	}
	w.mu.Unlock()
	if !done {
		return
	}
	select {
	case <-w.wake:
	default:
	}
	waiters.Put(w)
}

func (w *waiter) add() {
	w.mu.Lock()
	w.left++
	w.mu.Unlock()
}

func (w *waiter) acked(seq uint64, err error) {
	w.mu.Lock()
	w.left--
	w.seq = seq
	if err != nil && w.err == nil {
		w.err = err
	}
	done := w.left <= 0
	w.mu.Unlock()
	if done {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

// wait returns once every acknowledgement is in (the first failure, if
// any) or ctx ends; the acker's sweep fails what is not acknowledged within
// its timeout. Acks that come later are dropped.
func (w *waiter) wait(ctx context.Context, a *acker) (uint64, error) {
	for {
		w.mu.Lock()
		left, seq, err := w.left, w.seq, w.err
		w.mu.Unlock()
		if left <= 0 || err != nil {
			if left > 0 {
				a.dropWaiter(w)
			}
			return seq, err
		}
		select {
		case <-w.wake:
		case <-ctx.Done():
			a.dropWaiter(w)
			return 0, ctx.Err()
		}
	}
}

// dropWaiter forgets the publishes w still waits for.
func (a *acker) dropWaiter(w *waiter) {
	var dropped []*OutMsg
	a.mu.Lock()
	for id, p := range a.pending {
		if p.w == w {
			delete(a.pending, id)
			if p.out != nil {
				dropped = append(dropped, p.out)
			}
		}
	}
	a.mu.Unlock()
	for _, m := range dropped {
		m.Release()
	}
}
