package testutil_test

import (
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jetjobs/jetjobs/internal/testutil"
)

func TestSyncBufferCountsConcurrentWrites(t *testing.T) {
	t.Parallel()
	var b testutil.SyncBuffer
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = b.Write([]byte("line\n"))
		}()
	}
	wg.Wait()
	if n := b.Count("line"); n != 8 {
		t.Fatalf("Count = %d, want 8 (%q)", n, b.String())
	}
}

func TestFreePortCanBeListenedOn(t *testing.T) {
	t.Parallel()
	p := testutil.FreePort(t)
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
	if err != nil {
		t.Fatalf("port %d: %v", p, err)
	}
	l.Close()
}

func TestEventuallySeesTheCondition(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	testutil.Eventually(t, "three polls", 5*time.Second, func() bool { return n.Add(1) >= 3 })
	if n.Load() != 3 {
		t.Fatalf("polled %d times, want 3", n.Load())
	}
}
