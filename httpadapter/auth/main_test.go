package auth_test

import (
	"testing"

	"go.uber.org/goleak"
)

// The JWKS refresh runs in a goroutine: each test ends it.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
