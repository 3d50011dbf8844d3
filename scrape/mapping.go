package scrape

// valueKind says how a candidate series is read.
type valueKind uint8

const (
	kindScalar    valueKind = iota // gauge, counter or untyped sample value
	kindHistogram                  // full classic histogram
	kindHistSum                    // a histogram's _sum used as a counter (TGI token lengths)
	kindHistCount                  // a histogram's _count used as a counter (finished requests)
)

// candidate is one exposition family that can supply a signal.
type candidate struct {
	family string
	kind   valueKind
}

// flavorTable maps every signal to its ordered candidates for one server
// family: the first candidate present in a scrape wins, so current names
// come first and deprecated names follow as fallbacks.
type flavorTable struct {
	flavor Flavor
	// replicaLabels name labels whose series are copies of one another
	// (tensor-parallel ranks report the same batch): series that differ only
	// in these are collapsed by max before the rest are summed.
	replicaLabels []string
	signals       [allSignals][]candidate
}

func scalar(names ...string) []candidate {
	out := make([]candidate, len(names))
	for i, n := range names {
		out[i] = candidate{family: n, kind: kindScalar}
	}
	return out
}

func hist(names ...string) []candidate {
	out := make([]candidate, len(names))
	for i, n := range names {
		out[i] = candidate{family: n, kind: kindHistogram}
	}
	return out
}

// mappingTables returns the per-flavour tables. It builds them afresh so no
// package-level state exists; a Parser calls it once.
func mappingTables() []flavorTable {
	var v1, v0, sg, tgi flavorTable

	v1.flavor = FlavorVLLMV1
	v1.signals[SigRunning] = scalar("vllm:num_requests_running")
	v1.signals[SigWaiting] = scalar("vllm:num_requests_waiting")
	v1.signals[SigKVUsage] = scalar("vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc")
	v1.signals[SigPromptTokens] = scalar("vllm:prompt_tokens_total")
	v1.signals[SigGenTokens] = scalar("vllm:generation_tokens_total")
	v1.signals[SigTTFT] = hist("vllm:time_to_first_token_seconds")
	v1.signals[SigITL] = hist("vllm:inter_token_latency_seconds", "vllm:time_per_output_token_seconds")
	v1.signals[SigTPOT] = hist("vllm:request_time_per_output_token_seconds")
	v1.signals[SigE2E] = hist("vllm:e2e_request_latency_seconds")
	v1.signals[SigPrefixHits] = scalar("vllm:prefix_cache_hits_total", "vllm:gpu_prefix_cache_hits_total")
	v1.signals[SigPrefixQueries] = scalar("vllm:prefix_cache_queries_total", "vllm:gpu_prefix_cache_queries_total")
	v1.signals[SigFinished] = append(scalar("vllm:request_success_total"),
		candidate{family: "vllm:e2e_request_latency_seconds", kind: kindHistCount})
	v1.signals[SigPreemptions] = scalar("vllm:num_preemptions_total")
	v1.signals[SigIterTokens] = hist("vllm:iteration_tokens_total")

	// V0 shares most names; it has no per-request TPOT (its
	// time_per_output_token_seconds is observed per token, i.e. ITL), only
	// a prefix-cache hit-rate gauge (no counters), and a swapped gauge.
	v0.flavor = FlavorVLLMV0
	v0.signals = v1.signals
	v0.signals[SigKVUsage] = scalar("vllm:gpu_cache_usage_perc", "vllm:kv_cache_usage_perc")
	v0.signals[SigITL] = hist("vllm:time_per_output_token_seconds", "vllm:inter_token_latency_seconds")
	v0.signals[SigTPOT] = nil
	v0.signals[SigPrefixHits] = scalar("vllm:gpu_prefix_cache_hits_total")
	v0.signals[SigPrefixQueries] = scalar("vllm:gpu_prefix_cache_queries_total")
	v0.signals[SigSwapped] = scalar("vllm:num_requests_swapped")

	// SGLang: current names first, the 2024 names (num_requests_running,
	// time_per_output_token_seconds, a per-token histogram) as fallbacks.
	// Prefix hits are cached prompt tokens over all prompt tokens.
	sg.flavor = FlavorSGLang
	sg.replicaLabels = []string{"tp_rank", "pp_rank", "attn_tp_rank", "moe_ep_rank"}
	sg.signals[SigRunning] = scalar("sglang:num_running_reqs", "sglang:num_requests_running")
	sg.signals[SigWaiting] = scalar("sglang:num_queue_reqs", "sglang:num_requests_waiting", "sglang:queue_req")
	sg.signals[SigKVUsage] = scalar("sglang:token_usage")
	sg.signals[SigPromptTokens] = scalar("sglang:prompt_tokens_total")
	sg.signals[SigGenTokens] = scalar("sglang:generation_tokens_total")
	sg.signals[SigTTFT] = hist("sglang:time_to_first_token_seconds")
	sg.signals[SigITL] = hist("sglang:inter_token_latency_seconds", "sglang:time_per_output_token_seconds")
	sg.signals[SigE2E] = hist("sglang:e2e_request_latency_seconds")
	sg.signals[SigPrefixHits] = scalar("sglang:cached_tokens_total")
	sg.signals[SigPrefixQueries] = scalar("sglang:prompt_tokens_total")
	sg.signals[SigFinished] = append(scalar("sglang:num_requests_total"),
		candidate{family: "sglang:e2e_request_latency_seconds", kind: kindHistCount})

	// TGI has no token counters: the _sum of its per-request length
	// histograms counts tokens, credited when each request finishes.
	tgi.flavor = FlavorTGI
	tgi.signals[SigRunning] = scalar("tgi_batch_current_size")
	tgi.signals[SigWaiting] = scalar("tgi_queue_size")
	tgi.signals[SigPromptTokens] = []candidate{{family: "tgi_request_input_length", kind: kindHistSum}}
	tgi.signals[SigGenTokens] = []candidate{{family: "tgi_request_generated_tokens", kind: kindHistSum}}
	tgi.signals[SigTPOT] = hist("tgi_request_mean_time_per_token_duration")
	tgi.signals[SigE2E] = hist("tgi_request_duration")
	tgi.signals[SigFinished] = append(scalar("tgi_request_success"),
		candidate{family: "tgi_request_duration", kind: kindHistCount})

	return []flavorTable{v1, v0, sg, tgi}
}

// v0Markers are families only the V0 engine exposes.
// It takes bytes because a switch on string(name) compiles without a
// conversion: no allocation for each exposition line it is called on.
func isV0Marker(name []byte) bool {
	switch string(name) {
	case "vllm:num_requests_swapped", "vllm:cpu_cache_usage_perc",
		"vllm:gpu_prefix_cache_hit_rate", "vllm:cpu_prefix_cache_hit_rate":
		return true
	}
	return false
}
