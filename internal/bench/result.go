package bench

import (
	"math"

	"github.com/gputune/gputune/bandit"
	"github.com/gputune/gputune/control"
	"github.com/gputune/gputune/sim"
)

// OracleNote is printed wherever the oracle's numbers appear.
const OracleNote = "greedy-oracle picks the best clock for each 0.3 s window alone, from a cloned simulator state " +
	"(coarse grid every 8 clock steps plus refinement at ±4, ±2, ±1 steps; --oracle full: every clock); " +
	"it is greedy, NOT a lower bound: a policy may beat it"

// SegmentLength is the length of the stationary segments convergence is
// measured on: the run is cut into consecutive segments of this much virtual
// time, and each segment's best static clock is the swept static clock with
// the best objective over that segment among those eligible for static-best.
const SegmentLength = 600 // seconds

// PolicyResult is one policy's line in results.json.
type PolicyResult struct {
	Name string `json:"name"`
	MHz  int    `json:"mhz,omitempty"`
	// Sweep says where a static clock came from: "coarse" or "refine".
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

	// ConvergeRounds is the first stationary segment's convergence round
	// (bandit.ConvergeRound); null for non-learning policies and when it did
	// not converge. Segments lists every segment's.
	ConvergeRounds *int           `json:"converge_rounds"`
	Segments       []SegmentRound `json:"converge_segments,omitempty"`

	// Regret is the objective's excess over greedy-oracle's, relative
	// (negative: better than the greedy oracle).
	Regret float64 `json:"regret_vs_oracle"`
	// GapClosed is (default − this) / (default − greedy-oracle) on the
	// objective.
	GapClosed                   float64 `json:"gap_closed"`
	EnergySavingVsDefault       float64 `json:"energy_saving_vs_default"`
	ObjectiveSavingVsDefault    float64 `json:"objective_saving_vs_default"`
	EnergySavingVsStaticBest    float64 `json:"energy_saving_vs_static_best"`
	ObjectiveSavingVsStaticBest float64 `json:"objective_saving_vs_static_best"`
	ClockChanges                int     `json:"clock_changes"`
	DecisionWindows             int     `json:"decision_windows"`
}

// SegmentRound is convergence on one stationary segment.
type SegmentRound struct {
	StartS  float64 `json:"start_s"`
	BestMHz int     `json:"best_static_mhz"`
	Rounds  *int    `json:"rounds"`
	Windows int     `json:"windows"`
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
		Name: r.name, MHz: r.mhz,
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

// segmentObjective is a run's objective over [from, to) seconds.
func segmentObjective(obj control.Objective, ws []Window, from, to float64) float64 {
	var e, n, d float64
	for _, w := range ws {
		if w.EndS <= from || w.EndS > to {
			continue
		}
		e, n, d = e+w.EnergyJ, n+w.Tokens, d+w.DelayS
	}
	return objective(obj, e, d, n)
}

// convergence measures a learning run on each stationary segment against
// the best swept static clock for that segment.
func convergence(obj control.Objective, learner run, statics []run) []SegmentRound {
	if len(learner.windows) == 0 || len(statics) == 0 {
		return nil
	}
	end := learner.windows[len(learner.windows)-1].EndS
	var out []SegmentRound
	for from := 0.0; from < end; from += SegmentLength {
		to := from + SegmentLength
		best, bestObj := 0, math.Inf(1)
		for _, s := range statics {
			if o := segmentObjective(obj, s.windows, from, to); o < bestObj {
				best, bestObj = s.mhz, o
			}
		}
		if best == 0 {
			continue
		}
		var chosen []int
		for _, w := range learner.windows {
			if w.EndS > from && w.EndS <= to && isDecision(w.Mode) {
				chosen = append(chosen, w.CmdMHz)
			}
		}
		seg := SegmentRound{StartS: from, BestMHz: best, Windows: len(chosen)}
		if r, ok := bandit.ConvergeRound(chosen, best, learner.step); ok {
			seg.Rounds = &r
		}
		out = append(out, seg)
	}
	return out
}
