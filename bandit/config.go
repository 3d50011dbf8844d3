package bandit

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// Policy names accepted by New.
const (
	PolicyGPUTune = "gputune"
	PolicyAGFT    = "agft"
)

// Objectives. The policy only records the objective: the caller turns
// energy or EDP into the reward it passes to Update.
const (
	ObjectiveEDP    = "edp"
	ObjectiveEnergy = "energy"
)

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("bandit: invalid configuration")

// Config parameterises both policies. Zero values are replaced by the
// policy's defaults (see DefaultConfig), so a caller sets only what it means.
type Config struct {
	// Features is the length of every context vector passed to Decide and
	// Update, including the constant bias term when Bias is true.
	Features int `json:"features"`
	// Bias says the last context element is a constant 1. gputune uses it as
	// the intercept; agft drops it, because AGFT's model has no intercept.
	Bias bool `json:"bias"`

	// InitialAlpha, AlphaDecay and MinAlpha give α = max(initial·e^(−decay·round), min).
	InitialAlpha float64 `json:"initial_alpha"`
	AlphaDecay   float64 `json:"alpha_decay"`
	MinAlpha     float64 `json:"min_alpha"`
	// Ridge is the prior precision of a fresh model (AGFT: max(λ, 5)).
	Ridge float64 `json:"ridge"`

	SLOMode   SLOMode `json:"slo_mode"`
	TTFTLimit float64 `json:"ttft_limit_s"` // 0: no TTFT limit
	TPOTLimit float64 `json:"tpot_limit_s"` // 0: no TPOT limit

	ActionPruning  bool `json:"action_pruning"`
	ExtremePruning bool `json:"extreme_pruning"` // agft only

	Objective string `json:"objective"` // metadata only

	// Forgetting is the per-update discount γ ∈ (0, 1]; 1 keeps everything.
	// gputune only: AGFT has no forgetting.
	Forgetting float64 `json:"forgetting"`

	// MemoryClock makes (SMMHz, MemMHz) pairs the arms.
	MemoryClock bool `json:"memory_clock"`
	// ClockStepMHz is the core-clock grid step (15 on H100); it defines
	// "±1 step" for convergence and AGFT's refinement grid.
	ClockStepMHz int `json:"clock_step_mhz"`

	// FreqBasis is the number of cubic B-spline functions over the
	// normalised core clock in gputune's reward model.
	FreqBasis int `json:"freq_basis"`
	// LatencyBeta scales gputune's latency upper confidence bounds.
	LatencyBeta float64 `json:"latency_beta"`
	// RefactorEvery is how many rank-1 updates run between full
	// re-inversions of gputune's matrices.
	RefactorEvery int `json:"refactor_every"`

	// SettleZ and SettleMargin make gputune settle on a clock (see
	// settle.go). The exploit choice moves from the incumbent arm to the
	// best-predicted one only when the predicted gain exceeds SettleZ
	// standard errors of that difference; an exploratory arm is tried only
	// when its optimistic reward beats the incumbent's predicted reward by
	// more than SettleMargin (reward units: with the control loop's
	// −ln(EDP/baseline) reward, 0.01 is 1 % EDP). gputune only.
	SettleZ      float64 `json:"settle_z"`
	SettleMargin float64 `json:"settle_margin"`
	// ExploreRadiusMHz bounds gputune's exploration, once past its first
	// globalExploreRounds, to clocks within this distance of the exploit
	// clock, given for the H100's supported range (1,635 MHz) and scaled
	// to the GPU's own (see exploreRadius in settle.go). gputune only.
	ExploreRadiusMHz int `json:"explore_radius_mhz,omitempty"`
	// ClockRangeMHz is the GPU's supported core-clock range (its highest
	// supported clock less its lowest), whatever clocks the operator
	// allows; gputune's cold-start design spaces its clocks as a share of
	// it (coldstart.go). 0: the arms' range.
	ClockRangeMHz int `json:"clock_range_mhz,omitempty"`
}

// DefaultConfig returns the defaults of the named policy for n context
// features (bias included).
func DefaultConfig(name string, n int) Config {
	switch name {
	case PolicyAGFT:
		return Config{
			Features: n, Bias: true,
			InitialAlpha: 10, AlphaDecay: 0.02, MinAlpha: 0.1, Ridge: 5,
			SLOMode: SLOAware, TTFTLimit: 0, TPOTLimit: 0,
			ActionPruning: true, ExtremePruning: true,
			Objective: ObjectiveEDP, Forgetting: 1, ClockStepMHz: 15,
			// Unused by agft; set so one Validate covers both policies.
			FreqBasis: 10, LatencyBeta: 2, RefactorEvery: 64,
			SettleZ: 1, SettleMargin: 0.01,
		}
	default:
		return Config{
			Features: n, Bias: true,
			InitialAlpha: 1, AlphaDecay: 0.01, MinAlpha: 0.05, Ridge: 0.05,
			SLOMode: SLOAware, ActionPruning: true,
			Objective: ObjectiveEDP, Forgetting: 0.995, ClockStepMHz: 15,
			FreqBasis: 10, LatencyBeta: 2, RefactorEvery: 64,
			SettleZ: 1, SettleMargin: 0.01, ExploreRadiusMHz: 150,
		}
	}
}

// withDefaults fills zero fields from DefaultConfig.
func (c Config) withDefaults(name string) Config {
	d := DefaultConfig(name, c.Features)
	if c.InitialAlpha == 0 {
		c.InitialAlpha = d.InitialAlpha
	}
	if c.AlphaDecay == 0 {
		c.AlphaDecay = d.AlphaDecay
	}
	if c.MinAlpha == 0 {
		c.MinAlpha = d.MinAlpha
	}
	if c.Ridge == 0 {
		c.Ridge = d.Ridge
	}
	if c.SLOMode == "" {
		c.SLOMode = d.SLOMode
	}
	if c.Objective == "" {
		c.Objective = d.Objective
	}
	if c.Forgetting == 0 {
		c.Forgetting = d.Forgetting
	}
	if c.ClockStepMHz == 0 {
		c.ClockStepMHz = d.ClockStepMHz
	}
	if c.FreqBasis == 0 {
		c.FreqBasis = d.FreqBasis
	}
	if c.LatencyBeta == 0 {
		c.LatencyBeta = d.LatencyBeta
	}
	if c.RefactorEvery == 0 {
		c.RefactorEvery = d.RefactorEvery
	}
	if c.SettleZ == 0 {
		c.SettleZ = d.SettleZ
	}
	if c.SettleMargin == 0 {
		c.SettleMargin = d.SettleMargin
	}
	if c.ExploreRadiusMHz == 0 {
		c.ExploreRadiusMHz = d.ExploreRadiusMHz
	}
	return c
}

// finite is v−v == 0, which only NaN and ±Inf fail: one subtraction
// instead of two tests, on a path that runs several times per arm.
func finite(v float64) bool { return v-v == 0 }

// Validate says what to fix in a configuration.
func (c Config) Validate() error {
	minFeatures := 1
	if c.Bias {
		minFeatures = 2
	}
	switch {
	case c.Features < minFeatures || c.Features > 64:
		return fmt.Errorf("%w: features = %d, want %d..64 (bias included)", ErrConfig, c.Features, minFeatures)
	case !finite(c.InitialAlpha) || c.InitialAlpha < 0:
		return fmt.Errorf("%w: initial_alpha = %v, want a finite value ≥ 0", ErrConfig, c.InitialAlpha)
	case !finite(c.AlphaDecay) || c.AlphaDecay < 0:
		return fmt.Errorf("%w: alpha_decay = %v, want a finite value ≥ 0", ErrConfig, c.AlphaDecay)
	case !finite(c.MinAlpha) || c.MinAlpha < 0:
		return fmt.Errorf("%w: min_alpha = %v, want a finite value ≥ 0", ErrConfig, c.MinAlpha)
	case !finite(c.Ridge) || c.Ridge <= 0:
		return fmt.Errorf("%w: ridge = %v, want a finite value > 0", ErrConfig, c.Ridge)
	case c.SLOMode != SLOAware && c.SLOMode != SLOIgnore:
		return fmt.Errorf("%w: slo_mode = %q, want %q or %q", ErrConfig, c.SLOMode, SLOAware, SLOIgnore)
	case !finite(c.TTFTLimit) || c.TTFTLimit < 0 || !finite(c.TPOTLimit) || c.TPOTLimit < 0:
		return fmt.Errorf("%w: latency limits (%v, %v) must be finite and ≥ 0 (0: none)", ErrConfig, c.TTFTLimit, c.TPOTLimit)
	case c.Objective != ObjectiveEDP && c.Objective != ObjectiveEnergy:
		return fmt.Errorf("%w: objective = %q, want %q or %q", ErrConfig, c.Objective, ObjectiveEDP, ObjectiveEnergy)
	case !finite(c.Forgetting) || c.Forgetting <= 0.5 || c.Forgetting > 1:
		return fmt.Errorf("%w: forgetting = %v, want a discount in (0.5, 1]", ErrConfig, c.Forgetting)
	case c.ClockStepMHz <= 0:
		return fmt.Errorf("%w: clock_step_mhz = %d, want > 0", ErrConfig, c.ClockStepMHz)
	case c.FreqBasis < 4 || c.FreqBasis > 24:
		return fmt.Errorf("%w: freq_basis = %d, want 4..24", ErrConfig, c.FreqBasis)
	case !finite(c.LatencyBeta) || c.LatencyBeta < 0:
		return fmt.Errorf("%w: latency_beta = %v, want a finite value ≥ 0", ErrConfig, c.LatencyBeta)
	case !finite(c.SettleZ) || c.SettleZ < 0:
		return fmt.Errorf("%w: settle_z = %v, want a finite value ≥ 0", ErrConfig, c.SettleZ)
	case !finite(c.SettleMargin) || c.SettleMargin < 0:
		return fmt.Errorf("%w: settle_margin = %v, want a finite value ≥ 0", ErrConfig, c.SettleMargin)
	case c.ClockRangeMHz < 0:
		return fmt.Errorf("%w: clock_range_mhz = %d, want ≥ 0 (0: the arms' range)", ErrConfig, c.ClockRangeMHz)
	case c.ExploreRadiusMHz < 0:
		return fmt.Errorf("%w: explore_radius_mhz = %d, want ≥ 0 (0: default)", ErrConfig, c.ExploreRadiusMHz)
	case c.RefactorEvery < 1:
		return fmt.Errorf("%w: refactor_every = %d, want ≥ 1", ErrConfig, c.RefactorEvery)
	}
	return nil
}

// New builds the named policy ("gputune" or "agft"; "" means gputune) over
// the given arms. Zero Config fields take the policy's defaults. seed feeds
// the policy's own PCG source, so equal inputs give equal decisions.
func New(name string, cfg Config, arms []Arm, seed uint64) (Policy, error) {
	if name == "" {
		name = PolicyGPUTune
	}
	if name != PolicyGPUTune && name != PolicyAGFT {
		return nil, fmt.Errorf("%w: policy %q, want %q or %q", ErrConfig, name, PolicyGPUTune, PolicyAGFT)
	}
	cfg = cfg.withDefaults(name)
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	sorted, err := checkArms(arms, cfg.MemoryClock)
	if err != nil {
		return nil, err
	}
	if name == PolicyAGFT {
		return newAGFT(cfg, sorted, seed), nil
	}
	return newGPUTune(cfg, sorted, seed), nil
}

// checkArms validates and sorts arms by (SMMHz, MemMHz).
func checkArms(arms []Arm, memory bool) ([]Arm, error) {
	if len(arms) == 0 {
		return nil, fmt.Errorf("%w: no arms", ErrConfig)
	}
	if len(arms) > 4096 {
		return nil, fmt.Errorf("%w: %d arms, at most 4096", ErrConfig, len(arms))
	}
	out := slices.Clone(arms)
	for i, a := range out {
		if a.SMMHz <= 0 || a.MemMHz < 0 {
			return nil, fmt.Errorf("%w: arm %d has sm_mhz=%d mem_mhz=%d, want sm > 0 and mem ≥ 0", ErrConfig, i, a.SMMHz, a.MemMHz)
		}
		if !memory && a.MemMHz != 0 {
			return nil, fmt.Errorf("%w: arm %d has mem_mhz=%d but memory_clock is off; set MemMHz to 0", ErrConfig, i, a.MemMHz)
		}
		if memory && a.MemMHz == 0 {
			return nil, fmt.Errorf("%w: arm %d has no mem_mhz but memory_clock is on", ErrConfig, i)
		}
	}
	slices.SortFunc(out, compareArms)
	for i := 1; i < len(out); i++ {
		if out[i] == out[i-1] {
			return nil, fmt.Errorf("%w: duplicate arm (%d, %d) MHz", ErrConfig, out[i].SMMHz, out[i].MemMHz)
		}
	}
	return out, nil
}

func compareArms(a, b Arm) int {
	if a.SMMHz != b.SMMHz {
		return a.SMMHz - b.SMMHz
	}
	return a.MemMHz - b.MemMHz
}

// alphaAt is the shared α schedule.
func alphaAt(c Config, round int) float64 {
	a := c.InitialAlpha * math.Exp(-c.AlphaDecay*float64(round))
	return math.Max(a, c.MinAlpha)
}
