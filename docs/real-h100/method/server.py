# A small decode-like "inference server" for a read-only gputune check on a
# real GPU: continuous batching over a 16 GB bf16 weight matrix (memory-bound
# decode steps, compute-bound prefill GEMMs), KV reads growing with context,
# and vLLM v1 metric names on :8000. It never touches clocks or limits.
import json, math, random, sys, time, threading
import torch
from prometheus_client import Counter, Gauge, Histogram, start_http_server

schedule = json.loads(sys.argv[1])  # [[name, seconds, concurrency], ...]
phases_out = sys.argv[2]
random.seed(1)
L = {"model_name": "mini-8b", "engine": "0"}
lab = list(L)
running = Gauge("vllm:num_requests_running", "", lab).labels(**L)
waiting = Gauge("vllm:num_requests_waiting", "", lab).labels(**L)
kvuse = Gauge("vllm:kv_cache_usage_perc", "", lab).labels(**L)
ptoks = Counter("vllm:prompt_tokens", "", lab).labels(**L)
gtoks = Counter("vllm:generation_tokens", "", lab).labels(**L)
succ = Counter("vllm:request_success", "", lab).labels(**L)
pre = Counter("vllm:num_preemptions", "", lab).labels(**L)
TT = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0]
IT = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0]
E2 = [0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0]
IK = [1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384]
ttft = Histogram("vllm:time_to_first_token_seconds", "", lab, buckets=TT).labels(**L)
itl = Histogram("vllm:inter_token_latency_seconds", "", lab, buckets=IT).labels(**L)
tpot = Histogram("vllm:request_time_per_output_token_seconds", "", lab, buckets=IT).labels(**L)
e2e = Histogram("vllm:e2e_request_latency_seconds", "", lab, buckets=E2).labels(**L)
itk = Histogram("vllm:iteration_tokens_total", "", lab, buckets=IK).labels(**L)
start_http_server(8000, addr="127.0.0.1")

dev = torch.device("cuda")
D = 8192
N = 16 * 10**9 // 2 // D            # 16 GB of bf16 weights
W = torch.randn(D, N, device=dev, dtype=torch.bfloat16)
KV_PER_TOK = 128 * 1024              # bytes, Llama-3-8B-like
KV_TOKENS = 200_000
KV = torch.ones(KV_TOKENS * KV_PER_TOK // 2, device=dev, dtype=torch.bfloat16)
torch.cuda.synchronize()

class Req:
    __slots__ = ("arr", "plen", "olen", "done", "first", "last")
    def __init__(s, now):
        s.arr, s.plen, s.olen, s.done, s.first, s.last = now, random.randint(256, 1024), random.randint(128, 384), 0, None, None

phases, t0 = [], time.time()
for name, secs, conc in schedule:
    ps = time.time(); end = ps + secs
    run, steps, toks = [], 0, 0
    while time.time() < end:
        now = time.time()
        if conc == 0:
            running.set(0); waiting.set(0); kvuse.set(0)
            time.sleep(0.05); continue
        new = []
        while len(run) + len(new) < conc:
            new.append(Req(now))
        if new:  # prefill, chunked at 2048 tokens
            n = sum(r.plen for r in new)
            for c in range(0, n, 2048):
                m = min(2048, n - c)
                x = torch.randn(m, D, device=dev, dtype=torch.bfloat16)
                (x @ W[:, : N // 8]).sum()
            torch.cuda.synchronize()
            ptoks.inc(n); itk.observe(n)
            t = time.time()
            for r in new:
                r.first = r.last = t; ttft.observe(t - r.arr); r.done = 1
            gtoks.inc(len(new))
            run += new
        b = len(run)
        x = torch.randn(b, D, device=dev, dtype=torch.bfloat16)
        (x @ W).sum()
        ctx = sum(r.plen + r.done for r in run)
        KV[: min(ctx, KV_TOKENS) * KV_PER_TOK // 2].sum()
        torch.cuda.synchronize()
        t = time.time(); steps += 1; toks += b
        gtoks.inc(b); itk.observe(b)
        keep = []
        for r in run:
            itl.observe(t - r.last); r.last = t; r.done += 1
            if r.done >= r.olen:
                e2e.observe(t - r.arr); tpot.observe((t - r.first) / max(1, r.done - 1)); succ.inc()
            else:
                keep.append(r)
        run = keep
        running.set(len(run)); waiting.set(0); kvuse.set(min(1.0, ctx / KV_TOKENS))
    phases.append({"name": name, "start_unix_ns": int(ps * 1e9), "end_unix_ns": int(time.time() * 1e9),
                   "concurrency": conc, "decode_steps": steps, "decode_tokens": toks,
                   "mean_step_ms": (secs * 1000 / steps) if steps else None})
    print(json.dumps(phases[-1]), flush=True)
json.dump(phases, open(phases_out, "w"), indent=1)
