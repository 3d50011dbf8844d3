package bandit

import (
	"math"
	"slices"
)

// Update is AGFT's model update followed by the parts of its main loop that
// react to a round: extreme pruning, sampler feedback and refinement, the
// SLO boundary, historical pruning, and the convergence and degradation
// checks (agft-behaviour.md §1.1 steps 7–12).
func (g *agft) Update(obs Observation) {
	if len(obs.Context) != g.cfg.Features || !allFinite(obs.Context) || !finite(obs.Reward) {
		return
	}
	i, ok := g.index[obs.Arm]
	if !ok {
		return
	}
	sanitizeContext(obs.Context[:g.d], g.xs)
	r := min(max(obs.Reward, -rewardClip), rewardClip)
	edp := obs.EDP
	if !finite(edp) || edp <= 0 {
		// Without a measured EDP, recover it in units of the baseline from
		// AGFT's reward 2·(1 − EDP/B): exact while the reward is uncapped.
		edp = max(1-r/2, 1e-9)
	}

	g.learn(i, r)
	g.counts[i]++
	g.rewardSum[i] += r
	g.last[i] = r
	g.armEDP[i].add(edp)
	g.round++
	g.record(i, edp)

	if g.cfg.ExtremePruning && g.round <= agftExtremeMaxRounds &&
		g.counts[i] >= agftExtremeMinSamples && g.rewardSum[i]/float64(g.counts[i]) <= agftExtremeThreshold {
		g.refreshAvail()
		if g.prune(i, reasonExtreme) {
			g.cascade(i)
		}
	}

	aware := g.mode == SLOAware
	g.violation = aware && ((g.ttftLimit > 0 && finite(obs.TTFT) && obs.TTFT > g.ttftLimit) ||
		(g.tpotLimit > 0 && finite(obs.TPOT) && obs.TPOT > g.tpotLimit))
	if g.exploit && g.violation {
		g.exploit, g.converged, g.convergedRound = false, false, 0
	}
	if !g.exploit {
		g.samplerFeedback(i, edp)
	}

	if g.cfg.ActionPruning && g.round >= agftPruneMaturity && g.round-g.lastPruneCheck >= agftPruneEvery &&
		g.refreshAvail() > agftKeepArms {
		g.lastPruneCheck = g.round
		g.historicalPruning()
	}
	g.checkConvergence()
}

// learn is disjoint LinUCB's A += xxᵀ, b += r·x, θ = A⁻¹b, with A⁻¹ kept by
// Sherman–Morrison (the same θ as AGFT's solve, without its O(d³) per round).
// θ is rounded to float32 as AGFT stores it.
func (g *agft) learn(i int, r float64) {
	d := g.d
	a, ai := g.a[i*d*d:(i+1)*d*d], g.ainv[i*d*d:(i+1)*d*d]
	b, th := g.b[i*d:(i+1)*d], g.theta[i*d:(i+1)*d]
	for j := 0; j < d; j++ {
		for k := 0; k < d; k++ {
			a[j*d+k] += g.xs[j] * g.xs[k]
		}
		b[j] += r * g.xs[j]
	}
	if !shermanMorrison(ai, g.xs, g.u, d) || g.counts[i]%64 == 63 {
		if !invertSPD(a, ai, g.work, d) {
			// AGFT adds 0.1·I when A is singular.
			for j := 0; j < d; j++ {
				a[j*d+j] += 0.1
			}
			invertSPD(a, ai, g.work, d)
		}
	}
	matVec(ai, b, th, d)
	for j := range th {
		th[j] = float64(float32(th[j]))
		if !finite(th[j]) {
			th[j] = 0
		}
	}
}

func (g *agft) record(i int, edp float64) {
	if g.actN == agftConvergeWindow {
		g.actCount[g.actions[g.actPos]]--
	} else {
		g.actN++
	}
	g.actions[g.actPos] = i
	g.edpHist[g.actPos] = edp
	g.actPos = (g.actPos + 1) % agftConvergeWindow
	g.actCount[i]++
}

// samplerFeedback feeds (clock, EDP) to the sampler, refines its window on
// AGFT's schedule and raises the SLO boundary after a violation.
func (g *agft) samplerFeedback(i int, edp float64) {
	sm := g.smIdx[i]
	g.smEDP[sm].add(edp)
	g.lastSM = sm
	g.refineCount++
	if g.refineCount == agftRefineStart ||
		(g.refineCount > agftRefineStart && (g.refineCount-agftRefineStart)%agftRefineEvery == 0) {
		if g.round >= agftMaturity {
			g.refinePredictive()
		} else {
			g.refineStatistical()
		}
	}
	if g.violation {
		g.raiseBoundary(i)
	}
}

// raiseBoundary is AGFT's one-way SLO boundary. With memory combos a
// violation at the top memory clock disables that core clock and all lower
// ones; below it, lower-or-equal memory clocks at lower-or-equal cores.
func (g *agft) raiseBoundary(i int) {
	a := g.arms[i]
	if !g.cfg.MemoryClock || a.MemMHz == g.maxMem {
		g.boundary = max(g.boundary, a.SMMHz)
		return
	}
	for j, b := range g.arms {
		if b.SMMHz <= a.SMMHz && b.MemMHz <= a.MemMHz {
			g.sloOff[j] = true
		}
	}
}

// aboveBoundary says whether core clock index sm may be chosen under the
// SLO boundary.
func (g *agft) aboveBoundary(sm int) bool {
	return g.mode != SLOAware || g.boundary == 0 || g.sms[sm] > g.boundary
}

// percentile is numpy's default (linear) percentile of sorted v.
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 1 {
		return sorted[0]
	}
	pos := p / 100 * float64(len(sorted)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(sorted)-1)
	return sorted[lo] + (pos-float64(lo))*(sorted[hi]-sorted[lo])
}

func tier(v, p33, p67 float64) int {
	switch {
	case v <= p33:
		return 0
	case v <= p67:
		return 1
	}
	return 2
}

// refineStatistical is the immature strategy: the load-normalised best
// clock (lowest mean EDP within the load tier of the latest window), else
// the lowest mean EDP with at least 4 samples; then a ±150 MHz window.
func (g *agft) refineStatistical() {
	best, bestMean := -1, math.Inf(1)
	if g.lastSM >= 0 && len(g.smEDP[g.lastSM].V) >= agftTierMinSamples {
		ring := &g.smEDP[g.lastSM]
		p33, p67 := g.percentiles(ring.V)
		want := tier(ring.latest(), p33, p67)
		for sm := range g.sms {
			v := g.smEDP[sm].V
			if len(v) < agftTierMinSamples || !g.aboveBoundary(sm) {
				continue
			}
			q33, q67 := g.percentiles(v)
			var s float64
			n := 0
			for _, e := range v {
				if tier(e, q33, q67) == want {
					s += e
					n++
				}
			}
			if n >= agftTierMinPerTier && s/float64(n) < bestMean {
				best, bestMean = sm, s/float64(n)
			}
		}
	}
	if best < 0 {
		for sm := range g.sms {
			v := g.smEDP[sm].V
			if len(v) >= agftFallbackMinSamples && g.aboveBoundary(sm) {
				if m := g.smEDP[sm].mean(); m < bestMean {
					best, bestMean = sm, m
				}
			}
		}
	}
	if best >= 0 {
		g.window(best)
	}
}

func (g *agft) percentiles(v []float64) (p33, p67 float64) {
	g.sortBuf = append(g.sortBuf[:0], v...)
	slices.Sort(g.sortBuf)
	return percentile(g.sortBuf, 33), percentile(g.sortBuf, 67)
}

// refinePredictive is the mature strategy: among explored valid arms whose
// UCB for the latest context is near the best, anchor on the lowest mean
// EDP (≥ 4 samples), else the highest UCB.
func (g *agft) refinePredictive() {
	alpha := alphaAt(g.cfg, g.round)
	maxUCB := math.Inf(-1)
	for i := range g.arms {
		if g.validExplored(i) {
			p, b := g.armUCB(i, alpha)
			maxUCB = max(maxUCB, p+b)
		}
	}
	if math.IsInf(maxUCB, -1) {
		return
	}
	cut := maxUCB - agftUCBMargin
	if maxUCB > 0 {
		cut = agftUCBShare * maxUCB
	}
	anchor, anchorEDP, topUCB, top := -1, math.Inf(1), math.Inf(-1), -1
	for i := range g.arms {
		if !g.validExplored(i) {
			continue
		}
		p, b := g.armUCB(i, alpha)
		if p+b < cut {
			continue
		}
		if p+b > topUCB {
			top, topUCB = i, p+b
		}
		if len(g.armEDP[i].V) >= agftFallbackMinSamples {
			if m := g.armEDP[i].mean(); m < anchorEDP {
				anchor, anchorEDP = i, m
			}
		}
	}
	if anchor < 0 {
		anchor = top
	}
	if anchor >= 0 {
		g.window(g.smIdx[anchor])
	}
}

func (g *agft) validExplored(i int) bool {
	return g.counts[i] > 0 && g.prunedAt[i] < 0 && !(g.mode == SLOAware && g.sloOff[i]) && g.aboveBoundary(g.smIdx[i])
}

// window replaces the candidate list with centre ±150 MHz at 15 MHz, on the
// GPU's own clocks, above the SLO boundary in SLO-aware mode.
func (g *agft) window(centre int) {
	c := g.sms[centre]
	clear(g.cand)
	for off := -agftWindowMHz; off <= agftWindowMHz; off += agftFineMHz {
		f := c + off
		if f < g.sms[0] || f > g.sms[len(g.sms)-1] {
			continue
		}
		j := g.nearestSM(f)
		if abs(g.sms[j]-f) <= agftFineMHz/2 && g.aboveBoundary(j) {
			g.cand[j] = true
		}
	}
	g.cand[centre] = g.cand[centre] || g.aboveBoundary(centre)
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// prune removes arm i for good unless that would leave fewer than two
// available arms (AGFT's floor; below it AGFT would stop control).
func (g *agft) prune(i int, reason string) bool {
	if g.prunedAt[i] >= 0 || g.countAvail() <= agftKeepArms && g.avail[i] {
		return false
	}
	g.prunedAt[i], g.reason[i] = g.round, reason
	g.avail[i] = false
	return true
}

func (g *agft) countAvail() int {
	n := 0
	for _, ok := range g.avail {
		if ok {
			n++
		}
	}
	return n
}

// cascade prunes every available clock at or below a pruned one when that
// one lies under half the GPU's maximum.
func (g *agft) cascade(i int) {
	trigger := g.arms[i].SMMHz
	if trigger >= g.sms[len(g.sms)-1]/2 {
		return
	}
	for j := range g.arms {
		if g.avail[j] && g.arms[j].SMMHz <= trigger {
			g.prune(j, reasonCascade)
		}
	}
}

// historicalPruning prunes arms whose mean EDP is more than 4·max(σ, 0.05)
// above the best, σ being the population std of the qualifying means.
func (g *agft) historicalPruning() {
	g.pruneMeans = g.pruneMeans[:0]
	best := math.Inf(1)
	bestArm := -1
	for i := range g.arms {
		if g.qualifies(i) {
			m := g.positiveMean(i)
			g.pruneMeans = append(g.pruneMeans, m)
			if m < best {
				best, bestArm = m, i
			}
		}
	}
	if len(g.pruneMeans) < 2 {
		return
	}
	var mu, ss float64
	for _, m := range g.pruneMeans {
		mu += m
	}
	mu /= float64(len(g.pruneMeans))
	for _, m := range g.pruneMeans {
		ss += (m - mu) * (m - mu)
	}
	sigma := math.Sqrt(ss / float64(len(g.pruneMeans)))
	threshold := agftPruneSigmas * max(sigma, agftPruneFloor)
	for i := range g.arms {
		if i == bestArm || !g.qualifies(i) {
			continue
		}
		if g.positiveMean(i)-best > threshold && g.prune(i, reasonHistorical) {
			g.cascade(i)
		}
	}
}

func (g *agft) qualifies(i int) bool {
	if !g.avail[i] || g.counts[i] < agftPruneMinPulls {
		return false
	}
	n := 0
	for _, v := range g.armEDP[i].V {
		if v > 0 {
			n++
		}
	}
	return n >= agftPruneMinPulls
}

func (g *agft) positiveMean(i int) float64 {
	var s float64
	n := 0
	for _, v := range g.armEDP[i].V {
		if v > 0 {
			s += v
			n++
		}
	}
	return s / float64(n)
}

// checkConvergence is AGFT's: the top 3 actions of the last 100 make up at
// least 60 % → greedy; while greedy, a 30 % EDP degradation between the last
// two 50-round halves → back to learning. Like AGFT, it has no hysteresis.
func (g *agft) checkConvergence() {
	if g.round < agftConvergeWindow || g.actN < agftConvergeWindow {
		return
	}
	if g.exploit {
		var older, newer float64
		for k := 0; k < agftConvergeWindow; k++ {
			v := g.edpHist[(g.actPos+k)%agftConvergeWindow] // oldest first
			if k < agftDegradeWindow {
				older += v
			} else {
				newer += v
			}
		}
		if older > 0 && newer > agftDegradeRatio*older {
			g.exploit, g.converged, g.convergedRound = false, false, 0
		}
		return
	}
	var t1, t2, t3 int
	for _, c := range g.actCount {
		switch {
		case c > t1:
			t1, t2, t3 = c, t1, t2
		case c > t2:
			t2, t3 = c, t2
		case c > t3:
			t3 = c
		}
	}
	_ = agftConvergeTopK
	if float64(t1+t2+t3) >= agftConvergeShare*agftConvergeWindow {
		g.exploit, g.converged, g.convergedRound = true, true, g.round
	}
}
