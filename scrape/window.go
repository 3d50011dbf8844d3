package scrape

import "time"

// Window holds statistics between two consecutive samples, plus latency
// tails over a longer sliding window (one 0.3 s window holds only one or two
// TTFT observations). A statistic that could not be computed is NaN, and
// the matching Valid flag (or Present bit) says why.
type Window struct {
	Start, End time.Time
	Dur        time.Duration
	Flavor     Flavor
	Present    SignalSet // signals present in both samples
	// Reset is true when a counter went backwards (server restart) or a
	// series vanished: rates for this window are not trustworthy.
	Reset bool

	// Gauges, from the later sample.
	Running, Waiting, KVUsage float64

	// Deltas over the window, and per-second rates.
	PromptTokens, GenTokens   float64
	PromptTokPerS, GenTokPerS float64
	Finished, Preemptions     float64
	PrefixHitRate             float64 // Δhits/Δqueries, NaN when no queries
	MeanIterTokens            float64 // Δsum/Δcount of tokens per step, NaN when none

	// Window means (Δsum/Δcount) and counts of latency observations.
	TTFTMean, ITLMean, TPOTMean, E2EMean float64
	TTFTObs, ITLObs, TPOTObs, E2EObs     float64

	// Tail latencies at the configured quantile over the sliding window,
	// with histogram_quantile interpolation; NaN until the tail has enough
	// observations (TailObs* says how many it has).
	TTFTTail, ITLTail, TPOTTail          float64
	TTFTTailObs, ITLTailObs, TPOTTailObs float64
	// MaxTTFTUpper is an upper bound on the largest TTFT seen in this
	// window (the upper bound of the highest non-empty bucket delta).
	MaxTTFTUpper float64
	// MaxTTFTLower is a lower bound on the largest TTFT seen in this
	// window (the lower bound of the highest non-empty bucket delta): a
	// value over a limit proves one request broke it.
	MaxTTFTLower float64

	// Swapped is vLLM V0's swapped-request gauge, from the later sample.
	Swapped float64
}
