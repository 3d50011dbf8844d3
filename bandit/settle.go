package bandit

import "math"

// Settling. Near an EDP optimum the reward curve is flat: neighbouring
// clocks differ by far less than one window's noise, so the argmax of a
// noisy estimate wanders between them, and a UCB rule with a constant α
// floor keeps hopping to whichever arm's bonus is largest. Neither is a
// tuner that settles. gputune therefore keeps an incumbent arm and treats
// the two reasons to leave it separately:
//
//   - exploitation moves to the best-predicted arm c only when the model is
//     confident that c is better: pred(c) − pred(inc) > SettleZ·σ·√(ΔgᵀKΔg),
//     a one-sided z-test on the difference of the two predictions, whose
//     standard error is small for neighbours that share basis functions and
//     large for clocks the model has rarely seen;
//   - exploration tries the best-UCB arm only when its optimistic reward beats
//     the incumbent's predicted reward by more than SettleMargin, an
//     indifference level: improvements smaller than that are not worth a
//     window at a worse clock. Bonuses shrink as data accumulates, so
//     exploration dies out by itself once the model is confident; forgetting
//     lets the bonuses of unvisited clocks grow back, so it resumes when the
//     model's knowledge ages, which is what following drift needs.
//
// An exploratory arm must also be uncertain enough to teach something: its
// bonus must reach ExploreMinBonus. Without that floor the best-UCB arm was
// usually just the greedy arm, a little better than the incumbent but not
// significantly so; every window it beat the incumbent's prediction by the
// 1 % SettleMargin and was played "to explore", so the incumbent held only
// 20–30 % of the windows and the clock never settled. The explorations
// themselves teach little then, and at the low clocks they cost more than
// they show: a queue built in one window is paid for in later ones.
//
// Drift still moves the incumbent: forgetting lets new data outweigh old,
// and once another arm's predicted gain is significant, or the incumbent is
// pruned as dominated or becomes unsafe, the incumbent changes.

// settle returns the exploit arm: the incumbent, or the greedy arm when the
// incumbent is unusable or the greedy arm is significantly better.
func (t *gputune) settle(scores []ArmScore, greedy int, sigma float64, includePruned bool) int {
	inc := t.incumbent
	if inc < 0 || inc >= len(scores) || !t.safe[inc] || (!includePruned && t.prunedAt[inc] >= 0) {
		t.incumbent = greedy
		return greedy
	}
	if greedy == inc {
		return inc
	}
	gain := scores[greedy].Pred - scores[inc].Pred
	se := sigma * math.Sqrt(max(t.diffQuad(greedy, inc), 0))
	if gain > t.cfg.SettleZ*se && finite(gain) {
		t.incumbent = greedy
	}
	return t.incumbent
}

// diffQuad is (g_i − g_j)ᵀ K (g_i − g_j) over the union of the two arms'
// non-zero basis entries: the variance (in units of σ²) of the difference
// of their predicted rewards at this decision's context.
func (t *gputune) diffQuad(i, j int) float64 {
	var idx [2 * maxNZ]int
	var val [2 * maxNZ]float64
	n := 0
	add := func(arm int, sign float64) {
		g := t.g[arm*t.k : (arm+1)*t.k]
		for _, a := range t.gNZ[arm*maxNZ : (arm+1)*maxNZ] {
			if a < 0 {
				return
			}
			found := false
			for m := 0; m < n; m++ {
				if idx[m] == a {
					val[m] += sign * g[a]
					found = true
					break
				}
			}
			if !found {
				idx[n], val[n] = a, sign*g[a]
				n++
			}
		}
	}
	add(i, 1)
	add(j, -1)
	k := t.k
	var q float64
	for m := 0; m < n; m++ {
		row := t.kq[idx[m]*k : idx[m]*k+k]
		var s float64
		for l := 0; l < n; l++ {
			s += row[idx[l]] * val[l]
		}
		q += val[m] * s
	}
	return q
}

// localBest is the best-UCB arm within ExploreRadiusMHz of the exploit arm,
// or best (the global best-UCB arm) during the first globalExploreRounds.
func (t *gputune) localBest(scores []ArmScore, best, exploit int, includePruned bool) int {
	if t.round < globalExploreRounds || exploit < 0 {
		return best
	}
	r := t.cfg.ExploreRadiusMHz
	center := t.arms[exploit].SMMHz
	out := exploit
	for i := range scores {
		if !t.safe[i] || (!includePruned && t.prunedAt[i] >= 0) {
			continue
		}
		if d := t.arms[i].SMMHz - center; d > r || d < -r {
			continue
		}
		if scores[i].UCB > scores[out].UCB {
			out = i
		}
	}
	return out
}

// worthExploring says whether the best-UCB arm best should be played
// instead of the exploit arm: its optimistic reward beats the exploit arm's
// prediction by more than SettleMargin, and its bonus reaches
// ExploreMinBonus.
func (t *gputune) worthExploring(scores []ArmScore, best, exploit int) bool {
	return scores[best].UCB-scores[exploit].Pred > t.cfg.SettleMargin &&
		(t.surprise > 0 || t.relSE[best] >= t.cfg.ExploreMinSE)
}

const (
	// surpriseGain is the weight of one window in the running mean of
	// standardised residuals: about 20 windows.
	surpriseGain = 0.05
	// surpriseZ is the level of that mean, in residual standard
	// deviations, that signals a change: with independent residuals its
	// standard deviation is √(gain/(2−gain)) ≈ 0.16, so 0.75 is ~5 of them.
	surpriseZ = 0.75
	// surpriseClip bounds one window's say in the mean.
	surpriseClip = 4.0
	// surpriseAge is what a signalled change leaves of the reward model's
	// data: one tenth, as ~460 windows of forgetting at γ = 0.995 would.
	surpriseAge = 0.1
	// surpriseRounds is how long exploration runs without the
	// ExploreMinSE floor after a change.
	surpriseRounds = 60
)

// noteSurprise folds in one standardised one-step-ahead residual. The
// ExploreMinSE floor stops exploration once the model is sure of the clocks
// near the exploit arm, which is what settling needs but not what following
// a change needs: when the workload or the GPU drifts in a way the context
// does not show, the exploit arm's rewards stop matching the model's
// predictions. A run of residuals of one sign then ages the reward model's
// data to surpriseAge of its weight, so new windows outweigh old ones at
// once and the bonuses of the clocks around the exploit arm grow back, and
// lifts the floor for surpriseRounds rounds.
func (t *gputune) noteSurprise(z float64) {
	if t.surprise > 0 {
		t.surprise--
	}
	if !finite(z) {
		return
	}
	z = min(max(z, -surpriseClip), surpriseClip)
	t.shift = (1-surpriseGain)*t.shift + surpriseGain*z
	if math.Abs(t.shift) > surpriseZ {
		t.reward.age(surpriseAge)
		t.surprise = surpriseRounds
		t.shift = 0
	}
}
