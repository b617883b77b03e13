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

func FuzzAppendTime(f *testing.F) {
	f.Add(int64(0), int64(0), 0)
	f.Add(int64(1796000000), int64(123456789), 3600)
	f.Add(int64(1796000000), int64(100), -5*3600-30)
	f.Add(int64(-62135596800-86400), int64(5), 0)
	f.Add(int64(253402300800), int64(0), 0)
	f.Add(int64(1796000000), int64(0), 24*3600)
	f.Fuzz(func(t *testing.T, sec, nsec int64, offset int) {
		at := time.Unix(sec, nsec).In(time.FixedZone("Z", offset%(48*3600)))
		for range 2 { // a miss, then a hit of the cached second
			want, err := at.MarshalJSON()
			got, ok := AppendTime([]byte("x"), at)
			if ok != (err == nil) || ok && string(got[1:]) != string(want) || !ok && string(got) != "x" {
				t.Fatalf("%v: got %s %v, want %s %v", at, got, ok, want, err)
			}
		}
	})
}

func FuzzAppendPlain(f *testing.F) {
	for _, s := range []string{`{"a":1,"b":[true,null,"x<>&"],"c":{"z":1e21,"a":1e-7,"m":-0}}`, `[]`, `{}`, `"\u2028\ud800"`,
		`[1.5,2,123456789012345678901234567890]`, `{"é":"\u00ff","":""}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var v any
		if json.Unmarshal(data, &v) != nil {
			return
		}
		want, err := json.Marshal(v)
		got, ok := AppendPlain([]byte("x"), v)
		if ok != (err == nil) || ok && string(got[1:]) != string(want) {
			t.Fatalf("%s: got %s %v, want %s %v", data, got, ok, want, err)
		}
	})
}

func TestAppendPlainDeclines(t *testing.T) {
	t.Parallel()
	type own struct{ A int }
	for _, v := range []any{own{1}, map[string]any{"o": own{1}}, []any{json.Number("1")}, float32(1), math.NaN(),
		map[string]string{"a": "b"}} {
		if got, ok := AppendPlain([]byte("x"), v); ok || string(got) != "x" {
			t.Errorf("%#v: %s %v, want declined", v, got, ok)
		}
	}
	if got, ok := AppendPlain(nil, map[string]any{"i": 1, "j": int64(-2), "n": nil, "l": []any(nil)}); !ok ||
		string(got) != `{"i":1,"j":-2,"l":null,"n":null}` {
		t.Errorf("got %s %v", got, ok)
	}
}
