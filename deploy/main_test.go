package deploy_test

import (
	"testing"

	"go.uber.org/goleak"
)

// The NATS test starts a real server from nats-1.conf and closes it: any
// goroutine left at the end is a leak.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
