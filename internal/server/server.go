// Package server runs Faultline's HTTP listener (:7070): the query API and UI register on its
// mux; it serves /ready and /metrics itself, and checks the bearer token.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"path"
	"strings"
	"sync/atomic"
	"time"

	"github.com/grafana/dskit/services"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/faultline/faultline/internal/auth"
)

// Config is the HTTP listener's configuration.
type Config struct {
	HTTPAddr        string        `yaml:"http_addr"`
	TLSCertFile     string        `yaml:"tls_cert_file"`
	TLSKeyFile      string        `yaml:"tls_key_file"`
	AuthToken       string        `yaml:"auth_token"`
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
}

// RegisterFlags registers the listener's flags and sets the defaults.
func (c *Config) RegisterFlags(f *flag.FlagSet) {
	f.StringVar(&c.HTTPAddr, "http.addr", ":7070", "Address of the HTTP API, UI, /ready and /metrics.")
	f.StringVar(&c.TLSCertFile, "http.tls-cert-file", "", "PEM certificate: serve HTTPS (with -http.tls-key-file).")
	f.StringVar(&c.TLSKeyFile, "http.tls-key-file", "", "PEM private key for -http.tls-cert-file.")
	f.StringVar(&c.AuthToken, "http.auth-token", "", "If set, HTTP requests must carry 'Authorization: Bearer TOKEN', except /ready and the web UI's static files (the UI asks for the token and sends it with its API calls).")
	f.DurationVar(&c.ShutdownTimeout, "http.shutdown-timeout", 10*time.Second, "How long in-flight HTTP requests may take to finish on shutdown.")
}

// Validate checks the listener's settings.
func (c *Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		return fmt.Errorf("http.addr %q: %w", c.HTTPAddr, err)
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		return errors.New("http.tls-cert-file and http.tls-key-file must be set together")
	}
	if c.ShutdownTimeout <= 0 {
		return errors.New("http.shutdown-timeout must be positive")
	}
	return nil
}

// Server is the HTTP listener as a dskit service.
type Server struct {
	services.Service
	cfg      Config
	logger   *slog.Logger
	mux      *http.ServeMux
	srv      *http.Server
	listener net.Listener
	ready    atomic.Pointer[func() error]
	draining atomic.Bool
}

// New builds the server; gatherer is what /metrics exposes.
func New(cfg Config, logger *slog.Logger, gatherer prometheus.Gatherer) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, logger: logger, mux: http.NewServeMux()}
	s.mux.HandleFunc("GET /ready", s.serveReady)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{}))
	// Profiles, for "where does the CPU go" under load; behind the token like everything else.
	s.mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	s.mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	s.mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	s.mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	s.mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	s.srv = &http.Server{
		Handler:           auth.HTTP(cfg.AuthToken, s.mux, s.open),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	s.Service = services.NewBasicService(s.starting, s.running, s.stopping)
	return s, nil
}

// Mux is where modules register their routes, before the server starts.
func (s *Server) Mux() *http.ServeMux { return s.mux }

// uiPattern is the catch-all route: it takes whatever no other route matches. It carries no
// method, because a method-less route ("/api/v1/topology", "/prometheus/") and "GET /" would
// overlap with neither more specific, which ServeMux refuses.
const uiPattern = "/"

// protectedPrefixes are where data and internals live. They need the token whatever route
// serves them, including the UI's 404 for an unknown API path (which would tell a caller
// without the token which endpoints exist).
var protectedPrefixes = []string{"/api", "/prometheus", "/jaeger", "/metrics", "/debug"}

// HandleUI serves the web app at every path no other route matches; call it before the
// server starts. With -http.auth-token, what it serves is open: the app's files hold no
// data, and the app asks for the token and sends it with its API calls.
func (s *Server) HandleUI(h http.Handler) { s.mux.Handle(uiPattern, h) }

// open decides which requests need no token: /ready (probes carry none), and requests that
// the mux hands to the UI outside the protected prefixes. Everything else, including routes
// a module may add later outside those prefixes, needs the token.
func (s *Server) open(r *http.Request) bool {
	if r.URL.Path == "/ready" {
		return true
	}
	// The cleaned path: "//api/…" and "/x/../api/…" are API paths (the mux redirects them).
	clean := path.Clean("/" + r.URL.Path)
	for _, p := range protectedPrefixes {
		if clean == p || strings.HasPrefix(clean, p+"/") {
			return false
		}
	}
	// Asking the mux itself, rather than listing the UI's paths, keeps this in step with the
	// routes: a request it would not give to the UI is not open.
	_, pattern := s.mux.Handler(r)
	return pattern == uiPattern
}

// SetReadiness sets the check behind /ready; until it is set /ready answers 503.
func (s *Server) SetReadiness(check func() error) { s.ready.Store(&check) }

// Draining makes /ready fail from now on, so load balancers stop sending before shutdown.
func (s *Server) Draining() { s.draining.Store(true) }

// Addr is the address the server listens on, once started.
func (s *Server) Addr() net.Addr { return s.listener.Addr() }

func (s *Server) serveReady(w http.ResponseWriter, _ *http.Request) {
	err := errors.New("starting")
	if s.draining.Load() {
		err = errors.New("shutting down")
	} else if check := s.ready.Load(); check != nil {
		err = (*check)()
	}
	if err != nil {
		http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	_, _ = w.Write([]byte("ready\n"))
}

func (s *Server) starting(ctx context.Context) error {
	l, err := (&net.ListenConfig{}).Listen(ctx, "tcp", s.cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on http.addr: %w", err)
	}
	if s.cfg.TLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(s.cfg.TLSCertFile, s.cfg.TLSKeyFile)
		if err != nil {
			_ = l.Close()
			return fmt.Errorf("load HTTP TLS key pair: %w", err)
		}
		l = tls.NewListener(l, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	}
	s.listener = l
	s.logger.Info("HTTP server listening", "addr", l.Addr().String(), "tls", s.cfg.TLSCertFile != "")
	return nil
}

func (s *Server) running(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(s.listener) }()
	select {
	case <-ctx.Done():
		return nil
	case err := <-errc:
		return fmt.Errorf("HTTP server: %w", err)
	}
}

func (s *Server) stopping(_ error) error {
	s.draining.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		return fmt.Errorf("shut down HTTP server: %w", err)
	}
	return nil
}
