package control

import (
	"math"
	"time"

	"github.com/gputune/gputune/bandit"
)

// Objective is what a window's reward minimises.
type Objective string

const (
	// ObjEDP is energy-delay product per output token: (E/N)·(T/N), in
	// J·s per token², where E is the window's GPU energy, T its duration
	// and N its output tokens. It weighs energy and speed equally.
	ObjEDP Objective = "edp"
	// ObjEnergy is energy per output token, E/N, in J.
	ObjEnergy Objective = "energy"
)

// objectiveValue is the window's objective, or false when the window has too
// few tokens to measure (invalid, never zero).
func objectiveValue(obj Objective, energyJ float64, dur time.Duration, tokens, minTokens float64) (float64, bool) {
	if !(tokens >= minTokens) || !(energyJ > 0) || dur <= 0 {
		return math.NaN(), false
	}
	perToken := energyJ / tokens
	if obj == ObjEnergy {
		return perToken, true
	}
	return perToken * dur.Seconds() / tokens, true
}

// reward is the window's reward against the baseline (the objective at the
// default governor, saved with the model: AGFT loses it on restart and then
// learns nothing). The agft policy keeps AGFT's own mapping,
// 2·(1 − min(2, obj/(0.9·baseline))). gputune uses −ln(obj/baseline): 0 at
// the baseline, positive when better, scale-free, and it turns the load's
// multiplicative effect on energy and delay into an additive one that a
// linear model can learn.
func reward(policy string, b bandit.RewardBaseline, objective float64) (float64, bool) {
	if policy == bandit.PolicyAGFT {
		return b.Reward(objective)
	}
	if !b.Ready() || !(objective > 0) || !(b.Mean > 0) || math.IsInf(objective, 0) {
		return 0, false
	}
	return -math.Log(objective / b.Mean), true
}
