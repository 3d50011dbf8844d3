// Package probe is what `gputune probe` reports: what the GPU supports and
// whether gputune could tune it, and what the inference server's /metrics
// offers. It only reads; it never changes a GPU setting to find something out.
package probe

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"strconv"
	"time"

	"github.com/gputune/gputune/nvgpu"
	"github.com/gputune/gputune/scrape"
)

// Options says what to probe.
type Options struct {
	// MetricsURL is the server's /metrics address.
	MetricsURL string
	// Reader observes the GPU; nil means no GPU, with ReaderErr saying why.
	Reader    nvgpu.Reader
	ReaderErr error
	// LockStatus is the caller's word on gputune's lock for this GPU (held
	// by pid N, stale, none).
	LockStatus string
	// Timeout bounds the metrics scrape (default 3 s).
	Timeout time.Duration
}

// Report is the probe's result; JSON is one object with keys version,
// revision, gpu and metrics.
type Report struct {
	// Version and Revision are the gputune binary that probed
	// (internal/buildinfo), for bug reports and fleet inventories.
	Version  string        `json:"version"`
	Revision string        `json:"revision"`
	GPU      GPUReport     `json:"gpu"`
	Metrics  MetricsReport `json:"metrics"`
}

// OK reports whether both parts work, which is exit status 0.
func (r Report) OK() bool { return r.GPU.OK() && r.Metrics.OK() }

// Run probes the GPU and the metrics endpoint. The two parts are
// independent: either may fail and the other still reports.
func Run(ctx context.Context, opt Options) Report {
	return Report{
		GPU:     probeGPU(ctx, opt.Reader, opt.ReaderErr, opt.LockStatus, osPrivilege),
		Metrics: probeMetrics(ctx, opt.MetricsURL, opt.Timeout),
	}
}

// WriteJSON writes the report as one indented JSON object.
func (r Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// Value is a number that encodes NaN and ±Inf as JSON null.
type Value float64

// MarshalJSON writes null for values JSON cannot hold.
func (v Value) MarshalJSON() ([]byte, error) {
	f := float64(v)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, f, 'g', -1, 64), nil
}

// osPrivilege reads this process's effective uid and capabilities.
func osPrivilege() (euid int, procStatus []byte, err error) {
	b, err := os.ReadFile("/proc/self/status")
	return os.Geteuid(), b, err
}

// errNoURL is reported when the caller passes no metrics URL.
var errNoURL = errors.New("no metrics URL given (pass --metrics-url, e.g. http://127.0.0.1:8000/metrics)")

// metricsReachable reports whether err still means the server answered.
func metricsReachable(err error) bool {
	return err == nil || errors.Is(err, scrape.ErrMalformed) || errors.Is(err, scrape.ErrUnknownServer)
}
