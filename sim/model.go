package sim

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ErrUnknownModel is returned for a model profile name that is not defined.
var ErrUnknownModel = errors.New("unknown model profile")

// ModelProfile is what the engine needs to know about one model as served on
// one GPU: the numbers that turn a batch into FLOPs and bytes.
type ModelProfile struct {
	// Name is the profile's key; ServedName is what vLLM's model_name label
	// shows (--served-model-name).
	Name       string
	ServedName string
	// WeightBytes is read once per engine step (this GPU's shard).
	WeightBytes float64
	// DenseFLOPsPerToken is the GEMM work per token, counted in bf16-rate
	// FLOPs on this GPU (an fp8 model's FLOPs are halved because its tensor
	// cores run at twice the bf16 rate).
	DenseFLOPsPerToken float64
	// AttnFLOPsPerPair is the attention work for one query token against one
	// context token: QK^T and AV, 2·2·layers·heads·head_dim on this GPU.
	AttnFLOPsPerPair float64
	// KVBytesPerToken is the KV cache one token occupies on this GPU.
	KVBytesPerToken float64
	// MaxModelLen bounds prompt + output; it also sets vLLM's 1-2-5 token
	// histogram buckets.
	MaxModelLen int
	// TensorParallel is how many GPUs share the model; the engine simulates
	// one of them and leaves out the all-reduce traffic.
	TensorParallel int
}

// modelProfiles returns the defined profiles. A function, not a package
// variable, so that no caller can change the table.
func modelProfiles() []ModelProfile {
	return []ModelProfile{
		{
			// Llama-3.1-8B bf16: 8.03e9 parameters (16.1 GB), 32 layers,
			// 32 query heads and 8 KV heads of 128: KV = 2·32·8·128·2 B =
			// 128 KiB per token; attention 2·2·32·32·128 FLOP per pair.
			Name:               "llama-3.1-8b",
			ServedName:         "meta-llama/Llama-3.1-8B-Instruct",
			WeightBytes:        16.06e9,
			DenseFLOPsPerToken: 2 * 8.03e9,
			AttnFLOPsPerPair:   4 * 32 * 32 * 128,
			KVBytesPerToken:    128 * 1024,
			MaxModelLen:        131072,
			TensorParallel:     1,
		},
		{
			// Llama-3.1-70B fp8 (weights and KV cache) with tensor
			// parallelism 2: each GPU holds half the 70.6e9 parameters
			// (35.3 GB), half of the 64 query and 8 KV heads of 80 layers.
			// KV per token per GPU = 2·80·4·128·1 B = 80 KiB. fp8 GEMMs run
			// at twice the bf16 rate, so dense FLOPs count 2·70.6e9/2/2.
			Name:               "llama-3.1-70b-fp8-tp2",
			ServedName:         "meta-llama/Llama-3.1-70B-Instruct-FP8",
			WeightBytes:        35.3e9,
			DenseFLOPsPerToken: 2 * 70.6e9 / 2 / 2,
			AttnFLOPsPerPair:   4 * 80 * 32 * 128 / 2,
			KVBytesPerToken:    80 * 1024,
			MaxModelLen:        131072,
			TensorParallel:     2,
		},
	}
}

// ModelNames lists the defined model profiles.
func ModelNames() []string {
	var names []string
	for _, m := range modelProfiles() {
		names = append(names, m.Name)
	}
	sort.Strings(names)
	return names
}

// LookupModel returns the named model profile ("" means the default,
// llama-3.1-8b).
func LookupModel(name string) (ModelProfile, error) {
	if name == "" {
		name = "llama-3.1-8b"
	}
	for _, m := range modelProfiles() {
		if m.Name == name {
			return m, nil
		}
	}
	return ModelProfile{}, fmt.Errorf("%w %q (defined: %s)", ErrUnknownModel, name, strings.Join(ModelNames(), ", "))
}

// validate reports a profile that would make the engine divide by zero or
// never finish.
func (m ModelProfile) validate() error {
	switch {
	case m.WeightBytes <= 0:
		return fmt.Errorf("model %q: weight bytes must be positive", m.Name)
	case m.DenseFLOPsPerToken <= 0:
		return fmt.Errorf("model %q: FLOPs per token must be positive", m.Name)
	case m.KVBytesPerToken <= 0:
		return fmt.Errorf("model %q: KV bytes per token must be positive", m.Name)
	case m.AttnFLOPsPerPair < 0:
		return fmt.Errorf("model %q: attention FLOPs must not be negative", m.Name)
	case m.MaxModelLen <= 0:
		return fmt.Errorf("model %q: max model length must be positive", m.Name)
	}
	return nil
}
