package fastjson

import (
	"sync/atomic"
	"time"
)

// secondText is one second of wall time at one UTC offset, formatted as
// time.RFC3339Nano writes it: the "2006-01-02T15:04:05" and the zone ("Z"
// or "+07:00"); ok is false when AppendText refuses the time (year outside
// 0..9999, offset of a day or more).
type secondText struct {
	unix   int64 // t.Unix()
	offset int   // seconds east of UTC
	ok     bool
	date   [19]byte
	zone   string
}

// seconds are the seconds appendRFC3339Nano formatted last, by the second
// modulo 7. An engine writes several times per job (records, events, audit
// entries), most of them in the same second as the one before, and a
// record's deadline in another (7 slots: a deadline a whole number of
// hours or minutes ahead takes another slot than now): they share its
// date and clock, and only the nanoseconds are written. time's own
// formatting was half the cost of writing an audit entry by hand.
var seconds [7]atomic.Pointer[secondText]

// appendRFC3339Nano appends t as t.AppendText does (time.RFC3339Nano);
// false (b unchanged) where AppendText fails. FuzzAppendTime holds the two
// equal.
func appendRFC3339Nano(b []byte, t time.Time) ([]byte, bool) {
	_, offset := t.Zone()
	unix := t.Unix()
	slot := &seconds[uint64(unix)%uint64(len(seconds))]
	st := slot.Load()
	if st == nil || st.unix != unix || st.offset != offset {
		st = newSecondText(t, unix, offset)
		slot.Store(st)
	}
	if !st.ok {
		return b, false
	}
	b = append(b, st.date[:]...)
	if ns := t.Nanosecond(); ns != 0 {
		var frac [10]byte
		frac[0] = '.'
		for i := 9; i >= 1; i-- {
			frac[i] = byte('0' + ns%10)
			ns /= 10
		}
		n := 10
		for frac[n-1] == '0' {
			n--
		}
		b = append(b, frac[:n]...)
	}
	return append(b, st.zone...), true
}

// newSecondText formats t's second with AppendText itself.
func newSecondText(t time.Time, unix int64, offset int) *secondText {
	st := &secondText{unix: unix, offset: offset}
	b, err := t.AppendText(make([]byte, 0, 40))
	if err != nil || len(b) < 20 {
		return st
	}
	copy(st.date[:], b[:19])
	rest := b[19:]
	if len(rest) > 0 && rest[0] == '.' {
		i := 1
		for i < len(rest) && '0' <= rest[i] && rest[i] <= '9' {
			i++
		}
		rest = rest[i:]
	}
	st.zone, st.ok = string(rest), true
	return st
}
