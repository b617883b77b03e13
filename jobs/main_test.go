package jobs_test

import (
	"testing"

	"go.uber.org/goleak"
)

// The tests of package jobs start goroutines only in races they wait for, so
// any goroutine left at the end is a leak.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
