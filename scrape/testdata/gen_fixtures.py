#!/usr/bin/env python3
"""Writes the exposition fixtures in this directory.

They follow the formats documented in shared/reference/interfaces.md §1-2
(names, types, labels, bucket edges, _created gauges, label order as
prometheus_client's generate_latest sorts them). The numbers are invented but
consistent (buckets cumulative, _count equal to +Inf); the tests check the
parser against the totals noted in comments here. Run from this directory.
"""

MODEL = "meta-llama/Llama-3.1-8B-Instruct"
TTFT_B = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0]
ITL_B = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0]
E2E_B = [0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0]
ITER_B = [1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384]
TOK125_B = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000]


def fmt(v):
    if v == float("inf"):
        return "+Inf"
    if isinstance(v, float) and v != int(v):
        return repr(v)
    if abs(v) >= 1e6:
        return "%.6e" % v
    return "%.1f" % v


def labels(d):
    return "{" + ",".join('%s="%s"' % (k, d[k]) for k in sorted(d)) + "}" if d else ""


class Out:
    def __init__(self):
        self.lines = []

    def fam(self, name, typ, help_):
        self.lines.append("# HELP %s %s" % (name, help_))
        self.lines.append("# TYPE %s %s" % (name, typ))

    def s(self, name, lab, v):
        self.lines.append("%s%s %s" % (name, labels(lab), fmt(v)))

    def hist(self, name, help_, series, created=None):
        """series: list of (labels, bounds, per-bucket counts incl. +Inf, sum)."""
        self.fam(name, "histogram", help_)
        for lab, bounds, per, total in series:
            cum = 0
            for b, c in zip(list(bounds) + [float("inf")], per):
                cum += c
                l = dict(lab)
                l["le"] = fmt(float(b)) if b != float("inf") else "+Inf"
                self.s(name + "_bucket", l, float(cum))
            self.s(name + "_count", lab, float(cum))
            self.s(name + "_sum", lab, total)
        if created is not None:
            self.fam(name + "_created", "gauge", help_)
            for lab, *_ in series:
                self.s(name + "_created", lab, created)

    def write(self, path):
        with open(path, "w") as f:
            f.write("\n".join(self.lines) + "\n")


def spread(n_buckets, total, peak):
    """Deterministic per-bucket counts summing to total, centred on peak."""
    w = [1.0 / (1 + abs(i - peak)) ** 2 for i in range(n_buckets)]
    s = sum(w)
    per = [int(total * x / s) for x in w]
    per[peak] += total - sum(per)
    return per


def python_process(o, created):
    for gen, (col, coll, unc) in enumerate([(12345, 1123, 0), (2345, 204, 0), (345, 12, 0)]):
        pass
    o.fam("python_gc_objects_collected_total", "counter", "Objects collected during gc")
    for g, v in enumerate([18433.0, 9212.0, 1203.0]):
        o.s("python_gc_objects_collected_total", {"generation": g}, v)
    o.fam("python_gc_objects_uncollectable_total", "counter", "Uncollectable objects found during GC")
    for g in range(3):
        o.s("python_gc_objects_uncollectable_total", {"generation": g}, 0.0)
    o.fam("python_gc_collections_total", "counter", "Number of times this generation was collected")
    for g, v in enumerate([1532.0, 139.0, 11.0]):
        o.s("python_gc_collections_total", {"generation": g}, v)
    o.fam("python_info", "gauge", "Python platform information")
    o.s("python_info", {"implementation": "CPython", "major": "3", "minor": "12", "patchlevel": "11", "version": "3.12.11"}, 1.0)
    for n, t, h, v in [
        ("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", 1.2834521088e+11),
        ("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", 5.123153920e+09),
        ("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.", created),
        ("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.", 4821.37),
        ("process_open_fds", "gauge", "Number of open file descriptors.", 187.0),
        ("process_max_fds", "gauge", "Maximum number of open file descriptors.", 1048576.0),
    ]:
        o.fam(n, t, h)
        o.s(n, {}, v)


def http_families(o, created):
    handlers = ["/v1/chat/completions", "/v1/completions", "/metrics", "/health", "/v1/models", "/tokenize", "/ping"]
    o.fam("http_requests_total", "counter", "Total number of requests by method, status and handler.")
    for i, h in enumerate(handlers):
        for st in ["2xx", "4xx", "5xx"]:
            o.s("http_requests_total", {"handler": h, "method": "GET" if h in ("/metrics", "/health", "/v1/models", "/ping") else "POST", "status": st}, float((i + 1) * 1000 if st == "2xx" else i))
    o.fam("http_requests_created", "gauge", "Total number of requests by method, status and handler.")
    for h in handlers:
        o.s("http_requests_created", {"handler": h, "method": "POST", "status": "2xx"}, created)
    o.fam("http_request_size_bytes", "summary", "Content length of incoming requests by handler.")
    for h in handlers:
        o.s("http_request_size_bytes_count", {"handler": h}, 1000.0)
        o.s("http_request_size_bytes_sum", {"handler": h}, 523411.0)
    o.fam("http_response_size_bytes", "summary", "Content length of outgoing responses by handler.")
    for h in handlers:
        o.s("http_response_size_bytes_count", {"handler": h}, 1000.0)
        o.s("http_response_size_bytes_sum", {"handler": h}, 1.923411e+06)
    bounds = [0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 30.0, 60.0]
    series = [({"handler": h, "method": "POST"}, bounds, spread(len(bounds) + 1, 1000, 4), 812.5) for h in handlers]
    o.hist("http_request_duration_highr_seconds", "Latency with many buckets but no API specific labels.", [({}, bounds, spread(len(bounds) + 1, 7000, 4), 5000.25)], created)
    o.hist("http_request_duration_seconds", "Latency with only few buckets by handler.", series, created)


def vllm_v1(engines, scale, path, created=1.7881e+09):
    """Two data-parallel engines. Totals for scale=1 are checked in parse_test.go."""
    o = Out()
    python_process(o, created)
    http_families(o, created)
    running = [24.0, 12.0]
    waiting = [3.0, 1.0]
    kv = [0.6125, 0.4]
    prompt = [4.4523e+06, 2.1e+06]
    gen = [2.7453e+06, 1.2e+06]
    pq = [4.4523e+06, 2.1e+06]
    ph = [1.2e+06, 6.0e+05]
    pre = [7.0, 2.0]
    eng = lambda e: {"engine": str(e), "model_name": MODEL}
    def g(name, help_, vals, typ="gauge"):
        o.fam(name, typ, help_)
        for e in range(engines):
            o.s(name, eng(e), vals[e])
    def c(name, base, help_, vals):
        o.fam(name, "counter", help_)
        for e in range(engines):
            o.s(name, eng(e), vals[e] * scale)
        o.fam(base + "_created", "gauge", help_)
        for e in range(engines):
            o.s(base + "_created", eng(e), created)
    g("vllm:num_requests_running", "Number of requests in model execution batches.", running)
    g("vllm:num_requests_waiting", "Number of requests waiting to be processed.", waiting)
    o.fam("vllm:engine_sleep_state", "gauge", "Engine sleep state; awake = 0 means engine is sleeping")
    for e in range(engines):
        for st, v in [("awake", 1.0), ("weights_offloaded", 0.0), ("discard_all", 0.0)]:
            l = eng(e); l["sleep_state"] = st
            o.s("vllm:engine_sleep_state", l, v)
    g("vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.", kv)
    c("vllm:prefix_cache_queries_total", "vllm:prefix_cache_queries", "Prefix cache queries, in terms of number of queried tokens.", pq)
    c("vllm:prefix_cache_hits_total", "vllm:prefix_cache_hits", "Prefix cache hits, in terms of number of cached tokens.", ph)
    c("vllm:external_prefix_cache_queries_total", "vllm:external_prefix_cache_queries", "External prefix cache queries.", [0.0, 0.0])
    c("vllm:external_prefix_cache_hits_total", "vllm:external_prefix_cache_hits", "External prefix cache hits.", [0.0, 0.0])
    c("vllm:mm_cache_queries_total", "vllm:mm_cache_queries", "Multi-modal cache queries, in terms of number of queried items.", [0.0, 0.0])
    c("vllm:mm_cache_hits_total", "vllm:mm_cache_hits", "Multi-modal cache hits, in terms of number of cached items.", [0.0, 0.0])
    c("vllm:num_preemptions_total", "vllm:num_preemptions", "Cumulative number of preemption from the engine.", pre)
    c("vllm:prompt_tokens_total", "vllm:prompt_tokens", "Number of prefill tokens processed.", prompt)
    c("vllm:generation_tokens_total", "vllm:generation_tokens", "Number of generation tokens processed.", gen)
    o.fam("vllm:request_success_total", "counter", "Count of successfully processed requests.")
    fin = {"stop": [9512.0, 4000.0], "length": [131.0, 69.0], "abort": [0.0, 0.0], "error": [0.0, 0.0], "repetition": [0.0, 0.0]}
    for e in range(engines):
        for r in ["stop", "length", "abort", "error", "repetition"]:
            l = eng(e); l["finished_reason"] = r
            o.s("vllm:request_success_total", l, fin[r][e] * scale)
    o.fam("vllm:request_success_created", "gauge", "Count of successfully processed requests.")
    for e in range(engines):
        for r in ["stop", "length", "abort", "error", "repetition"]:
            l = eng(e); l["finished_reason"] = r
            o.s("vllm:request_success_created", l, created)
    nreq = [9643, 4069]
    def h(name, help_, bounds, per_engine_total, peak, mean):
        series = []
        for e in range(engines):
            # The later scrape adds observations on top, so every bucket
            # only grows (a clean window, no reset).
            n0 = per_engine_total[e]
            extra = int(round(n0 * (scale - 1)))
            per = [a + b for a, b in zip(spread(len(bounds) + 1, n0, peak), spread(len(bounds) + 1, extra, peak + 1))]
            series.append((eng(e), bounds, per, round(n0 * mean + extra * mean * 1.5, 4)))
        o.hist(name, help_, series, created)
    h("vllm:request_prompt_tokens", "Number of prefill tokens processed.", TOK125_B, nreq, 7, 461.0)
    h("vllm:request_generation_tokens", "Number of generation tokens processed.", TOK125_B, nreq, 7, 284.0)
    h("vllm:iteration_tokens_total", "Histogram of number of tokens per engine_step.", ITER_B, [118803, 60000], 5, 33.77)
    h("vllm:request_max_num_generation_tokens", "Histogram of maximum number of requested generation tokens.", TOK125_B, nreq, 8, 512.0)
    h("vllm:request_params_n", "Histogram of the n request parameter.", [1, 2, 5, 10, 20], nreq, 0, 1.0)
    h("vllm:request_params_max_tokens", "Histogram of the max_tokens request parameter.", TOK125_B, nreq, 8, 512.0)
    h("vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.", TTFT_B, nreq, 8, 0.1426)
    h("vllm:inter_token_latency_seconds", "Histogram of inter-token latency in seconds.", ITL_B, [2735800, 1195000], 1, 0.0187)
    h("vllm:request_time_per_output_token_seconds", "Histogram of time_per_output_token_seconds per request.", ITL_B, nreq, 1, 0.0191)
    h("vllm:e2e_request_latency_seconds", "Histogram of e2e request latency in seconds.", E2E_B, nreq, 7, 5.61)
    h("vllm:request_queue_time_seconds", "Histogram of time spent in WAITING phase for request.", E2E_B, nreq, 0, 0.21)
    h("vllm:request_inference_time_seconds", "Histogram of time spent in RUNNING phase for request.", E2E_B, nreq, 7, 5.4)
    h("vllm:request_prefill_time_seconds", "Histogram of time spent in PREFILL phase for request.", E2E_B, nreq, 0, 0.08)
    h("vllm:request_decode_time_seconds", "Histogram of time spent in DECODE phase for request.", E2E_B, nreq, 7, 5.3)
    o.fam("vllm:cache_config_info", "gauge", "Information of the LLMEngine CacheConfig")
    for e in range(engines):
        o.s("vllm:cache_config_info", {"block_size": "16", "cache_dtype": "auto", "calculate_kv_scales": "False", "cpu_offload_gb": "0", "enable_prefix_caching": "True", "engine": str(e), "gpu_memory_utilization": "0.9", "is_attention_free": "False", "num_cpu_blocks": "None", "num_gpu_blocks": "29086", "prefix_caching_hash_algo": "sha256", "sliding_window": "None", "swap_space": "4", "swap_space_bytes": "4294967296"}, 1.0)
    o.write(path)


def vllm_v0(path):
    o = Out()
    python_process(o, 1.7e9)
    lab = {"model_name": MODEL}
    for n, h, v in [
        ("vllm:num_requests_running", "Number of requests currently running on GPU.", 17.0),
        ("vllm:num_requests_swapped", "Number of requests swapped to CPU.", 2.0),
        ("vllm:num_requests_waiting", "Number of requests waiting to be processed.", 5.0),
        ("vllm:gpu_cache_usage_perc", "GPU KV-cache usage. 1 means 100 percent usage.", 0.83),
        ("vllm:cpu_cache_usage_perc", "CPU KV-cache usage. 1 means 100 percent usage.", 0.05),
        ("vllm:gpu_prefix_cache_hit_rate", "GPU prefix cache block hit rate.", 0.31),
        ("vllm:cpu_prefix_cache_hit_rate", "CPU prefix cache block hit rate.", -1.0),
    ]:
        o.fam(n, "gauge", h)
        o.s(n, lab, v)
    for n, h, v in [
        ("vllm:num_preemptions_total", "Cumulative number of preemption from the engine.", 41.0),
        ("vllm:prompt_tokens_total", "Number of prefill tokens processed.", 1.9e6),
        ("vllm:generation_tokens_total", "Number of generation tokens processed.", 8.1e5),
    ]:
        o.fam(n, "counter", h)
        o.s(n, lab, v)
    o.fam("vllm:request_success_total", "counter", "Count of successfully processed requests.")
    for r, v in [("stop", 3000.0), ("length", 20.0), ("abort", 3.0)]:
        l = dict(lab); l["finished_reason"] = r
        o.s("vllm:request_success_total", l, v)
    o.hist("vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.", [(lab, TTFT_B[:16], spread(17, 3023, 9), 1202.5)])
    o.hist("vllm:time_per_output_token_seconds", "Histogram of time per output token in seconds.", [(lab, ITL_B[:13], spread(14, 806977, 2), 24209.3)])
    o.hist("vllm:e2e_request_latency_seconds", "Histogram of end to end request latency in seconds.", [(lab, E2E_B[:15], spread(16, 3023, 8), 20100.0)])
    o.hist("vllm:iteration_tokens_total", "Histogram of number of tokens per engine_step.", [(lab, [1, 8, 16, 24, 32, 40, 48, 56, 64, 72, 80, 88, 96, 104, 112, 120, 128, 136, 144, 152, 160, 168, 176, 184, 192, 200, 208, 216, 224, 232, 240, 248, 256, 272, 288, 304, 320, 336, 352, 368, 384, 400, 416, 432, 448, 464, 480, 496, 512], spread(50, 50000, 3), 1.3e6)])
    o.write(path)


def vllm_v1_early(path):
    """0.9-era V1: old KV, prefix and TPOT names alongside engine labels."""
    o = Out()
    lab = {"engine": "0", "model_name": MODEL}
    o.fam("vllm:num_requests_running", "gauge", "Number of requests in model execution batches.")
    o.s("vllm:num_requests_running", lab, 8.0)
    o.fam("vllm:num_requests_waiting", "gauge", "Number of requests waiting to be processed.")
    o.s("vllm:num_requests_waiting", lab, 0.0)
    o.fam("vllm:gpu_cache_usage_perc", "gauge", "GPU KV-cache usage. 1 means 100 percent usage.")
    o.s("vllm:gpu_cache_usage_perc", lab, 0.25)
    o.fam("vllm:gpu_prefix_cache_queries_total", "counter", "GPU prefix cache queries, in terms of number of queried tokens.")
    o.s("vllm:gpu_prefix_cache_queries_total", lab, 1000.0)
    o.fam("vllm:gpu_prefix_cache_hits_total", "counter", "GPU prefix cache hits, in terms of number of cached tokens.")
    o.s("vllm:gpu_prefix_cache_hits_total", lab, 250.0)
    o.fam("vllm:generation_tokens_total", "counter", "Number of generation tokens processed.")
    o.s("vllm:generation_tokens_total", lab, 5000.0)
    o.hist("vllm:time_per_output_token_seconds", "Histogram of time per output token in seconds.", [(lab, ITL_B, spread(20, 4990, 1), 99.8)], 1.75e9)
    o.write(path)


def sglang_new(path):
    """TP=2 (duplicate rank series), two DP ranks."""
    o = Out()
    base = {"model_name": MODEL, "engine_type": "unified"}
    def ranks():
        for dp in range(2):
            for tp in range(2):
                l = dict(base); l["dp_rank"] = str(dp); l["tp_rank"] = str(tp); l["pp_rank"] = "0"
                yield dp, tp, l
    for n, h, vals in [
        ("sglang:num_running_reqs", "The number of running requests.", [10.0, 6.0]),
        ("sglang:num_queue_reqs", "The number of requests in the waiting queue.", [2.0, 0.0]),
        ("sglang:num_used_tokens", "The number of used tokens.", [40000.0, 20000.0]),
        ("sglang:token_usage", "The token usage.", [0.5, 0.25]),
        ("sglang:gen_throughput", "The generation throughput (token/s).", [812.0, 500.0]),
        ("sglang:cache_hit_rate", "The prefix cache hit rate.", [0.3, 0.2]),
        ("sglang:num_retracted_reqs", "The number of retracted requests.", [0.0, 0.0]),
    ]:
        o.fam(n, "gauge", h)
        for dp, tp, l in ranks():
            o.s(n, l, vals[dp])
    lab = {"model_name": MODEL}
    for n, h, v in [
        ("sglang:prompt_tokens_total", "Number of prefill tokens processed.", 8.128902e+06),
        ("sglang:generation_tokens_total", "Number of generation tokens processed.", 7.557572e+06),
        ("sglang:cached_tokens_total", "Number of cached prompt tokens.", 2.0e+06),
        ("sglang:num_requests_total", "Number of requests processed.", 21040.0),
        ("sglang:num_aborted_requests_total", "Number of requests aborted.", 3.0),
    ]:
        o.fam(n, "counter", h)
        o.s(n, lab, v)
    ttft = [0.1, 0.2, 0.4, 0.6, 0.8, 1, 2, 4, 6, 8, 10, 20, 40, 60, 80, 100, 200, 400]
    itl = [0.002, 0.004, 0.006, 0.008, 0.010, 0.015, 0.020, 0.025, 0.030, 0.035, 0.040, 0.060, 0.080, 0.100, 0.200, 0.400, 0.600, 0.800, 1, 2, 4, 6, 8]
    e2e = [0.1, 0.2, 0.4, 0.6, 0.8, 1, 2, 4, 6, 8, 10, 20, 40, 60, 80, 100, 200, 400, 600, 1200, 1800, 2400]
    o.hist("sglang:time_to_first_token_seconds", "Histogram of time to first token in seconds.", [(lab, ttft, spread(19, 21040, 1), 4208.0)])
    o.hist("sglang:inter_token_latency_seconds", "Histogram of inter-token latency in seconds.", [(lab, itl, spread(24, 7536532, 6), 105511.4)])
    o.hist("sglang:e2e_request_latency_seconds", "Histogram of End-to-end request latency in seconds", [(lab, e2e, spread(23, 21040, 8), 147280.0)])
    o.write(path)


def sglang_old(path):
    """2024 SGLang: `name` label, num_requests_running/waiting, per-token time_per_output_token."""
    o = Out()
    lab = {"name": "google/gemma-2-9b-it"}
    for n, h, v in [
        ("sglang:max_total_num_tokens", "Maximum total number of tokens", 161721.0),
        ("sglang:num_requests_running", "Number of requests currently running on GPU", 3.0),
        ("sglang:num_requests_waiting", "Number of requests waiting to be processed.", 1.0),
        ("sglang:gen_throughput", "Gen token throughput (token/s)", 0.0),
        ("sglang:token_usage", "Total token usage", 0.01),
        ("sglang:cache_hit_rate", "Cache hit rate", 10.61),
        ("sglang:queue_req", "Number of queued requests", 0.0),
    ]:
        o.fam(n, "gauge", h)
        o.s(n, lab, v)
    for n, h, v in [
        ("sglang:prompt_tokens_total", "Number of prefill tokens processed.", 506780.0),
        ("sglang:generation_tokens_total", "Number of generation tokens processed.", 424549.0),
    ]:
        o.fam(n, "counter", h)
        o.s(n, lab, v)
    o.hist("sglang:time_to_first_token_seconds", "Histogram of time to first token in seconds.", [(lab, [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 15.0, 20.0, 25.0, 30.0], [0, 0, 0, 0, 207, 249, 142, 109, 480, 163, 774, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 656.0780844688416)])
    o.hist("sglang:time_per_output_token_seconds", "Histogram of time per output token in seconds.", [(lab, [0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5], [0, 0, 0, 9602, 20458, 9124, 22203, 17448, 60559, 282635, 0, 0, 395, 0, 1, 0, 0, 0, 0], 29846.5393948555)])
    o.hist("sglang:e2e_request_latency_seconds", "Histogram of End-to-end request latency in seconds", [(lab, [1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0], [2, 19, 33, 257, 422, 830, 541, 0, 0], 70517.99934530258)])
    o.write(path)


def tgi(path):
    """TGI: counters without _total, no model label, token counts only in histograms."""
    o = Out()
    dur = [0.0001 * 1.5 ** k for k in range(1, 36)]
    def th(name, series):
        o.lines.append("# TYPE %s histogram" % name)
        for lab, bounds, per, total in series:
            cum = 0
            for b, c in zip(list(bounds) + [float("inf")], per):
                cum += c
                l = dict(lab); l["le"] = ("%.17g" % b) if b != float("inf") else "+Inf"
                o.lines.append("%s_bucket%s %d" % (name, labels(l), cum))
            o.lines.append("%s_sum%s %s" % (name, labels(lab), repr(total)))
            o.lines.append("%s_count%s %d" % (name, labels(lab), cum))
    for n, v in [("tgi_request_count", 5210), ("tgi_request_success", 5200)]:
        o.lines.append("# TYPE %s counter" % n)
        o.lines.append("%s %d" % (n, v))
    o.lines.append("# TYPE tgi_batch_inference_count counter")
    o.lines.append('tgi_batch_inference_count{method="prefill"} 4100')
    o.lines.append('tgi_batch_inference_count{method="decode"} 700000')
    for n, v in [("tgi_queue_size", 4), ("tgi_batch_current_size", 31), ("tgi_batch_current_max_tokens", 61234)]:
        o.lines.append("# TYPE %s gauge" % n)
        o.lines.append("%s %d" % (n, v))
    th("tgi_request_duration", [({}, dur, spread(36, 5200, 27), 28000.5)])
    th("tgi_request_queue_duration", [({}, dur, spread(36, 5200, 12), 520.25)])
    th("tgi_request_mean_time_per_token_duration", [({}, dur, spread(36, 5200, 17), 119.6)])
    th("tgi_batch_inference_duration", [({"method": "prefill"}, dur, spread(36, 4100, 15), 205.0), ({"method": "decode"}, dur, spread(36, 700000, 11), 15400.0)])
    th("tgi_request_input_length", [({}, [40.96 * k for k in range(1, 101)], spread(101, 5200, 10), 2130000.0)])
    th("tgi_request_generated_tokens", [({}, [20.48 * k for k in range(1, 101)], spread(101, 5200, 12), 1456000.0)])
    o.write(path)


if __name__ == "__main__":
    vllm_v1(2, 1.0, "vllm_v1.prom")
    vllm_v1(2, 1.001, "vllm_v1_later.prom", created=1.7881e+09)
    vllm_v0("vllm_v0.prom")
    vllm_v1_early("vllm_v1_early.prom")
    sglang_new("sglang.prom")
    sglang_old("sglang_old.prom")
    tgi("tgi.prom")
