package control

import (
	"math"
	"time"
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

// Baseline is the objective at the default governor, the reference every
// reward is measured against. It is saved with the model: AGFT loses it on
// restart and then learns nothing.
type Baseline struct {
	// LogMean is the mean of ln(objective) over the warm-up windows.
	LogMean float64 `json:"log_mean"`
	Windows int     `json:"windows"`
}

// Ready reports whether the baseline has its warm-up windows.
func (b Baseline) Ready(need int) bool { return b.Windows >= need }

// Add folds one warm-up window in.
func (b *Baseline) Add(objective float64) {
	if !(objective > 0) || math.IsInf(objective, 0) {
		return
	}
	b.Windows++
	b.LogMean += (math.Log(objective) - b.LogMean) / float64(b.Windows)
}

// Reward is −ln(objective / baseline): 0 at the baseline, positive when
// better. The log makes it scale-free and turns the load's multiplicative
// effect on energy and delay into an additive one a linear model can learn.
func (b Baseline) Reward(objective float64) float64 {
	return -(math.Log(objective) - b.LogMean)
}
