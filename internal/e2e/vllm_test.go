package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeVLLM serves a vLLM V1 exposition whose counters advance with wall
// time since the first scrape: a busy server with requests running, output
// tokens at a steady rate and TTFT/ITL histograms that keep growing, so a
// tuning loop leaves warm-up and decides. It also counts scrapes.
type fakeVLLM struct {
	srv *httptest.Server
	// running is the running-requests gauge it reports, so a decision line
	// shows which server its loop read.
	running int

	mu      sync.Mutex
	start   time.Time
	scrapes int
}

// Rates of the simulated server.
const (
	fakeTokensPerS   = 2000.0 // output tokens
	fakeRequestsPerS = 10.0   // finished requests (one TTFT each)
	fakeRunning      = 8
)

func newFakeVLLM(t *testing.T) *fakeVLLM { return newFakeVLLMRunning(t, fakeRunning) }

// newFakeVLLMRunning is a fake server that reports running requests.
func newFakeVLLMRunning(t *testing.T, running int) *fakeVLLM {
	t.Helper()
	f := &fakeVLLM{running: running}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeVLLM) url() string { return f.srv.URL + "/metrics" }

func (f *fakeVLLM) scraped() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.scrapes
}

func (f *fakeVLLM) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/metrics" {
		http.NotFound(w, r)
		return
	}
	f.mu.Lock()
	if f.start.IsZero() {
		f.start = time.Now()
	}
	f.scrapes++
	elapsed := time.Since(f.start).Seconds()
	f.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	fmt.Fprint(w, vllmExposition(elapsed, f.running))
}

// vllmExposition renders the server's metrics after elapsed seconds.
func vllmExposition(elapsed float64, running int) string {
	const lbl = `engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"`
	gen := fakeTokensPerS * elapsed
	reqs := fakeRequestsPerS * elapsed
	var b strings.Builder
	gauge := func(name string, v float64) {
		fmt.Fprintf(&b, "# HELP %s test\n# TYPE %s gauge\n%s{%s} %g\n", name, name, name, lbl, v)
	}
	counter := func(name string, v float64) {
		fmt.Fprintf(&b, "# HELP %s test\n# TYPE %s counter\n%s_total{%s} %g\n", name, name, name, lbl, v)
	}
	// hist puts every observation at value v.
	hist := func(name string, bounds []float64, v, count float64) {
		fmt.Fprintf(&b, "# HELP %s test\n# TYPE %s histogram\n", name, name)
		for _, le := range bounds {
			n := 0.0
			if v <= le {
				n = count
			}
			fmt.Fprintf(&b, "%s_bucket{engine=\"0\",le=\"%g\",model_name=\"meta-llama/Llama-3.1-8B-Instruct\"} %g\n", name, le, n)
		}
		fmt.Fprintf(&b, "%s_bucket{engine=\"0\",le=\"+Inf\",model_name=\"meta-llama/Llama-3.1-8B-Instruct\"} %g\n", name, count)
		fmt.Fprintf(&b, "%s_sum{%s} %g\n%s_count{%s} %g\n", name, lbl, v*count, name, lbl, count)
	}
	gauge("vllm:num_requests_running", float64(running))
	gauge("vllm:num_requests_waiting", 0)
	gauge("vllm:kv_cache_usage_perc", 0.3)
	counter("vllm:prompt_tokens", 4*gen)
	counter("vllm:generation_tokens", gen)
	counter("vllm:prefix_cache_queries", 4*gen)
	counter("vllm:prefix_cache_hits", gen)
	counter("vllm:num_preemptions", 0)
	fmt.Fprintf(&b, "# HELP vllm:request_success test\n# TYPE vllm:request_success counter\nvllm:request_success_total{%s,finished_reason=\"stop\"} %g\n", lbl, reqs)
	latency := []float64{0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}
	hist("vllm:time_to_first_token_seconds", latency, 0.08, reqs)
	hist("vllm:inter_token_latency_seconds", latency, 0.015, gen)
	hist("vllm:request_time_per_output_token_seconds", latency, 0.015, reqs)
	hist("vllm:e2e_request_latency_seconds", latency, 2.5, reqs)
	hist("vllm:iteration_tokens_total", []float64{1, 8, 16, 32, 64, 128, 256, 512}, 16, gen/16)
	return b.String()
}
