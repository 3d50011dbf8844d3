package control

import (
	"math"
	"time"

	"github.com/gputune/gputune/bandit"
	"github.com/gputune/gputune/control/setting"
	"github.com/gputune/gputune/nvgpu"
	"github.com/gputune/gputune/scrape"
)

// Objective is what a window's reward minimises.
type Objective string

const (
	// ObjEDP is energy-delay product per output token: (E/N)·D, in J·s
	// per token. E is the GPU energy and N the output tokens; D is the
	// delay users see per output token, (ΣTTFT + Σinter-token gaps)/N: each
	// request's first token costs its time to first token (queueing
	// included) and every later token its gap. Over a whole run D is
	// Σ end-to-end latency / N. Energy and delay weigh equally.
	ObjEDP Objective = "edp"
	// ObjEnergy is energy per output token, E/N, in J.
	ObjEnergy Objective = "energy"
)

// DelayPerToken is D for a window: (ΣTTFT + ΣITL)/N from the window's
// histogram sums. A server without those histograms falls back to its
// per-request TPOT mean, then to end-to-end latency; with none, to T/N.
func DelayPerToken(w scrape.Window, dur time.Duration, tokens float64) float64 {
	sum := func(mean, obs float64) float64 {
		if obs > 0 && mean >= 0 {
			return mean * obs
		}
		return 0
	}
	if w.TTFTObs > 0 || w.ITLObs > 0 {
		return (sum(w.TTFTMean, w.TTFTObs) + sum(w.ITLMean, w.ITLObs)) / tokens
	}
	if w.TPOTObs > 0 && w.TPOTMean > 0 {
		return w.TPOTMean
	}
	if w.E2EObs > 0 && w.E2EMean > 0 {
		return sum(w.E2EMean, w.E2EObs) / tokens
	}
	return dur.Seconds() / tokens
}

// objectiveValue is the window's objective, or false when the window has too
// few tokens to measure (invalid, never zero).
func objectiveValue(obj Objective, energyJ float64, w scrape.Window, dur time.Duration, minTokens float64) (float64, bool) {
	tokens := w.GenTokens
	if !(tokens >= minTokens) || !(energyJ > 0) || dur <= 0 {
		return math.NaN(), false
	}
	perToken := energyJ / tokens
	if obj == ObjEnergy {
		return perToken, true
	}
	d := DelayPerToken(w, dur, tokens)
	if !(d > 0) || math.IsInf(d, 0) {
		return math.NaN(), false
	}
	return perToken * d, true
}

// reward is the window's reward against the baseline (the objective at the
// default governor, saved with the model: AGFT loses it on restart and then
// learns nothing). The agft policy keeps AGFT's own mapping,
// 2·(1 − min(2, obj/(0.9·baseline))). gputune uses −ln(obj/baseline): 0 at
// the baseline, positive when better, scale-free, and it turns the load's
// multiplicative effect on energy and delay into an additive one that a
// linear model can learn.
func reward(policy setting.PolicyKind, b bandit.RewardBaseline, objective float64) (float64, bool) {
	if policy == setting.PolicyAGFT {
		return b.Reward(objective)
	}
	if !b.Ready() || !(objective > 0) || !(b.Mean > 0) || math.IsInf(objective, 0) {
		return 0, false
	}
	return -math.Log(objective / b.Mean), true
}

// tokensMemory is the discount of the running mean of tokens per window:
// about the policy's own memory (200 windows), so that a weight compares a
// window with the load the model is currently learning from.
const tokensMemory = 0.995

// windowWeight is a valid window's training weight: its output tokens over
// the recent mean. The objective over a run is a ratio of sums, ΣE/N ·
// Σdelay/N, so a window counts in proportion to its work: to first order the
// run's log-EDP moves by Σ (N_w/N̄)·Δln EDP_w. An unweighted mean of per-window
// log-EDP gives a near-idle window, whose EDP is noisy and mostly idle power,
// the same say as a busy one, and on the conversation trace pulls the learnt
// optimum ~150 MHz above the best static clock. The weighting also matches
// the noise: a window's log-EDP varies roughly as 1/N_w.
func (l *Loop) windowWeight(tokens float64) float64 {
	if !(tokens > 0) || math.IsInf(tokens, 0) {
		return 0
	}
	if !(l.st.tokensMean > 0) {
		l.st.tokensMean = tokens
	} else {
		l.st.tokensMean = tokensMemory*l.st.tokensMean + (1-tokensMemory)*tokens
	}
	return tokens / l.st.tokensMean
}

// steadyPoint is the window's operating point for the gputune policy's
// steady-state model (bandit/steady.go): its mean batch (the running gauge
// at its start and end), prefill and output rates, and its power measured
// after the switching transient, and whether the clock changed during it.
// The policy ignores a point with a missing or non-finite part.
func (l *Loop) steadyPoint(win scrape.Window, powerW float64, switched bool, gs nvgpu.Sample) bandit.Steady {
	batch := win.Running
	if l.st.havePrevRunning {
		batch = (batch + l.st.prevRunning) / 2
	}
	st := bandit.Steady{Batch: batch, PrefillTokS: win.PromptTokPerS, GenTokS: win.GenTokPerS, PowerW: powerW,
		Switched: switched, Capped: gs.EventReason&throttled != 0, PowerLimitW: l.facts.PowerLimitW, Waiting: win.Waiting}
	if !l.st.readOnly {
		// The clock locked over the window; read-only, nothing was.
		st.LockMHz = l.st.ran.FreqMHz
	}
	if win.ITLObs > 0 && win.ITLMean > 0 {
		st.StepS = win.ITLMean
	}
	// Requests that entered the server in the window: the change in those
	// in it plus those that left. A counter reset makes the count
	// meaningless, and the policy then ignores the window's queue part.
	if secs := win.Dur.Seconds(); secs > 0 && !win.Reset && win.Finished >= 0 {
		st.FinishedPerS = win.Finished / secs
		if l.st.havePrevInServer {
			st.ArrivedPerS = max(win.Running+win.Waiting-l.st.prevInServer+win.Finished, 0) / secs
		}
	}
	return st
}

// throttled are the clock event reasons under which the clock in effect is
// the GPU's choice, not the one locked: a power cap or a slowdown.
const throttled = nvgpu.ReasonSWPowerCap | nvgpu.ReasonHWSlowdown | nvgpu.ReasonSWThermalSlowdown |
	nvgpu.ReasonHWThermalSlowdown | nvgpu.ReasonHWPowerBrake
