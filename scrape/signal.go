package scrape

import "strings"

// SigSwapped is appended after the original signals so existing indices keep
// their meaning: vLLM V0's swapped-request gauge (V1 never swaps).
const SigSwapped = numSignals

// allSignals counts SigSwapped too; Signal values run 0..allSignals-1.
const allSignals = int(numSignals) + 1

// AllSignals is the number of signals a Sample can carry, SigSwapped
// included; iterate Signal(0)..Signal(AllSignals-1).
const AllSignals = allSignals

// SignalSet is 32 bits wide: this constant fails to compile past 32 signals.
const _ = uint(32 - allSignals)

// signalInfo is the fixed description of one signal: its stable name (used
// in JSON and logs) and what gputune cannot do without it.
type signalInfo struct {
	name     string
	disables string
}

func infoOf(s Signal) signalInfo {
	switch s {
	case SigRunning:
		return signalInfo{"running", "batch-size context: the policy cannot tell a full batch from a light one"}
	case SigWaiting:
		return signalInfo{"waiting", "queue-pressure context and the queue-growth guard"}
	case SigKVUsage:
		return signalInfo{"kv_usage", "KV-cache pressure context"}
	case SigPromptTokens:
		return signalInfo{"prompt_tokens", "prefill throughput (prompt tokens/s) context"}
	case SigGenTokens:
		return signalInfo{"gen_tokens", "generation throughput: energy per token and EDP cannot be computed"}
	case SigTTFT:
		return signalInfo{"ttft", "the TTFT SLO cannot be enforced"}
	case SigITL:
		return signalInfo{"itl", "the inter-token-latency SLO cannot be enforced"}
	case SigTPOT:
		return signalInfo{"tpot", "the per-request TPOT SLO cannot be enforced"}
	case SigE2E:
		return signalInfo{"e2e", "end-to-end latency reporting"}
	case SigPrefixHits:
		return signalInfo{"prefix_hits", "the prefix-cache hit rate"}
	case SigPrefixQueries:
		return signalInfo{"prefix_queries", "the prefix-cache hit rate"}
	case SigFinished:
		return signalInfo{"finished", "the request completion rate"}
	case SigPreemptions:
		return signalInfo{"preemptions", "preemption (KV thrashing) detection"}
	case SigIterTokens:
		return signalInfo{"iter_tokens", "tokens-per-engine-step context"}
	case SigSwapped:
		return signalInfo{"swapped", "swapped-request context (vLLM V0 only)"}
	}
	return signalInfo{"unknown", ""}
}

// String returns the signal's stable snake_case name, e.g. "ttft".
func (s Signal) String() string { return infoOf(s).name }

// Disables says what gputune cannot do when a server lacks s.
func (s Signal) Disables() string { return infoOf(s).disables }

// IsHistogram reports whether s is a latency or size histogram.
func (s Signal) IsHistogram() bool {
	switch s {
	case SigTTFT, SigITL, SigTPOT, SigE2E, SigIterTokens:
		return true
	}
	return false
}

// ParseSignal is the inverse of Signal.String.
func ParseSignal(name string) (Signal, bool) {
	name = strings.ToLower(strings.TrimSpace(name))
	for s := Signal(0); int(s) < allSignals; s++ {
		if s.String() == name {
			return s, true
		}
	}
	return 0, false
}
