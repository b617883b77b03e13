package bus

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/nats-io/nats-server/v2/server"
)

// EmbeddedCluster makes an embedded server one node of a NATS cluster:
// it listens for routes on Host:Port and dials every URL of Routes. With
// JetStream on every node the nodes form one JetStream cluster, whose
// streams are replicated by their own replica count (nats.replicas).
// internal/natscluster starts whole clusters of these in one process.
type EmbeddedCluster struct {
	Name   string   // required: the cluster's name, the same on every node
	Host   string   // default: the server's client host
	Port   int      // required: the route listener's port
	Routes []string // required: nats-route://host:port of the nodes (its own may be listed)
}

// validate names every bad field under nats.cluster.
func (c *EmbeddedCluster) validate() error {
	var errs []error
	if c.Name == "" || strings.ContainsAny(c.Name, " \t\r\n") {
		errs = append(errs, fmt.Errorf("nats.cluster.name: %q must be set, without spaces", c.Name))
	}
	if c.Port < 1 || c.Port > 65535 {
		errs = append(errs, fmt.Errorf("nats.cluster.port: %d is out of range (1-65535)", c.Port))
	}
	if len(c.Routes) == 0 {
		errs = append(errs, errors.New("nats.cluster.routes: at least one route is required"))
	}
	for _, r := range c.Routes {
		if u, err := url.Parse(r); err != nil || u.Host == "" {
			errs = append(errs, fmt.Errorf("nats.cluster.routes: %q is not a nats-route://host:port URL", r))
		}
	}
	return errors.Join(errs...)
}

// apply sets the server's cluster options; host is the client host, the
// route listener's default.
func (c *EmbeddedCluster) apply(opts *server.Options, host string) error {
	if err := c.validate(); err != nil {
		return err
	}
	routes := make([]*url.URL, 0, len(c.Routes))
	for _, r := range c.Routes {
		u, _ := url.Parse(r) // validated
		routes = append(routes, u)
	}
	h := c.Host
	if h == "" {
		h = host
	}
	opts.Cluster = server.ClusterOpts{Name: c.Name, Host: h, Port: c.Port}
	opts.Routes = routes
	return nil
}
