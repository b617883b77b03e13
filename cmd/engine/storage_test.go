package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jetjobs/jetjobs"
	"github.com/jetjobs/jetjobs/cmd/engine/internal/demo"
	"github.com/jetjobs/jetjobs/jetjobstest"
	"github.com/jetjobs/jetjobs/jobs"
)

// engine call says when the engine's storage is full.
func TestCallSaysStorageFull(t *testing.T) {
	h := jetjobstest.New(t, func(r *jobs.Registry) {
		if err := demo.Register(r); err != nil {
			t.Fatal(err)
		}
	}, jetjobstest.WithConfig(func(c *jetjobs.Config) {
		c.NATS.Limits.State.MaxBytes = 8 << 10
	}))
	t.Setenv("JETJOBS_NATS_URL", h.Server.ClientURL())
	var err error
	for i := 0; i < 100; i++ {
		var out, errOut bytes.Buffer
		// A long customerId pads the record (customer-validation takes no other parameter).
		body := fmt.Sprintf(`{"executionId":"full-%03d","parameters":{"customerId":"CUST-%d-%s"}}`, i, i, strings.Repeat("p", 300))
		if err = run(context.Background(), []string{"call", "customer-validation", "execute", body}, &out, &errOut); err != nil {
			break
		}
	}
	if err == nil || !strings.Contains(err.Error(), "storage_full") || !strings.Contains(err.Error(), "storage is full") {
		t.Fatalf("engine call on a full state bucket: %v, want it to say storage_full and that the storage is full", err)
	}
}
