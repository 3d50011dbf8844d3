package sim

import (
	"fmt"
	"sort"
	"strings"
)

// Profile is the hardware a simulated GPU pretends to be: what NVML would
// report as facts, plus the physical constants the power model needs that do
// not depend on which parameter set is chosen. Profiles are immutable tables;
// GPUs point at them and never write through the pointer.
type Profile struct {
	Name      string // profile key, e.g. "h100-sxm"
	Marketing string // what NVML reports as the device name

	MinCoreMHz, MaxCoreMHz, CoreStepMHz int
	IdleCoreMHz                         int   // clock the governor drops to with no CUDA context
	MemClocksMHz                        []int // ascending; the last is the default
	MemLockSupported                    bool

	PowerLimitW, PowerMinW, PowerMaxW float64

	// PeakFLOPPerCycle is dense BF16 tensor FLOP per SM-clock cycle for the
	// whole chip (SMs × FLOP/cycle/SM).
	PeakFLOPPerCycle float64
	// SpecBandwidth is the datasheet HBM bandwidth at the default memory clock.
	SpecBandwidth float64
	// AchievableBandwidth is the HBM bandwidth a streaming kernel reaches at
	// the maximum SM clock while it runs (busy time only).
	AchievableBandwidth float64
	// GEMMEfficiency is the fraction of peak tensor FLOP/s a large GEMM
	// reaches; a GEMM of M tokens reaches GEMMEfficiency·M/(M+GEMMHalfM)
	// (tile and wave quantisation: the probe's M=512 chunk reached ~72% of
	// peak at its clock, M=8192 ~92%).
	GEMMEfficiency float64
	GEMMHalfM      float64
	// RooflineP is the exponent of the smooth roofline: step time is the
	// p-norm of compute and memory time (3: a cube-root sum of cubes).
	RooflineP float64
	// KVReadEfficiency is paged attention's KV-cache read bandwidth as a
	// fraction of AchievableBandwidth (scattered 16-token blocks, short
	// rows per sequence).
	KVReadEfficiency float64
	// StepOverheadS is fixed GPU-side time per step of any kernel sequence
	// (launch gaps), in seconds.
	StepOverheadS float64

	// Voltage/frequency curve: flat at VMin up to VKneeMHz, then linear up
	// to VMax at MaxCoreMHz.
	VMin, VMax float64
	VKneeMHz   float64

	// power model coefficients (see docs/simulator.md for each source).
	Power PowerCoefficients
	// Thermal model.
	Thermal ThermalCoefficients
}

// PowerCoefficients are the power model's fitted constants for one profile.
// With φ(f) = (f/fmax)·(V(f)/V(fmax))²:
//
//	rest  = Base + Clock·φ + Tensor·u·φ + Traffic·ρ·(s·φ + 1−s) + Leak·(T−TRef)·V/Vmax
//	mem   = MemIdle + MemPerByte·bytes/s + MemPerFLOP·FLOP/s
//
// u is tensor utilisation (FLOP/s over peak at f), ρ HBM traffic over the
// datasheet bandwidth, s the parameter set's share of memory-bound core power
// that scales with the SM clock.
type PowerCoefficients struct {
	Base, Clock, Tensor, Traffic, Leak, TRef float64
	MemIdle, MemPerByte, MemPerFLOP          float64
}

// ThermalCoefficients drive a two-node thermal model: the heat sink follows
// power slowly (RSinkAmbient, TauSinkS), the die sits RDieSink above it and
// follows a fast-filtered power (TauDieS).
type ThermalCoefficients struct {
	AmbientC, RDieSink, RSinkAmbient, TauDieS, TauSinkS float64
}

// CoreClocks lists the supported SM clocks, ascending. It allocates; call it
// once (Facts does) rather than per step.
func (p *Profile) CoreClocks() []int {
	n := (p.MaxCoreMHz-p.MinCoreMHz)/p.CoreStepMHz + 1
	out := make([]int, 0, n)
	for f := p.MinCoreMHz; f <= p.MaxCoreMHz; f += p.CoreStepMHz {
		out = append(out, f)
	}
	return out
}

// SupportsCoreClock reports whether mhz is one of the profile's SM clocks.
func (p *Profile) SupportsCoreClock(mhz int) bool {
	return mhz >= p.MinCoreMHz && mhz <= p.MaxCoreMHz && (mhz-p.MinCoreMHz)%p.CoreStepMHz == 0
}

// SupportsMemClock reports whether mhz is one of the profile's memory clocks.
func (p *Profile) SupportsMemClock(mhz int) bool {
	for _, m := range p.MemClocksMHz {
		if m == mhz {
			return true
		}
	}
	return false
}

// DefaultMemMHz is the memory clock with no lock.
func (p *Profile) DefaultMemMHz() int { return p.MemClocksMHz[len(p.MemClocksMHz)-1] }

// profileTable returns the known profiles. It builds fresh values on each call
// so there is no package-level mutable state; NewGPU calls it once per GPU.
func profileTable() map[string]*Profile {
	return map[string]*Profile{
		"h100-sxm": h100SXM(),
		"a100-sxm": a100SXM(),
	}
}

// DefaultProfile is the profile used when none is named.
const DefaultProfile = "h100-sxm"

// ProfileNames lists the known profile names, sorted.
func ProfileNames() []string {
	names := make([]string, 0, 2)
	for n := range profileTable() {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// LookupProfile returns the named profile or an error listing the known ones.
func LookupProfile(name string) (*Profile, error) {
	if name == "" {
		name = DefaultProfile
	}
	p, ok := profileTable()[name]
	if !ok {
		return nil, fmt.Errorf("sim: unknown GPU profile %q (known: %s)", name, strings.Join(ProfileNames(), ", "))
	}
	return p, nil
}

// h100SXM is the H100 80GB HBM3 SXM as the project's probe saw it
// (../shared/data/h100-nvml-probe): 345–1980 MHz in 15 MHz steps, memory
// 2619 and 1593 MHz, 700 W limit in 200–700 W. Memory-clock locking is
// marked unsupported: the probe shows "Deferred Clocks: N/A" and a public
// nvidia-smi log on H100 refused --lock-memory-clocks (anchors.md §3.1).
// The power coefficients are the least-squares fit of calib_test.go over
// probe runs 1 and 2 together, frozen (docs/simulator-changelog.md).
func h100SXM() *Profile {
	return &Profile{
		Name:             "h100-sxm",
		Marketing:        "NVIDIA H100 80GB HBM3 (simulated)",
		MinCoreMHz:       345,
		MaxCoreMHz:       1980,
		CoreStepMHz:      15,
		IdleCoreMHz:      345,
		MemClocksMHz:     []int{1593, 2619},
		MemLockSupported: false,
		PowerLimitW:      700,
		PowerMinW:        200,
		PowerMaxW:        700,
		PeakFLOPPerCycle: 132 * 4096, // 989.4 TFLOP/s dense BF16 at 1830 MHz
		SpecBandwidth:    3.35e12,
		// Busy-time bandwidth of the probe's decode GEMVs at 1980 MHz, net
		// of the step overhead: 2.88 TB/s (run 1), 2.67 (run 2); fit over
		// runs 1+2 (calib_test.go).
		AchievableBandwidth: 2.733e12,
		// Fit over the probe's GEMM and chunk rows (calib_test.go,
		// TestFitGEMMShape): M=512 587 TFLOP/s at ~1500 MHz, M=2048 674
		// and M=8192 684 at ~1380 MHz, batch 256 and 1024 GEMVs.
		GEMMEfficiency: 0.965,
		GEMMHalfM:      96,
		RooflineP:      6,
		// Paged-attention decode reaches ~70–85% of the H100's datasheet
		// bandwidth (2.35–2.85 TB/s); 2.35 TB/s over BW_max 2.733.
		KVReadEfficiency: 0.86,
		StepOverheadS:    0.2e-3,
		VMin:             0.67,
		VMax:             1.0,
		VKneeMHz:         900,
		Power:            h100PowerFit(),
		// Fitted to 700 W load steps on two H100 SXM machines, read-only
		// (docs/real-h100/): 0.0531 and 0.0489 °C/W in all, a sink time
		// constant of 20–25 s, a die constant of ~0.3 s, inlet ~32 °C.
		Thermal: ThermalCoefficients{
			AmbientC: 32, RDieSink: 0.024, RSinkAmbient: 0.027, TauDieS: 0.3, TauSinkS: 22,
		},
	}
}

// a100SXM is the A100 SXM4 80GB: 210–1410 MHz in 15 MHz steps, one memory
// clock (1593 MHz), 400 W limit (100–400 W). Not calibrated against a probe:
// its power coefficients are the H100 fit scaled by the TDP ratio, its idle
// floor set to the published ~60 W (anchors.md §3.1).
func a100SXM() *Profile {
	scale := 400.0 / 700.0
	pw := h100PowerFit()
	pw.Base, pw.Clock, pw.Tensor, pw.Traffic, pw.Leak = pw.Base*scale, pw.Clock*scale, pw.Tensor*scale, pw.Traffic*scale, pw.Leak*scale
	pw.MemIdle = pw.MemIdle * scale
	return &Profile{
		Name:             "a100-sxm",
		Marketing:        "NVIDIA A100-SXM4-80GB (simulated)",
		MinCoreMHz:       210,
		MaxCoreMHz:       1410,
		CoreStepMHz:      15,
		IdleCoreMHz:      210,
		MemClocksMHz:     []int{1593},
		MemLockSupported: true,
		PowerLimitW:      400,
		PowerMinW:        100,
		PowerMaxW:        400,
		PeakFLOPPerCycle: 108 * 2048, // 312 TFLOP/s dense BF16 at 1410 MHz
		SpecBandwidth:    2.039e12,
		// Same fraction of the datasheet bandwidth as the H100 probe reached.
		AchievableBandwidth: 2.039e12 * 2.733 / 3.35,
		GEMMEfficiency:      0.965,
		GEMMHalfM:           96,
		RooflineP:           6,
		KVReadEfficiency:    0.86,
		StepOverheadS:       0.2e-3,
		VMin:                0.70,
		VMax:                1.0,
		VKneeMHz:            700,
		Power:               pw,
		Thermal: ThermalCoefficients{
			AmbientC: 25, RDieSink: 0.05, RSinkAmbient: 0.09, TauDieS: 1, TauSinkS: 60,
		},
	}
}
