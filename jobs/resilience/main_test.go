package resilience_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Every goroutine the policies start (the timeout's stage runner, timers)
// ends with its call or its bubble, so any goroutine left is a leak.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
