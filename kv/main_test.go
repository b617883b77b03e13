package kv_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Every test closes its connections and shuts its servers down, so any
// goroutine left at the end is a real leak.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
