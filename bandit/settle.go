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
// Drift still moves the incumbent: forgetting lets new data outweigh old,
// and once another arm's predicted gain is significant, or the incumbent is
// pruned as dominated or becomes unsafe, the incumbent changes.

// settle returns the exploit arm: the incumbent, or the greedy arm when the
// incumbent is unusable or the greedy arm is significantly better.
func (t *gputune) settle(scores []ArmScore, greedy int, sigma float64, set armSet) int {
	inc := t.incumbent
	if inc < 0 || inc >= len(scores) || !t.eligible(inc, set) {
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

// exploreRadius is how far from the exploit clock gputune explores, MHz:
// ExploreRadiusMHz on the H100's supported range and the same share of any
// other GPU's, as the cold-start design's rungs are (coldStartRung). The
// objective's curve narrows with the range: on the simulated A100
// (210–1,410 MHz) a Poisson load costs +5 % at 90 MHz below the optimum,
// where on the H100 it costs that at ~135 MHz, and over its six
// conversation-trace and Poisson rows (16 seeds × 3 seed sets, 2026-12-08,
// docs/gputune-policy.md) draws within 150 MHz trailed static-best by
// +1.82 % on average, within the range's share (110 MHz) by +1.70 %.
func (t *gputune) exploreRadius() int {
	return int(math.Round(float64(t.cfg.ExploreRadiusMHz) * t.coldStartRung() / coldStartRungMHz))
}

// localBest is the best-UCB arm of set within exploreRadius of the exploit arm,
// or best (the global best-UCB arm) during the first globalExploreRounds.
func (t *gputune) localBest(scores []ArmScore, best, exploit int, set armSet) int {
	if t.round < globalExploreRounds || exploit < 0 {
		return best
	}
	r := t.exploreRadius()
	center := t.arms[exploit].SMMHz
	out := exploit
	for i := range scores {
		if !t.eligible(i, set) {
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
