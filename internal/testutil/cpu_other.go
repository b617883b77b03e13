//go:build !unix

package testutil

import "time"

// ProcessCPU is not measured here: the cpu-ns/op metric reads 0.
func ProcessCPU() time.Duration { return 0 }
