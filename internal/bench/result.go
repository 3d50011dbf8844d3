package bench

import (
	"math"

	"github.com/gputune/gputune/control"
	"github.com/gputune/gputune/sim"
)

// OracleNote is printed wherever the oracle's numbers appear.
const OracleNote = "horizon-oracle re-plans every 3 s: it tries about 26 clocks (every 4th supported one and the neighbours " +
	"of its last choice) on a cloned simulator that knows the trace's future arrivals, each held 10 s and then " +
	"static-best's clock for 20 s, and locks the one with the least energy + λ·(request time in the server), " +
	"λ = E/D of static-best; a near-bound from the simulator, not a proof of optimality"

// PolicyResult is one policy's line in results.json. Every fraction is a
// fraction (0.03 is 3 %); a positive gap is worse than static-best.
type PolicyResult struct {
	Name string `json:"name"`
	MHz  int    `json:"mhz,omitempty"`
	// PowerLimitW is a power-cap run's board power limit.
	PowerLimitW float64 `json:"power_limit_w,omitempty"`
	// Sweep says where a static clock or power limit came from: "coarse"
	// or "refine".
	Sweep string `json:"sweep,omitempty"`

	Objective       float64 `json:"objective"`
	EnergyJ         float64 `json:"energy_j"`
	EnergyPerTokenJ float64 `json:"energy_per_token_j"`
	EDPPerToken     float64 `json:"edp_per_token"`
	TTFTMeanS       float64 `json:"ttft_mean_s"`
	TTFTP99S        float64 `json:"ttft_p99_s"`
	TPOTMeanS       float64 `json:"tpot_mean_s"`
	TPOTP99S        float64 `json:"tpot_p99_s"`
	E2EMeanS        float64 `json:"e2e_mean_s"`
	SLOAttainment   float64 `json:"slo_attainment"`
	ThroughputTokS  float64 `json:"throughput_tok_s"`
	OutputTokens    float64 `json:"output_tokens"`
	Requests        float64 `json:"requests"`
	DurationS       float64 `json:"duration_s"`
	MeanClockMHz    float64 `json:"mean_clock_mhz"`
	MeanPowerW      float64 `json:"mean_power_w"`

	// SavingVsDefault is 1 − objective/default's.
	SavingVsDefault       float64 `json:"saving_vs_default"`
	EnergySavingVsDefault float64 `json:"energy_saving_vs_default"`
	// GapVsStaticBest is objective/static-best's − 1.
	GapVsStaticBest          float64 `json:"gap_vs_static_best"`
	EnergySavingVsStaticBest float64 `json:"energy_saving_vs_static_best"`
	// HeadroomCaptured is (static-best − this)/(static-best − horizon-oracle)
	// on the objective; null when static-best is not above the oracle.
	HeadroomCaptured float64 `json:"headroom_captured"`
	// GapAt60s… are the objective over the run's first 60/120/300 s over
	// static-best's over the same span, minus 1; null when a run is shorter.
	GapAt60s  float64 `json:"gap_at_60s"`
	GapAt120s float64 `json:"gap_at_120s"`
	GapAt300s float64 `json:"gap_at_300s"`
	// TWithin1pctS and TWithin2pctS are the time after which the rolling
	// 120 s objective stays within 1 % / 2 % of static-best's over the same
	// windows; null when it never does.
	TWithin1pctS float64 `json:"t_within_1pct_s"`
	TWithin2pctS float64 `json:"t_within_2pct_s"`
	// RecoveryS is, per load change of the workload (phases), the seconds
	// until the rolling 60 s objective is within 2 % of the best static
	// clock for the new phase; null for a change never recovered from.
	// Empty for workloads without changes.
	RecoveryS []float64 `json:"recovery_s"`

	ClockChanges    int `json:"clock_changes"`
	DecisionWindows int `json:"decision_windows"`
}

// objective is the run's objective, as control defines it for a window:
// EDP per output token (E/N)·D, where D = Σ end-to-end latency / N is the
// delay users saw per output token (queueing and TTFT included), or energy
// per output token.
func objective(obj control.Objective, energyJ, delaySumS, tokens float64) float64 {
	if !(tokens > 0) {
		return math.NaN()
	}
	if obj == control.ObjEnergy {
		return energyJ / tokens
	}
	return energyJ / tokens * delaySumS / tokens
}

// e2eSum is Σ end-to-end latency of the finished requests, in seconds.
func e2eSum(t sim.Truth) float64 {
	if t.E2E.Count() == 0 {
		return 0
	}
	return t.E2E.Mean() * float64(t.E2E.Count())
}

// measure fills the policy-independent metrics of one run.
func measure(r run, obj control.Objective) PolicyResult {
	t := r.truth
	dur := t.Elapsed.Seconds()
	p := PolicyResult{
		Name: r.name, MHz: r.mhz, PowerLimitW: r.powerW, Sweep: r.sweep,
		EnergyJ: t.EnergyJ, OutputTokens: t.OutputTokens, Requests: t.Finished, DurationS: dur,
		EnergyPerTokenJ: t.JoulesPerOutputToken(),
		EDPPerToken:     objective(control.ObjEDP, t.EnergyJ, e2eSum(t), t.OutputTokens),
		TTFTMeanS:       t.TTFT.Mean(), TTFTP99S: t.TTFT.Quantile(0.99),
		TPOTMeanS: t.TPOT.Mean(), TPOTP99S: t.TPOT.Quantile(0.99), E2EMeanS: t.E2E.Mean(),
		SLOAttainment: t.SLOAttainment(),
	}
	p.Objective = objective(obj, t.EnergyJ, e2eSum(t), t.OutputTokens)
	if dur > 0 {
		p.ThroughputTokS = t.OutputTokens / dur
		p.MeanPowerW = t.EnergyJ / dur
	}
	var clockSum, timeSum, prevEnd float64
	prevCmd := -1
	for _, w := range r.windows {
		dt := w.EndS - prevEnd
		prevEnd = w.EndS
		if w.Tokens > 0 {
			clockSum += w.ClockMHz * dt
			timeSum += dt
		}
		if isDecision(w.Mode) {
			p.DecisionWindows++
		}
		if prevCmd >= 0 && w.CmdMHz != prevCmd {
			p.ClockChanges++
		}
		prevCmd = w.CmdMHz
	}
	if timeSum > 0 {
		p.MeanClockMHz = clockSum / timeSum
	}
	return p
}

// isDecision says whether a window's clock was the policy's own choice (not
// warm-up, idle or an emergency).
func isDecision(mode string) bool {
	return mode == string(control.ModeExplore) || mode == string(control.ModeExploit) || mode == "oracle"
}
