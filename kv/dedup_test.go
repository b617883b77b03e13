package kv_test

import (
	"testing"
	"time"

	"github.com/jetjobs/jetjobs/kv"
)

func TestSetDuplicateWindow(t *testing.T) {
	t.Parallel()
	_, js := startJetStream(t)
	bucket := newBucketName()
	if _, err := kv.NewStateStore(t.Context(), js, kv.StateConfig{Bucket: bucket}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		bucket string
		window time.Duration
		want   time.Duration // the stream's window after
		err    bool
	}{
		{"shorter", bucket, time.Minute, time.Minute, false},
		{"again: unchanged", bucket, time.Minute, time.Minute, false},
		{"zero: unchanged", bucket, 0, time.Minute, false},
		{"no such bucket", "NOPE_" + bucket, time.Minute, 0, true},
	} {
		err := kv.SetDuplicateWindow(t.Context(), js, tc.bucket, tc.window)
		if (err != nil) != tc.err {
			t.Fatalf("%s: err %v, want error %t", tc.name, err, tc.err)
		}
		if tc.err {
			continue
		}
		s, err := js.Stream(t.Context(), "KV_"+tc.bucket)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.CachedInfo().Config.Duplicates; got != tc.want {
			t.Fatalf("%s: window %s, want %s", tc.name, got, tc.want)
		}
	}
}
