package control

import (
	"math"

	"github.com/gputune/gputune/scrape"
)

// The context features: AGFT's seven, adapted to current server signals,
// plus a bias term. Throughputs are per second (AGFT used raw per-window
// deltas, which change meaning with the window length) and log-scaled, so a
// linear model sees load multiplicatively, as energy and delay respond to it.
//
// FeatureNames lists them in order.
func FeatureNames() []string {
	return []string{
		"has_queue",           // 1 when requests wait (AGFT: has_queue)
		"log_prefill_tok_s",   // log1p(prompt tokens/s) (AGFT: prefill_throughput)
		"log_decode_tok_s",    // log1p(generated tokens/s) (AGFT: decode_throughput)
		"log_tokens_per_step", // log1p(mean tokens per engine step) (AGFT: packing_efficiency)
		"running",             // requests in the batch (AGFT: concurrency)
		"kv_usage_pct",        // KV-cache usage, percent (AGFT: gpu_cache_usage)
		"prefix_hit_pct",      // prefix-cache hit rate, percent (AGFT: cache_hit_rate)
		"bias",                // constant 1 (AGFT has none)
	}
}

// NumFeatures is the length of a context vector, bias included.
const NumFeatures = 8

// rawFeatures fills dst with the window's raw features. A signal the server
// lacks contributes 0, the same for every arm, so it cannot bias a choice.
func rawFeatures(dst *[NumFeatures]float64, w scrape.Window) {
	finite := func(v float64) float64 {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return 0
		}
		return v
	}
	dst[0] = 0
	if w.Waiting > 0 {
		dst[0] = 1
	}
	dst[1] = math.Log1p(finite(w.PromptTokPerS))
	dst[2] = math.Log1p(finite(w.GenTokPerS))
	dst[3] = math.Log1p(finite(w.MeanIterTokens))
	dst[4] = finite(w.Running)
	dst[5] = 100 * finite(w.KVUsage)
	dst[6] = 100 * finite(w.PrefixHitRate)
	dst[7] = 1
}
