package exporter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/exporter-toolkit/web"
)

// DefaultPort is the port deploy/ and the docs give --listen. 9400 is
// dcgm-exporter's and the Prometheus project's allocation list (9100-9999)
// is full; 10220 is in no allocation gputune's docs could find and is used
// by none of the exporters that run on GPU nodes (node_exporter 9100,
// dcgm-exporter 9400, nvidia_gpu_exporter 9835, process-exporter 9256,
// the kubelet and kube-proxy 10249-10259). See docs/fleet.md.
const DefaultPort = 10220

// Handler serves the exporter's metrics, with the Go runtime's and this
// process's, from a registry of its own (never the global one).
func (e *Exporter) Handler() (http.Handler, error) {
	reg := prometheus.NewRegistry()
	for _, c := range []prometheus.Collector{
		e,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("exporter: registering metrics: %w", err)
		}
	}
	// promhttp sets a proper Content-Type, which Prometheus 3 requires.
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}), nil
}

// ServerOptions bound what clients of /metrics may hold. The zero value
// takes the defaults below.
type ServerOptions struct {
	// WebConfigFile is exporter-toolkit's web configuration (TLS, basic
	// auth), as --web.config.file of every Prometheus exporter; "" serves
	// plain HTTP.
	WebConfigFile string
	// MaxConns caps open connections (default 32): idle clients must never
	// use up the file descriptors the tuning loops need for NVML and the
	// inference server. Connections past the cap wait in the kernel's
	// accept queue.
	MaxConns int
	// Timeouts: ReadHeader (default 5 s) also closes a connection that
	// never sends a request; Read (10 s), Write (30 s), Idle keep-alive
	// (30 s).
	ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// StallAfter: /-/healthy fails when a GPU's loop has published nothing
	// for this long (default DefaultStallAfter).
	StallAfter time.Duration
}

func (o ServerOptions) withDefaults() ServerOptions {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.ReadHeaderTimeout, 5*time.Second)
	def(&o.ReadTimeout, 10*time.Second)
	def(&o.WriteTimeout, 30*time.Second)
	def(&o.IdleTimeout, 30*time.Second)
	def(&o.StallAfter, DefaultStallAfter)
	if o.MaxConns <= 0 {
		o.MaxConns = 32
	}
	return o
}

// Server is a listening /metrics endpoint.
type Server struct {
	ln      *limitListener
	srv     *http.Server
	log     *slog.Logger
	webConf string
}

// Listen binds addr (host:port; port 0 picks a free one) now, so that a
// taken or malformed address, or a bad web config file, fails before any
// loop starts.
func Listen(addr string, e *Exporter, log *slog.Logger, opts ServerOptions) (*Server, error) {
	opts = opts.withDefaults()
	if opts.WebConfigFile != "" {
		if err := web.Validate(opts.WebConfigFile); err != nil {
			return nil, fmt.Errorf("--web.config.file %s: %w", opts.WebConfigFile, err)
		}
	}
	h, err := e.Handler()
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--listen %s: %w (give host:port, e.g. 127.0.0.1:%d)", addr, err, DefaultPort)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", h)
	mux.Handle("/-/healthy", e.healthy(opts.StallAfter))
	mux.HandleFunc("/-/ready", e.ready)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintln(w, "gputune: metrics at /metrics; probes at /-/healthy and /-/ready")
	})
	return &Server{
		ln: newLimitListener(ln, opts.MaxConns), log: log, webConf: opts.WebConfigFile,
		srv: &http.Server{
			Handler:           mux,
			ReadHeaderTimeout: opts.ReadHeaderTimeout,
			ReadTimeout:       opts.ReadTimeout,
			WriteTimeout:      opts.WriteTimeout,
			IdleTimeout:       opts.IdleTimeout,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		},
	}, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Serve serves until ctx ends, then shuts down.
func (s *Server) Serve(ctx context.Context) error {
	scheme := "http"
	if s.webConf != "" {
		scheme = "http(s), per --web.config.file"
	}
	s.log.Info("serving gputune metrics", "url", "http://"+s.ln.Addr().String()+"/metrics", "scheme", scheme)
	done := make(chan error, 1)
	go func() {
		webConf := s.webConf
		done <- web.Serve(s.ln, s.srv, &web.FlagConfig{WebConfigFile: &webConf}, s.log.With("component", "exporter-toolkit"))
	}()
	select {
	case err := <-done:
		return fmt.Errorf("metrics server: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	err := s.srv.Shutdown(sctx)
	if serr := <-done; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	if err != nil {
		return fmt.Errorf("metrics server: %w", err)
	}
	return nil
}
