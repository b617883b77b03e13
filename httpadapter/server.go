package httpadapter

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// Server is an HTTP server for the adapter's router with sane timeouts and a
// graceful stop that also ends open event streams.
type Server struct {
	addr string
	srv  *http.Server
	log  zerolog.Logger
	tls  *tls.Config // nil: plain HTTP

	mu      sync.Mutex
	ln      net.Listener
	drain   chan struct{} // closed by Stop: event streams end
	done    chan struct{} // closed when Serve returns
	started bool
	stopped bool
}

// NewServer prepares a server for h on addr (":8080", "127.0.0.1:0").
// There is no write timeout, so that event streams can stay open; stage
// calls are bounded by Options.RequestTimeout.
func NewServer(addr string, h http.Handler, log zerolog.Logger) *Server {
	s := &Server{addr: addr, log: log, drain: make(chan struct{}), done: make(chan struct{})}
	s.srv = &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		BaseContext: func(net.Listener) context.Context {
			return context.WithValue(context.Background(), drainKey, s.drain)
		},
	}
	return s
}

// UseTLS makes the server speak HTTPS with cfg (its certificates, and
// ClientCAs/ClientAuth for client certificates). Call it before Start.
func (s *Server) UseTLS(cfg *tls.Config) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tls = cfg
}

// Start listens and serves in the background; it returns once the address
// is bound, or with an error that names the address.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.stopped:
		return errors.New("httpadapter: server already stopped")
	case s.started:
		return errors.New("httpadapter: server already started")
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.addr)
	if err != nil {
		return fmt.Errorf("httpadapter: listen on %s: %w", s.addr, err)
	}
	scheme := "http"
	if s.tls != nil {
		ln, scheme = tls.NewListener(ln, s.tls), "https"
	}
	s.ln, s.started = ln, true
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error().Err(err).Str("addr", ln.Addr().String()).Msg("HTTP server failed")
		}
	}()
	s.log.Info().Str("addr", ln.Addr().String()).Str("scheme", scheme).Msg("HTTP server listening")
	return nil
}

// Addr is the bound address once started (the real port for ":0"), else
// the configured one.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		return s.ln.Addr().String()
	}
	return s.addr
}

// Stop ends event streams, stops taking requests and waits for the ones in
// flight until ctx ends; then it closes what is left. Safe to call twice,
// and before Start.
func (s *Server) Stop(ctx context.Context) error {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return nil
	}
	s.stopped = true
	started := s.started
	close(s.drain)
	s.mu.Unlock()
	if !started {
		return nil
	}
	err := s.srv.Shutdown(ctx)
	if err != nil {
		_ = s.srv.Close()
	}
	<-s.done
	s.log.Info().Msg("HTTP server stopped")
	return err
}
