package fastjson

import (
	"encoding/json"
	"math"
	"testing"
	"time"
)

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "<b>\"x\" & y</b>", "a\u2028b\u2029c", "\x00\x01\b\f\n\r\t\x1f\x7f", "é中🙂",
		"\xff", "a\xc3", "\xed\xa0\x80", `back\slash`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := AppendString([]byte("x"), s); string(got[1:]) != string(want) {
			t.Fatalf("%q: got %s, want %s", s, got[1:], want)
		}
	})
}

func TestAppendTimeAndFloat(t *testing.T) {
	t.Parallel()
	for _, at := range []time.Time{{}, time.Date(2026, 11, 27, 3, 4, 5, 6000, time.FixedZone("X", -5*3600)),
		time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), time.Now(), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)} {
		want, err := json.Marshal(at)
		got, ok := AppendTime([]byte("x"), at)
		if ok != (err == nil) || ok && string(got[1:]) != string(want) || !ok && string(got) != "x" {
			t.Errorf("%v: got %s %v, want %s %v", at, got, ok, want, err)
		}
	}
	for _, f := range []float64{0, math.Copysign(0, -1), 1, -1.25, 0.001, 1e-6, 1e-7, 123456789.125, 1e20, 1e21, 1.5e300,
		5e-324, math.MaxFloat64, math.NaN(), math.Inf(1), math.Inf(-1)} {
		want, err := json.Marshal(f)
		got, ok := AppendFloat64([]byte("x"), f)
		if ok != (err == nil) || ok && string(got[1:]) != string(want) || !ok && string(got) != "x" {
			t.Errorf("%v: got %s %v, want %s %v", f, got, ok, want, err)
		}
	}
}
