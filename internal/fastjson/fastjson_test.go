package fastjson_test

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/jetjobs/jetjobs/internal/fastjson"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

type own struct{ N int }

func (own) MarshalJSON() ([]byte, error) { return []byte(`{"own":true}`), nil }

// Marshal, a reused Writer and Size agree with encoding/json, on the fast
// path and on the slow one.
func TestEncodingsAgree(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 7, 1, 2, 3, 4000, time.UTC)
	cases := map[string]struct {
		v    any
		user []any
	}{
		"plain":     {map[string]any{"html": "<a&b>", "n": 1.5, "list": []any{nil, true, "é🙂"}, "t": at.String()}, nil},
		"user data": {struct{ D map[string]any }{map[string]any{"x": 1}}, []any{map[string]any{"x": 1}}},
		"own type":  {map[string]any{"o": own{1}}, []any{map[string]any{"o": own{1}}}},
		"long":      {map[string]any{"s": string(make([]byte, 70<<10))}, nil},
		"empty":     {map[string]any{}, nil},
	}
	var w fastjson.Writer // reused across cases
	for name, tc := range cases {
		want, err := json.Marshal(tc.v)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := fastjson.Marshal(tc.v, tc.user...); err != nil || string(got) != string(want) {
			t.Errorf("%s: Marshal = %s, %v; want %s", name, got, err, want)
		}
		if got, err := w.Encode(tc.v, tc.user...); err != nil || string(got) != string(want) {
			t.Errorf("%s: Writer.Encode = %s, %v; want %s", name, got, err, want)
		}
		if n, err := fastjson.Size(tc.v, tc.user...); err != nil || n != len(want) {
			t.Errorf("%s: Size = %d, %v; want %d", name, n, err, len(want))
		}
	}
	if _, err := fastjson.Size(map[string]any{"x": math.NaN()}); err == nil {
		t.Error("Size of NaN: no error")
	}
	if _, err := fastjson.Size(map[string]any{"c": make(chan int)}, map[string]any{"c": make(chan int)}); err == nil {
		t.Error("Size of a channel: no error")
	}
}
