// Package deploy_test checks the deployment files: the NATS configurations
// parse with the server's own parser and say what jetjobs relies on, and the
// engine configuration loads.
package deploy_test

import (
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/jetjobs/jetjobs/internal/config"
)

func TestNATSClusterConfigs(t *testing.T) {
	t.Parallel()
	for _, f := range []string{"nats/nats-1.conf", "nats/nats-2.conf", "nats/nats-3.conf"} {
		opts, err := server.ProcessConfigFile(f)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if !opts.JetStream || opts.SyncInterval != time.Second || len(opts.Routes) != 3 || opts.Cluster.Name != "jetjobs" {
			t.Fatalf("%s: jetstream %v sync %s routes %d cluster %q", f, opts.JetStream, opts.SyncInterval,
				len(opts.Routes), opts.Cluster.Name)
		}
	}
}

func TestEngineClusterConfigLoads(t *testing.T) {
	t.Parallel()
	cfg, err := config.Load("engine.cluster.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.NATS.Replicas != 3 || cfg.NATS.URL == "" {
		t.Fatalf("replicas %d url %q", cfg.NATS.Replicas, cfg.NATS.URL)
	}
}
