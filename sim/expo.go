package sim

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/gputune/gputune/scrape"
)

// ErrUnknownFlavor is returned for a server flavor the simulator cannot serve.
var ErrUnknownFlavor = errors.New("unknown server flavor")

// Flavor is the server the simulation imitates by default.
func (s *Sim) Flavor() scrape.Flavor { return s.flavor }

// Metrics is the in-process view of the server's /metrics in the Sim's
// flavor: exactly what parsing WriteExposition's output yields.
func (s *Sim) Metrics() scrape.Sample { return s.MetricsAs(s.flavor) }

// MetricsAs is Metrics for a given flavor (an unknown flavor yields a
// sample with nothing present).
func (s *Sim) MetricsAs(flavor scrape.Flavor) scrape.Sample {
	e := &s.engine
	st := &e.stats
	smp := scrape.Sample{At: s.WallNow(), Flavor: flavor}
	set := func(sig scrape.Signal, dst *float64, v float64) {
		smp.Present = smp.Present.With(sig)
		*dst = v
	}
	setHist := func(sig scrape.Signal, dst *scrape.Histogram, h *hist, n int) {
		smp.Present = smp.Present.With(sig)
		up, cum := h.cumulative(n)
		*dst = scrape.Histogram{Upper: up, Cumulative: cum, Sum: h.sum, Count: h.total}
	}
	switch flavor {
	case scrape.FlavorVLLMV1, scrape.FlavorVLLMV0:
		set(scrape.SigRunning, &smp.Running, float64(len(e.running)))
		set(scrape.SigWaiting, &smp.Waiting, float64(e.waiting.len()))
		set(scrape.SigKVUsage, &smp.KVUsage, e.kvUsage())
		set(scrape.SigPromptTokens, &smp.PromptTokens, st.promptTokens)
		set(scrape.SigGenTokens, &smp.GenTokens, st.genTokens)
		set(scrape.SigFinished, &smp.Finished, st.finished)
		set(scrape.SigPreemptions, &smp.Preemptions, st.preemptions)
		if flavor == scrape.FlavorVLLMV1 {
			set(scrape.SigPrefixHits, &smp.PrefixHits, st.prefixHits)
			set(scrape.SigPrefixQueries, &smp.PrefixQueries, st.prefixQueries)
			setHist(scrape.SigTTFT, &smp.TTFT, &st.ttft, maxBuckets)
			setHist(scrape.SigITL, &smp.ITL, &st.itl, maxBuckets)
			setHist(scrape.SigTPOT, &smp.TPOT, &st.tpot, maxBuckets)
			setHist(scrape.SigE2E, &smp.E2E, &st.e2e, maxBuckets)
			setHist(scrape.SigIterTokens, &smp.Iter, &st.iterTokens, maxBuckets)
		} else {
			setHist(scrape.SigTTFT, &smp.TTFT, &st.ttft, v0TTFTBuckets)
			setHist(scrape.SigITL, &smp.ITL, &st.itl, v0TPOTBuckets)
			setHist(scrape.SigE2E, &smp.E2E, &st.e2e, v0LatencyBuckets)
			setHist(scrape.SigIterTokens, &smp.Iter, &st.iterTokens, v0IterBuckets)
		}
	case scrape.FlavorSGLang:
		set(scrape.SigRunning, &smp.Running, float64(len(e.running)))
		set(scrape.SigWaiting, &smp.Waiting, float64(e.waiting.len()))
		set(scrape.SigKVUsage, &smp.KVUsage, e.kvUsage())
		set(scrape.SigPromptTokens, &smp.PromptTokens, st.promptTokens)
		set(scrape.SigGenTokens, &smp.GenTokens, st.genTokens)
		set(scrape.SigFinished, &smp.Finished, st.finished)
		setHist(scrape.SigTTFT, &smp.TTFT, &st.sglTTFT, maxBuckets)
		setHist(scrape.SigITL, &smp.ITL, &st.sglITL, maxBuckets)
		setHist(scrape.SigE2E, &smp.E2E, &st.sglE2E, maxBuckets)
	}
	return smp
}

// v0IterBuckets keeps V1's iteration-token edges up to 8192.
const v0IterBuckets = 12

// WriteExposition writes the server's /metrics body in the given flavor
// (vllm-v1 exactly as vLLM's prometheus_client renders it; vllm-v0 and
// sglang with their names, labels and buckets), followed by the simulator's
// ground-truth gauges.
func (s *Sim) WriteExposition(w io.Writer, flavor scrape.Flavor) error {
	x := expoWriter{w: bufio.NewWriterSize(w, 32<<10), created: s.epoch.Unix()}
	switch flavor {
	case scrape.FlavorVLLMV1:
		x.labels = `engine="0",model_name="` + s.engine.model.ServedName + `"`
		x.withCreated = true
		s.writeVLLMV1(&x)
	case scrape.FlavorVLLMV0:
		x.labels = `model_name="` + s.engine.model.ServedName + `"`
		s.writeVLLMV0(&x)
	case scrape.FlavorSGLang:
		x.labels = `engine_type="unified",model_name="` + s.engine.model.ServedName + `",pp_rank="0",tp_rank="0"`
		s.writeSGLang(&x)
	default:
		return fmt.Errorf("%w %q (the simulator serves %s, %s or %s)", ErrUnknownFlavor, flavor,
			scrape.FlavorVLLMV1, scrape.FlavorVLLMV0, scrape.FlavorSGLang)
	}
	s.writeTruthGauges(&x)
	if err := x.w.Flush(); err != nil {
		return fmt.Errorf("write exposition: %w", err)
	}
	return nil
}

func (s *Sim) writeVLLMV1(x *expoWriter) {
	e := &s.engine
	st := &e.stats
	x.gauge("vllm:num_requests_running", "Number of requests in model execution batches.", float64(len(e.running)))
	x.gauge("vllm:num_requests_waiting", "Number of requests waiting to be processed.", float64(e.waiting.len()))
	x.gauge("vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.", e.kvUsage())
	x.counter("vllm:prefix_cache_queries", "Prefix cache queries, in terms of number of queried tokens.", st.prefixQueries)
	x.counter("vllm:prefix_cache_hits", "Prefix cache hits, in terms of number of cached tokens.", st.prefixHits)
	x.counter("vllm:num_preemptions", "Cumulative number of preemption from the engine.", st.preemptions)
	x.counter("vllm:prompt_tokens", "Number of prefill tokens processed.", st.promptTokens)
	x.counter("vllm:generation_tokens", "Number of generation tokens processed.", st.genTokens)
	x.success("vllm:request_success", "Count of successfully processed requests.", st.finished,
		[]string{"stop", "length", "abort", "error", "repetition"})
	x.histogram("vllm:request_prompt_tokens", "Number of prefill tokens processed.", &st.reqPrompt, maxBuckets)
	x.histogram("vllm:request_generation_tokens", "Number of generation tokens processed.", &st.reqGen, maxBuckets)
	x.histogram("vllm:iteration_tokens_total", "Histogram of number of tokens per engine_step.", &st.iterTokens, maxBuckets)
	x.histogram("vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.", &st.ttft, maxBuckets)
	x.histogram("vllm:inter_token_latency_seconds", "Histogram of inter-token latency in seconds.", &st.itl, maxBuckets)
	x.histogram("vllm:request_time_per_output_token_seconds", "Histogram of time_per_output_token_seconds per request.",
		&st.tpot, maxBuckets)
	x.histogram("vllm:e2e_request_latency_seconds", "Histogram of e2e request latency in seconds.", &st.e2e, maxBuckets)
	x.histogram("vllm:request_queue_time_seconds", "Histogram of time spent in WAITING phase for request.",
		&st.queueTime, maxBuckets)
	x.histogram("vllm:request_inference_time_seconds", "Histogram of time spent in RUNNING phase for request.",
		&st.inference, maxBuckets)
	x.histogram("vllm:request_prefill_time_seconds", "Histogram of time spent in PREFILL phase for request.",
		&st.prefill, maxBuckets)
	x.histogram("vllm:request_decode_time_seconds", "Histogram of time spent in DECODE phase for request.",
		&st.dec, maxBuckets)
	x.info("vllm:cache_config_info", "Information of the LLMEngine CacheConfig", fmt.Sprintf(
		`block_size="%d",cache_dtype="auto",enable_prefix_caching="True",engine="0",gpu_memory_utilization="%s",num_gpu_blocks="%d"`,
		e.cfg.BlockSize, pyFloat(e.cfg.GPUMemoryUtilization), e.totalBlocks))
}

func (s *Sim) writeVLLMV0(x *expoWriter) {
	e := &s.engine
	st := &e.stats
	x.gauge("vllm:num_requests_running", "Number of requests currently running on GPU.", float64(len(e.running)))
	x.gauge("vllm:num_requests_swapped", "Number of requests swapped to CPU.", 0)
	x.gauge("vllm:num_requests_waiting", "Number of requests waiting to be processed.", float64(e.waiting.len()))
	x.gauge("vllm:gpu_cache_usage_perc", "GPU KV-cache usage. 1 means 100 percent usage.", e.kvUsage())
	x.gauge("vllm:cpu_cache_usage_perc", "CPU KV-cache usage. 1 means 100 percent usage.", 0)
	x.counter("vllm:num_preemptions", "Cumulative number of preemption from the engine.", st.preemptions)
	x.counter("vllm:prompt_tokens", "Number of prefill tokens processed.", st.promptTokens)
	x.counter("vllm:generation_tokens", "Number of generation tokens processed.", st.genTokens)
	x.success("vllm:request_success", "Count of successfully processed requests.", st.finished,
		[]string{"stop", "length", "abort"})
	x.histogram("vllm:iteration_tokens_total", "Histogram of number of tokens per engine_step.", &st.iterTokens, v0IterBuckets)
	x.histogram("vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.", &st.ttft, v0TTFTBuckets)
	x.histogram("vllm:time_per_output_token_seconds", "Histogram of time per output token in seconds.", &st.itl, v0TPOTBuckets)
	x.histogram("vllm:e2e_request_latency_seconds", "Histogram of end to end request latency in seconds.", &st.e2e,
		v0LatencyBuckets)
}

func (s *Sim) writeSGLang(x *expoWriter) {
	e := &s.engine
	st := &e.stats
	used := float64(e.totalBlocks-e.freeBlocks) * float64(e.cfg.BlockSize)
	x.gauge("sglang:num_running_reqs", "The number of running requests.", float64(len(e.running)))
	x.gauge("sglang:num_used_tokens", "The number of used tokens.", used)
	x.gauge("sglang:token_usage", "The token usage.", e.kvUsage())
	x.gauge("sglang:max_total_num_tokens", "Maximum total number of tokens in the KV cache pool.",
		float64(e.totalBlocks)*float64(e.cfg.BlockSize))
	x.gauge("sglang:num_queue_reqs", "The number of requests in the waiting queue.", float64(e.waiting.len()))
	x.counter("sglang:prompt_tokens", "Number of prefill tokens processed.", st.promptTokens)
	x.counter("sglang:generation_tokens", "Number of generation tokens processed.", st.genTokens)
	x.counter("sglang:cached_tokens", "Number of cached prompt tokens.", st.prefixHits)
	x.counter("sglang:num_requests", "Number of requests processed.", st.finished)
	x.histogram("sglang:time_to_first_token_seconds", "Histogram of time to first token in seconds.", &st.sglTTFT, maxBuckets)
	x.histogram("sglang:inter_token_latency_seconds", "Histogram of inter-token latency in seconds.", &st.sglITL, maxBuckets)
	x.histogram("sglang:e2e_request_latency_seconds", "Histogram of End-to-end request latency in seconds", &st.sglE2E,
		maxBuckets)
}

// writeTruthGauges adds what the simulated GPU really did, for end-to-end
// tests. A tuner must not read these.
func (s *Sim) writeTruthGauges(x *expoWriter) {
	x.labels = `gpu="0"`
	x.withCreated = false
	x.gauge("sim_gpu_sm_clock_mhz", "Simulator ground truth: effective SM clock in MHz.", s.gpu.SMClockMHz())
	x.gauge("sim_gpu_power_watts", "Simulator ground truth: GPU power in watts.", s.gpu.PowerW())
	x.gauge("sim_gpu_temperature_celsius", "Simulator ground truth: die temperature in degrees Celsius.", s.gpu.TempC())
	x.counter("sim_gpu_energy_joules", "Simulator ground truth: GPU energy since start in joules.", s.gpu.EnergyJ())
}

// expoWriter renders families the way Python's prometheus_client does.
// Write errors stick in the bufio.Writer and surface at Flush.
type expoWriter struct {
	w           *bufio.Writer
	labels      string // sorted label pairs shared by every series
	withCreated bool   // V1 exports <name>_created gauges
	created     int64
	buf         []byte
}

func (x *expoWriter) header(name, help, typ string) {
	x.w.WriteString("# HELP " + name + " " + help + "\n# TYPE " + name + " " + typ + "\n")
}

func (x *expoWriter) sample(name, labels string, v float64) {
	x.buf = append(x.buf[:0], name...)
	if labels != "" {
		x.buf = append(x.buf, '{')
		x.buf = append(x.buf, labels...)
		x.buf = append(x.buf, '}')
	}
	x.buf = append(x.buf, ' ')
	x.buf = append(x.buf, pyFloat(v)...)
	x.buf = append(x.buf, '\n')
	x.w.Write(x.buf)
}

func (x *expoWriter) createdFamily(base, help string, n int) {
	if !x.withCreated {
		return
	}
	x.header(base+"_created", help, "gauge")
	for range n {
		x.sample(base+"_created", x.labels, float64(x.created))
	}
}

func (x *expoWriter) gauge(name, help string, v float64) {
	x.header(name, help, "gauge")
	x.sample(name, x.labels, v)
}

func (x *expoWriter) counter(base, help string, v float64) {
	x.header(base+"_total", help, "counter")
	x.sample(base+"_total", x.labels, v)
	x.createdFamily(base, help, 1)
}

// success writes request_success_total with every request counted as a
// natural stop: the simulated requests end at their requested length.
func (x *expoWriter) success(base, help string, finished float64, reasons []string) {
	x.header(base+"_total", help, "counter")
	for _, r := range reasons {
		v := 0.0
		if r == "stop" {
			v = finished
		}
		x.sample(base+"_total", withLabel(x.labels, "finished_reason", r), v)
	}
	if x.withCreated {
		x.header(base+"_created", help, "gauge")
		for _, r := range reasons {
			x.sample(base+"_created", withLabel(x.labels, "finished_reason", r), float64(x.created))
		}
	}
}

func (x *expoWriter) info(name, help, labels string) {
	x.header(name, help, "gauge")
	x.sample(name, labels, 1)
}

func (x *expoWriter) histogram(base, help string, h *hist, n int) {
	x.header(base, help, "histogram")
	upper, cum := h.cumulative(n)
	for i := range upper {
		x.sample(base+"_bucket", withLabel(x.labels, "le", pyFloat(upper[i])), cum[i])
	}
	x.sample(base+"_count", x.labels, h.total)
	x.sample(base+"_sum", x.labels, h.sum)
	x.createdFamily(base, help, 1)
}

// withLabel inserts name="value" into sorted label pairs.
func withLabel(labels, name, value string) string {
	pair := name + `="` + value + `"`
	if labels == "" {
		return pair
	}
	parts := strings.Split(labels, ",")
	for i, p := range parts {
		if p > pair {
			return strings.Join(append(parts[:i:i], append([]string{pair}, parts[i:]...)...), ",")
		}
	}
	return labels + "," + pair
}

// pyFloat formats v as prometheus_client's floatToGoString: Python's repr,
// switching to Go-style exponents for large positive values.
func pyFloat(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	s := pyRepr(v)
	dot := strings.IndexByte(s, '.')
	if v > 0 && dot > 6 && !strings.ContainsAny(s, "e") {
		mantissa := strings.TrimRight(s[:1]+"."+s[1:dot]+s[dot+1:], "0.")
		return fmt.Sprintf("%se+0%d", mantissa, dot-1)
	}
	return s
}

// pyRepr is Python's repr of a float: the shortest round-trip digits, in
// positional form from 1e-4 up to 1e16 with at least one decimal.
func pyRepr(v float64) string {
	abs := math.Abs(v)
	if v != 0 && (abs < 1e-4 || abs >= 1e16) {
		s := strconv.FormatFloat(v, 'e', -1, 64)
		// Go writes 1e-05 as "1e-05" and Python the same; 1.5e+16 too.
		return s
	}
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if !strings.ContainsAny(s, ".") {
		s += ".0"
	}
	return s
}
