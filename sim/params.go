package sim

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
)

// ParamSet holds the two things nothing in this project measured and which
// decide how much decode can save at low clocks: how achievable HBM
// bandwidth falls with the SM clock, and how much of memory-bound core power
// scales with the SM clock. The three shipped sets bound them; each names its
// published source (docs/simulator.md). Sets are frozen: a change needs a
// docs/simulator-changelog.md entry.
type ParamSet struct {
	Name string
	// BWKneeFrac is the SM clock, as a fraction of the profile's maximum,
	// below which achievable HBM bandwidth falls (it is down ~8% at the knee
	// and proportional to the clock well below it).
	BWKneeFrac float64
	// ClockShare is the share of memory-bound core-domain power (SMs stalled
	// on loads, L2 and crossbar traffic) that scales as f·V(f)²; the rest
	// follows traffic only.
	ClockShare float64
	// Source says where the two numbers come from.
	Source string
}

// DefaultParams is the parameter set used when none is named.
const DefaultParams = "nominal"

func paramTable() map[string]*ParamSet {
	return map[string]*ParamSet{
		"pessimistic": {
			Name: "pessimistic", BWKneeFrac: 0.65, ClockShare: 0.45,
			Source: "NVIDIA workload power profiles: up to 15% energy at >=97% performance (developer.nvidia.com power-profiles blog); " +
				"Wang & Chu, GPGPU performance estimation with core and memory frequency scaling (arXiv 1701.05308): memory-bound kernel time depends on core clock",
		},
		"nominal": {
			Name: "nominal", BWKneeFrac: 0.45, ClockShare: 0.70,
			Source: "Ma et al., The Illusion of Power Capping in LLM Decode (arXiv 2605.11999, H200): SM clock locking recovers up to 32% decode energy at minimal throughput loss; " +
				"VoltanaLLM (arXiv 2509.04827, A100): 1410->1005 MHz raises time sub-linearly",
		},
		"optimistic": {
			Name: "optimistic", BWKneeFrac: 0.25, ClockShare: 0.90,
			Source: "Maliakel, Ilager, Brandic (arXiv 2501.08219, RTX PRO 6000): decode largely insensitive to GPU clock, 2842->180 MHz gives -42% energy at +1-6% latency",
		},
	}
}

// ParamSetNames lists the known parameter-set names, sorted.
func ParamSetNames() []string {
	names := make([]string, 0, 3)
	for n := range paramTable() {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// LookupParams returns the named parameter set or an error listing the known ones.
func LookupParams(name string) (*ParamSet, error) {
	if name == "" {
		name = DefaultParams
	}
	p, ok := paramTable()[name]
	if !ok {
		return nil, fmt.Errorf("sim: unknown parameter set %q (known: %s)", name, strings.Join(ParamSetNames(), ", "))
	}
	return p, nil
}

// ParamsHash is a stable hash of everything that shapes the simulated GPU's
// physics for a profile and parameter set: benchmark results record it so a
// number can always be traced to the frozen parameters that produced it.
func ParamsHash(profile, params string) (string, error) {
	prof, err := LookupProfile(profile)
	if err != nil {
		return "", err
	}
	set, err := LookupParams(params)
	if err != nil {
		return "", err
	}
	return hashOf(prof, set), nil
}

func hashOf(prof *Profile, set *ParamSet) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("%+v|%+v", *prof, *set)))
	return hex.EncodeToString(sum[:8])
}

// h100PowerFit returns the H100 power coefficients: the least-squares fit of
// calib_test.go (TestFitBothRuns) over probe runs 1 and 2 together, frozen.
// Memory-domain terms come from run 4 (idle, batch 1 and the GEMM rows).
func h100PowerFit() PowerCoefficients {
	return PowerCoefficients{
		Base: 37.33, Clock: 52.49, Tensor: 1100.2, Traffic: 252.4,
		// Leakage slope: run 1's idle-with-context rows rise 131 -> 140 ->
		// 144 W at 48 -> 58 -> 60 °C, ~1 W/°C at 1.0 V; fixed, not fitted.
		Leak: 1.0, TRef: 45,
		MemIdle: 36.53, MemPerByte: 44.72e-12, MemPerFLOP: 0.08687e-12,
	}
}
