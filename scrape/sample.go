// Package scrape turns an inference server's Prometheus exposition (vLLM V1,
// vLLM V0, SGLang, TGI) into one server-neutral set of cumulative signals,
// and computes window statistics between two samples.
package scrape

import (
	"context"
	"time"
)

// Flavor is the server family detected from the exposition.
type Flavor string

const (
	FlavorVLLMV1  Flavor = "vllm-v1"
	FlavorVLLMV0  Flavor = "vllm-v0"
	FlavorSGLang  Flavor = "sglang"
	FlavorTGI     Flavor = "tgi"
	FlavorUnknown Flavor = "unknown"
)

// Signal names one server-neutral quantity.
type Signal int

const (
	SigRunning       Signal = iota // gauge: requests in the running batch
	SigWaiting                     // gauge: requests queued
	SigKVUsage                     // gauge: KV-cache usage 0..1
	SigPromptTokens                // counter: prompt tokens processed
	SigGenTokens                   // counter: generated (output) tokens
	SigTTFT                        // histogram: time to first token, s
	SigITL                         // histogram: inter-token latency, s
	SigTPOT                        // histogram: per-request time per output token, s
	SigE2E                         // histogram: end-to-end request latency, s
	SigPrefixHits                  // counter: prefix-cache hit tokens
	SigPrefixQueries               // counter: prefix-cache queried tokens
	SigFinished                    // counter: finished requests
	SigPreemptions                 // counter: preemptions
	SigIterTokens                  // histogram: tokens per engine step
	numSignals
)

// NumSignals is the number of defined signals.
const NumSignals = int(numSignals)

// SignalSet is a bit set of signals present in a sample.
type SignalSet uint32

// Has reports whether s is in the set.
func (ss SignalSet) Has(s Signal) bool { return ss&(1<<uint(s)) != 0 }

// With returns the set with s added.
func (ss SignalSet) With(s Signal) SignalSet { return ss | 1<<uint(s) }

// Histogram is a cumulative Prometheus histogram summed over series.
// Upper holds bucket upper bounds ascending, the last being +Inf;
// Cumulative[i] is the cumulative count for Upper[i]. A Parser keeps only
// the +Inf bucket (with Sum and Count) of the E2E and Iter histograms unless
// built WithAllBuckets.
type Histogram struct {
	Upper      []float64
	Cumulative []float64
	Sum        float64
	Count      float64
}

// Sample is one scrape reduced to server-neutral cumulative values.
// A signal not in Present is missing; its field holds zero.
type Sample struct {
	At      time.Time
	Flavor  Flavor
	Present SignalSet
	// Model is the served model's name (the model_name label), "" when the
	// exposition has none or serves several models.
	Model string

	Running, Waiting, KVUsage float64

	PromptTokens, GenTokens    float64
	PrefixHits, PrefixQueries  float64
	Finished, Preemptions      float64
	TTFT, ITL, TPOT, E2E, Iter Histogram

	// Swapped is vLLM V0's swapped-request gauge (SigSwapped).
	Swapped float64
	// Series names, per signal, the exposition series that supplied it
	// (e.g. "vllm:kv_cache_usage_perc"); "" where the signal is missing.
	Series [AllSignals]string
}

// Source yields samples: over HTTP from a real server, or in-process from the
// simulator. Fetch must honour ctx's deadline.
type Source interface {
	Fetch(ctx context.Context) (Sample, error)
}
