package bus

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetjobs/jetjobs/internal/fastjson"
)

// OutMsg is a JetStream write the engine makes for every job (its events,
// its audit entries, its execution record), built from pooled parts: the
// message, its header map, the backing array of the header values and the
// data buffer come back to a pool once the write is stored or given up.
// nats.go copies a published message into its write buffer before
// PublishMsg returns, but a pipelined write is kept until its
// acknowledgement (it may be sent again), so the pool takes it back from
// whoever sees the write end: the synchronous publish when it returns, the
// acker when the acknowledgement comes, the timeout passes, the waiter gives
// up or the pipeline is released. Profiled on a burn-down, building these
// messages (a header map per event, JSON copied out of the encoder) was a
// tenth of the engine's own allocations.
//
// An OutMsg is owned by one goroutine until it is handed to PublishOut or
// PublishOutAcked, and must not be used after.
type OutMsg struct {
	msg  nats.Msg
	vals []string        // one backing array for the header values
	data fastjson.Writer // the pooled buffer msg.Data is encoded into
	refs atomic.Int32
	pool *sync.Pool // the pool it goes back to
}

// maxPooledData bounds the data buffer an OutMsg keeps when it goes back
// to the pool: a rare large record does not pin its size in every message.
const maxPooledData = 64 << 10

// Two pools, by the size of the header map: clearing a map costs its
// capacity, and most writes (audit entries, records, results, timers) carry
// a few headers where an event carries about fifteen.
var (
	outMsgs      = outMsgPool(8)  // one group of slots: the map stays small
	eventOutMsgs = outMsgPool(16) // an event's ce-* headers, trace included
)

func outMsgPool(headers int) *sync.Pool {
	p := &sync.Pool{}
	p.New = func() any {
		return &OutMsg{msg: nats.Msg{Header: make(nats.Header, headers)}, vals: make([]string, 0, headers), pool: p}
	}
	return p
}

// NewOutMsg starts a write on subject, with no header and no data.
func NewOutMsg(subject string) *OutMsg { return newOutMsg(outMsgs, subject) }

func newOutMsg(pool *sync.Pool, subject string) *OutMsg {
	m := pool.Get().(*OutMsg)
	m.msg.Subject = subject
	m.refs.Store(1)
	return m
}

// SetHeader sets the header key (in its canonical form: it is not
// canonicalized) to one value.
func (m *OutMsg) SetHeader(key, value string) {
	m.vals = append(m.vals, value)
	n := len(m.vals)
	// Capacity n: an append to one value never writes over the next.
	m.msg.Header[key] = m.vals[n-1 : n : n]
}

// Header is the message's header, to read or to add to (an added value
// must be a slice of its own).
func (m *OutMsg) Header() nats.Header { return m.msg.Header }

// Data is the message's payload.
func (m *OutMsg) Data() []byte { return m.msg.Data }

// Subject is the subject the message is published on.
func (m *OutMsg) Subject() string { return m.msg.Subject }

// EncodeJSON sets the data to v encoded as MarshalJSON encodes it
// (userData as there), into the message's pooled buffer.
func (m *OutMsg) EncodeJSON(v any, userData ...any) error {
	b, err := m.data.Encode(v, userData...)
	if err != nil {
		return err
	}
	m.msg.Data = b
	return nil
}

// AppendData sets the data to what appendJSON appends to the message's
// pooled buffer (a record's hand encoder), if it can (true); on false the
// data is unset, for EncodeJSON.
func (m *OutMsg) AppendData(appendJSON func([]byte) ([]byte, bool)) bool {
	b, ok := appendJSON(m.data.B[:0])
	if !ok {
		return false
	}
	m.data.B, m.msg.Data = b, b
	return true
}

// hold takes one more reference to m, for a sender that uses it out of
// the lock that keeps it pending.
func (m *OutMsg) hold() { m.refs.Add(1) }

// Release gives back a message that will not be published. (It drops one
// reference; the last one gives m back to the pool.)
func (m *OutMsg) Release() {
	if m == nil || m.refs.Add(-1) != 0 {
		return
	}
	h := m.msg.Header
	clear(h)
	clear(m.vals) // the values are not kept alive by the pool
	m.vals = m.vals[:0]
	if cap(m.data.B) > maxPooledData {
		m.data.B = nil
	}
	m.msg = nats.Msg{Header: h}
	m.pool.Put(m)
}

// PublishOut is Publish for an OutMsg, which it takes over.
func PublishOut(ctx context.Context, js jetstream.JetStream, m *OutMsg) error {
	p, ok := ctx.Value(pipelineKey{}).(*pipeline)
	if !ok {
		_, err := js.PublishMsg(ctx, &m.msg)
		m.Release()
		return err
	}
	return p.acks.publish(&m.msg, m, p.current())
}

// PublishOutAcked is PublishAcked for an OutMsg, which it takes over.
func PublishOutAcked(ctx context.Context, js jetstream.JetStream, m *OutMsg) (uint64, error) {
	p, ok := ctx.Value(pipelineKey{}).(*pipeline)
	if !ok {
		ack, err := js.PublishMsg(ctx, &m.msg)
		m.Release()
		if err != nil {
			return 0, err
		}
		return ack.Sequence, nil
	}
	w := waiters.Get().(*waiter)
	if err := p.acks.publish(&m.msg, m, w); err != nil {
		return 0, err
	}
	seq, err := w.wait(ctx, p.acks)
	w.recycle()
	return seq, err
}
