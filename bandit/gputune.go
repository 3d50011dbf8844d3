package bandit

import (
	"math"
	"math/rand/v2"
	"slices"
)

// Reasons shown in the score table. They are constants so that Decide
// never formats strings.
const (
	reasonDominated  = "dominated: reward UCB below the best LCB"
	reasonTTFT       = "TTFT upper bound over limit"
	reasonTPOT       = "TPOT upper bound over limit"
	reasonNoLatency  = "no latency data yet"
	reasonNotAllowed = "not allowed now"
)

const (
	// convergeWindow and convergeShare are the project's convergence
	// definition, applied online to the arms in effect.
	convergeWindow = 100
	convergeShare  = 0.9
	// unconvergeShare gives hysteresis so the flag does not flip-flop as
	// AGFT's does (it re-tests at once after falling back).
	unconvergeShare = 0.7
	// pruneStreak is how many consecutive decisions an arm must be
	// dominated before it is pruned.
	pruneStreak = 10
	// latencyBlindRounds: with SignalUnknown, a latency never observed after
	// this many updates is treated as not exported (see LatencySignal).
	latencyBlindRounds = 20
	contextClip        = 1e3
	maxNZ              = 6
	rewardClip         = 1e6
	latencyClip        = 1e4
	minWeight          = 1e-3
	maxWeight          = 10
	// globalExploreRounds: before this many updates gputune explores the
	// whole clock range, then only around its exploit clock.
	globalExploreRounds = 120
)

// gputune is one discounted ridge model of the reward over context ⊗ a
// B-spline basis in the core clock (plus an additive memory-clock factor),
// and two such models of TTFT and TPOT over context ⊗ [1, s, s²] with
// s ∝ 1/f. All arms share the three models, so one window teaches every
// clock something.
type gputune struct {
	cfg   Config
	arms  []Arm
	index map[Arm]int
	gputuneBasis
	gputuneLearned
	convergeTrack
	gputuneScratch
	pcg *rand.PCG
	rng *rand.Rand
}

// gputuneBasis is fixed by the arm table: the models' basis rows and the
// sparsity patterns the per-arm quadratic forms use.
type gputuneBasis struct {
	d, kf, km, k, kl int
	fmin, fmax       float64
	mems             []int
	g, gl            []float64 // per-arm basis rows (len(arms)·k, len(arms)·kl)
	smIdx            []int     // per arm: index into sms
	gNZ              []int     // per arm: non-zero positions of g (maxNZ each, -1 padded)
	nzN              []int     // per arm: how many of gNZ are set
	nzV              []float64 // per arm: g at gNZ (maxNZ each), packed
	pat              []int     // per arm: index of its non-zero pattern in pats
	pats             []nzPattern
	sms              []int // distinct core clocks, ascending
	// ls and lmem: per arm, the latency basis's s and the position of its
	// memory indicator in it (-1: none), for latencyPoly.
	ls   []float64
	lmem []int
}

// gputuneLearned is what the policy has learnt and persists.
type gputuneLearned struct {
	reward, ttft, tpot *ridge
	steady             *steadyModel

	pulls    []int
	last     []float64
	prunedAt []int // round pruned; -1 while not pruned
	streak   []int

	round, forced int
	// incumbent is the settled exploit arm (see settle.go); -1 for none.
	incumbent int

	violation bool
	sloState
	// ttftSignal and tpotSignal: see LatencySignal.
	ttftSignal, tpotSignal LatencySignal
}

// convergeTrack is the online convergence flag over the arms in effect.
type convergeTrack struct {
	hist           []int // ring of sms indices of arms in effect
	histPos, histN int
	smCount        []int
	converged      bool
	convergedRound int
}

// gputuneScratch is per-decision working memory, so that Decide and Update
// do not allocate.
type gputuneScratch struct {
	allowed, safe       []bool
	xs, u, kq, tmp, phi []float64
	ul, kql, tmpl, phil []float64
	up, kqp             []float64 // TPOT's u and K
	gs, gls             []float64 // basis scratch for arms outside the set
}

func newGPUTune(cfg Config, arms []Arm, seed uint64) *gputune {
	t := &gputune{cfg: cfg, arms: arms, index: make(map[Arm]int, len(arms))}
	for i, a := range arms {
		t.index[a] = i
	}
	t.d = cfg.Features
	t.fmin, t.fmax = float64(arms[0].SMMHz), float64(arms[len(arms)-1].SMMHz)
	for _, a := range arms {
		if !slices.Contains(t.mems, a.MemMHz) {
			t.mems = append(t.mems, a.MemMHz)
		}
		if !slices.Contains(t.sms, a.SMMHz) {
			t.sms = append(t.sms, a.SMMHz)
		}
	}
	slices.Sort(t.mems)
	slices.Sort(t.sms)
	t.kf = cfg.FreqBasis
	t.km = len(t.mems) - 1
	// Basis: a constant (the context's main effect on the reward), the
	// B-splines, the memory indicators.
	t.k = 1 + t.kf + t.km
	t.kl = 3 + t.km
	n := len(arms)
	t.g = make([]float64, n*t.k)
	t.gl = make([]float64, n*t.kl)
	t.smIdx = make([]int, n)
	t.gs = make([]float64, t.k)
	t.ls, t.lmem = make([]float64, n), make([]int, n)
	t.gls = make([]float64, t.kl)
	for i, a := range arms {
		gl := t.gl[i*t.kl : (i+1)*t.kl]
		t.basis(a, t.g[i*t.k:(i+1)*t.k], gl)
		t.ls[i], t.lmem[i] = gl[1], -1
		for j := 3; j < t.kl; j++ {
			if gl[j] != 0 {
				t.lmem[i] = j
			}
		}
		t.smIdx[i], _ = slices.BinarySearch(t.sms, a.SMMHz)
	}
	// A cubic B-spline has at most 4 non-zero functions at any clock, plus
	// one memory indicator: the per-arm quadratic form needs only those.
	t.gNZ = make([]int, n*maxNZ)
	t.nzN, t.nzV = make([]int, n), make([]float64, n*maxNZ)
	t.pat = make([]int, n)
	for i := range arms {
		nz := t.gNZ[i*maxNZ : (i+1)*maxNZ]
		c := 0
		for l, v := range t.g[i*t.k : (i+1)*t.k] {
			if v != 0 && c < maxNZ {
				nz[c] = l
				t.nzV[i*maxNZ+c] = v
				c++
			}
		}
		t.nzN[i] = c
		t.pat[i] = t.patternOf(nz[:c])
		for ; c < maxNZ; c++ {
			nz[c] = -1
		}
	}
	p, pl := t.d*t.k, t.d*t.kl
	t.reward = newRidge(p, cfg.Ridge, cfg.Forgetting, cfg.RefactorEvery)
	// A small latency ridge keeps unexplored directions very uncertain,
	// which is what makes untried low clocks start out unsafe.
	t.ttft = newRidge(pl, 0.1, cfg.Forgetting, cfg.RefactorEvery)
	t.tpot = newRidge(pl, 0.1, cfg.Forgetting, cfg.RefactorEvery)
	t.steady = newSteadyModel(cfg, arms, t.mems, len(t.sms))
	t.pulls = make([]int, n)
	t.last = make([]float64, n)
	t.prunedAt = make([]int, n)
	t.streak = make([]int, n)
	t.allowed = make([]bool, n)
	t.safe = make([]bool, n)
	t.hist = make([]int, convergeWindow)
	t.smCount = make([]int, len(t.sms))
	t.xs = make([]float64, t.d)
	t.u, t.kq, t.tmp, t.phi = make([]float64, t.k), make([]float64, t.k*t.k), make([]float64, p*t.k), make([]float64, p)
	t.ul, t.kql, t.tmpl, t.phil = make([]float64, t.kl), make([]float64, t.kl*t.kl), make([]float64, pl*t.kl), make([]float64, pl)
	t.up, t.kqp = make([]float64, t.kl), make([]float64, t.kl*t.kl)
	t.pcg = rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)
	t.rng = rand.New(t.pcg)
	t.Reset()
	return t
}

// basis fills the reward basis g (B-splines in normalised f, then memory
// indicators) and the latency basis gl ([1, s, s²] with s the normalised
// 1/f, then memory indicators) for any arm, known or not.
func (t *gputune) basis(a Arm, g, gl []float64) {
	var u, s float64
	if t.fmax > t.fmin {
		f := min(max(float64(a.SMMHz), t.fmin), t.fmax)
		u = (f - t.fmin) / (t.fmax - t.fmin)
		s = (t.fmax/f - 1) / (t.fmax/t.fmin - 1)
	}
	// The constant column carries the context's main effect (the load's
	// large effect on every clock's reward), so the B-spline coefficients
	// only say how a clock differs from the usual level here. Without it,
	// forgetting pulled what was not visited back to the ridge prior's 0,
	// which with a reward that averages far from 0 made every clock outside
	// the visited band look terrible, pruned it and never revisited it.
	g[0] = 1
	bspline(u, t.kf, g[1:1+t.kf])
	gl[0], gl[1], gl[2] = 1, s, s*s
	for m := 1; m < len(t.mems); m++ {
		v := 0.0
		if a.MemMHz == t.mems[m] {
			v = 1
		}
		g[1+t.kf+m-1] = v
		gl[3+m-1] = v
	}
}

func (t *gputune) Name() string { return PolicyGPUTune }

func (t *gputune) Reset() {
	t.reward.reset()
	t.ttft.reset()
	t.tpot.reset()
	t.steady.reset()
	clear(t.pulls)
	clear(t.last)
	clear(t.streak)
	for i := range t.prunedAt {
		t.prunedAt[i] = -1
	}
	t.round, t.forced, t.violation = 0, 0, false
	t.incumbent = -1
	t.mode, t.ttftLimit, t.tpotLimit = t.cfg.SLOMode, t.cfg.TTFTLimit, t.cfg.TPOTLimit
	clear(t.hist)
	clear(t.smCount)
	t.histPos, t.histN = 0, 0
	t.converged, t.convergedRound = false, 0
}

func (t *gputune) ForceExplore(n int) { t.forced = max(n, 0) }
func (t *gputune) Round() int         { return t.round }
func (t *gputune) Converged() (bool, int) {
	return t.converged, t.convergedRound
}

func (t *gputune) Pruned() []Pruned {
	var out []Pruned
	for i, r := range t.prunedAt {
		if r >= 0 {
			out = append(out, Pruned{Arm: t.arms[i], Reason: reasonDominated, Round: r})
		}
	}
	return out
}

// sanitizeContext copies x into t.xs with NaN/Inf set to 0 and values
// clipped, so that a bad feature cannot poison the decision.
func sanitizeContext(x, dst []float64) {
	for i := range dst {
		v := 0.0
		if i < len(x) && finite(x[i]) {
			v = min(max(x[i], -contextClip), contextClip)
		}
		dst[i] = v
	}
}

// latencySigma is a latency model's residual scale, shrunk towards 20 % of
// its mean so that the first bounds are neither zero nor wild.
func latencySigma(m *ridge) float64 {
	return m.sigma(0.2*math.Abs(m.meanY())+1e-6, 2)
}

func (t *gputune) Decide(x []float64, allowed []Arm, scores []ArmScore) (Decision, []ArmScore) {
	sanitizeContext(x, t.xs)
	t.markAllowed(allowed)
	alpha := alphaAt(t.cfg, t.round)
	aware := t.mode == SLOAware

	contextMean(t.reward.theta, t.xs, t.u)
	t.reward.contextQuad(t.xs, t.k, t.tmp, t.kq)
	t.gatherPatterns()
	sigma := t.reward.sigma(1, 2)
	haveTTFT, haveTPOT := t.ttft.n > 0, t.tpot.n > 0
	sigmaTTFT, sigmaTPOT := latencySigma(t.ttft), latencySigma(t.tpot)
	if haveTTFT {
		contextMean(t.ttft.theta, t.xs, t.ul)
		t.ttft.contextQuad(t.xs, t.kl, t.tmpl, t.kql)
	}
	if haveTPOT {
		contextMean(t.tpot.theta, t.xs, t.up)
		t.tpot.contextQuad(t.xs, t.kl, t.tmpl, t.kqp)
	}
	ttftPoly := newLatencyPoly(t.ul, t.kql, sigmaTTFT, t.cfg.LatencyBeta)
	tpotPoly := newLatencyPoly(t.up, t.kqp, sigmaTPOT, t.cfg.LatencyBeta)
	ttftBlind := blindBlocks(t.ttftLimit, haveTTFT, t.ttftSignal, t.round)
	tpotBlind := blindBlocks(t.tpotLimit, haveTPOT, t.tpotSignal, t.round)

	scores = scores[:0]
	maxLCB := math.Inf(-1)
	safeN := 0
	for i, a := range t.arms {
		pred, q := t.rewardRow(i)
		bonus := alpha * sigma * math.Sqrt(max(q, 0))
		if !finite(pred) || !finite(bonus) {
			pred, bonus = 0, 0
		}
		row := ArmScore{Arm: a, Pred: pred, Bonus: bonus, UCB: pred + bonus, Held: math.NaN(), HeldSE: math.NaN(), HeldPowerW: math.NaN(), Plan: math.NaN(),
			PredTTFT: math.NaN(), TTFTUpper: math.NaN(), PredTPOT: math.NaN(), TPOTUpper: math.NaN(),
			Pulls: t.pulls[i], LastReward: t.last[i], State: StateOK}
		ttftOK, tpotOK := true, true
		if haveTTFT {
			row.PredTTFT, row.TTFTUpper = ttftPoly.row(t.ls[i], t.lmem[i])
			ttftOK = t.ttftLimit <= 0 || row.TTFTUpper <= t.ttftLimit
		} else if ttftBlind {
			ttftOK = false
		}
		if haveTPOT {
			row.PredTPOT, row.TPOTUpper = tpotPoly.row(t.ls[i], t.lmem[i])
			tpotOK = t.tpotLimit <= 0 || row.TPOTUpper <= t.tpotLimit
		} else if tpotBlind {
			tpotOK = false
		}
		safe := !aware || (ttftOK && tpotOK)
		switch {
		case !t.allowed[i]:
			row.Reason = reasonNotAllowed
		case !safe:
			row.State = StateUnsafe
			switch {
			case (ttftBlind && !haveTTFT) || (tpotBlind && !haveTPOT):
				row.Reason = reasonNoLatency
			case !ttftOK:
				row.Reason = reasonTTFT
			default:
				row.Reason = reasonTPOT
			}
		}
		t.safe[i] = safe && t.allowed[i]
		if t.safe[i] {
			safeN++
			maxLCB = max(maxLCB, pred-bonus)
		}
		scores = append(scores, row)
	}

	// Reversible pruning: an arm confidently worse than the best safe arm for
	// this many consecutive contexts leaves the choice until it is not.
	for i := range scores {
		if !t.safe[i] {
			continue
		}
		if scores[i].UCB < maxLCB {
			t.streak[i]++
			if t.cfg.ActionPruning && t.prunedAt[i] < 0 && t.streak[i] >= pruneStreak {
				t.prunedAt[i] = t.round
			}
		} else {
			t.streak[i] = 0
			t.prunedAt[i] = -1
		}
		if t.prunedAt[i] >= 0 {
			scores[i].State, scores[i].Reason, scores[i].Round = StatePruned, reasonDominated, t.prunedAt[i]
		}
	}

	dec := Decision{Alpha: alpha, SafeArms: safeN, Violation: t.violation}
	set := unprunedArms
	best, greedy := t.choose(scores, set)
	if best < 0 {
		set = safeArms
		best, greedy = t.choose(scores, set)
	}
	if best < 0 {
		// Nothing is safe: the highest clock is the safest place to learn.
		best = t.highestAllowed()
		dec.Violation = aware && (t.ttftLimit > 0 || t.tpotLimit > 0)
		dec.Arm = t.arms[best]
		return dec, scores
	}
	exploit := t.steadyExploit(scores)
	if exploit >= 0 {
		dec.Held = t.arms[t.steady.plan.held]
		if i, ok := t.rePass(); ok {
			best = i
			t.unprune(scores, i)
		} else {
			best = t.steadyExplore(scores, exploit)
		}
	} else if i, ok := t.coldStart(); ok {
		// Every cold-start decision is exploration: no arm is the exploit
		// arm until the steady-state model chooses one.
		best, exploit = i, -1
		t.unprune(scores, i)
	} else {
		exploit = t.settle(scores, greedy, sigma, set)
		best = t.localBest(scores, best, exploit, set)
		if best != exploit && !(scores[best].UCB-scores[exploit].Pred > t.cfg.SettleMargin) {
			best = exploit
		}
		best = t.steadyWarmupHold(best, exploit)
	}
	if t.forced > 0 {
		t.forced--
		best = t.mostUncertain(scores)
	}
	dec.Arm = t.arms[best]
	dec.Explore = best != exploit
	return dec, scores
}

// armSet names the arms a choice ranges over.
type armSet int

const (
	// unprunedArms: the safe arms that are not pruned, the usual choice.
	unprunedArms armSet = iota
	// safeArms: every safe arm, pruned or not, for when pruning leaves
	// none safe.
	safeArms
)

// eligible says whether arm i is in set.
func (t *gputune) eligible(i int, set armSet) bool {
	return t.safe[i] && (set == safeArms || t.prunedAt[i] < 0)
}

// choose returns the best-UCB and best-mean arms of set.
func (t *gputune) choose(scores []ArmScore, set armSet) (best, greedy int) {
	best, greedy = -1, -1
	for i := range scores {
		if !t.eligible(i, set) {
			continue
		}
		if best < 0 || scores[i].UCB > scores[best].UCB {
			best = i
		}
		if greedy < 0 || scores[i].Pred > scores[greedy].Pred {
			greedy = i
		}
	}
	return best, greedy
}

func (t *gputune) mostUncertain(scores []ArmScore) int {
	best := -1
	for i := range scores {
		if t.safe[i] && (best < 0 || scores[i].Bonus > scores[best].Bonus ||
			(scores[i].Bonus == scores[best].Bonus && t.rng.IntN(2) == 0)) {
			best = i
		}
	}
	return best
}

func (t *gputune) highestAllowed() int {
	for i := len(t.arms) - 1; i >= 0; i-- {
		if t.allowed[i] {
			return i
		}
	}
	return len(t.arms) - 1
}

// markAllowed sets t.allowed; nil or empty allowed means every arm.
func (t *gputune) markAllowed(allowed []Arm) {
	markAllowed(t.allowed, t.index, allowed)
}

func markAllowed(mask []bool, index map[Arm]int, allowed []Arm) {
	if len(allowed) == 0 {
		for i := range mask {
			mask[i] = true
		}
		return
	}
	clear(mask)
	any := false
	for _, a := range allowed {
		if i, ok := index[a]; ok {
			mask[i] = true
			any = true
		}
	}
	if !any {
		// None of the allowed arms is known: fall back to all, so a
		// caller's mismatch degrades to "no restriction" rather than to
		// an empty choice.
		for i := range mask {
			mask[i] = true
		}
	}
}

func (t *gputune) Update(obs Observation) {
	if len(obs.Context) != t.d || !allFinite(obs.Context) || !finite(obs.Reward) {
		return
	}
	sanitizeContext(obs.Context, t.xs)
	i, known := t.index[obs.Arm]
	g, gl := t.gs, t.gls
	if known {
		g, gl = t.g[i*t.k:(i+1)*t.k], t.gl[i*t.kl:(i+1)*t.kl]
	} else {
		if obs.Arm.SMMHz <= 0 {
			return
		}
		t.basis(obs.Arm, g, gl)
	}
	r := min(max(obs.Reward, -rewardClip), rewardClip)
	w := observationWeight(obs.Weight)
	kron(t.xs, g, t.phi)
	t.reward.update(t.phi, r, w)
	kron(t.xs, gl, t.phil)
	aware := t.mode == SLOAware
	t.violation = false
	if finite(obs.TTFT) && obs.TTFT >= 0 {
		t.ttft.update(t.phil, min(obs.TTFT, latencyClip), 1)
		t.violation = t.violation || (aware && t.ttftLimit > 0 && obs.TTFT > t.ttftLimit)
	}
	if finite(obs.TPOT) && obs.TPOT >= 0 {
		t.tpot.update(t.phil, min(obs.TPOT, latencyClip), 1)
		t.violation = t.violation || (aware && t.tpotLimit > 0 && obs.TPOT > t.tpotLimit)
	}
	t.round++
	arm, sm := -1, -1
	if known {
		t.pulls[i]++
		t.last[i] = r
		t.track(t.smIdx[i])
		arm, sm = i, t.smIdx[i]
	}
	lock := -1
	if l, ok := slices.BinarySearch(t.sms, obs.Steady.LockMHz); ok && obs.Steady.LockMHz > 0 {
		lock = l
	}
	t.steady.update(obs.Arm, arm, sm, lock, obs.Steady)
}

// observationWeight is a window's weight in the reward fit: 1 when the
// caller gave none, otherwise clipped to [minWeight, maxWeight] so that one
// window can neither vanish nor dominate. Latency models stay unweighted:
// the safety rule must hold in quiet windows too.
func observationWeight(w float64) float64 {
	if !finite(w) || w <= 0 {
		return 1
	}
	return min(max(w, minWeight), maxWeight)
}

// track keeps the last convergeWindow arms in effect and applies the
// project's convergence definition to them, with the best static clock
// estimated as the most-chosen one.
func (t *gputune) track(sm int) {
	if t.histN == convergeWindow {
		t.smCount[t.hist[t.histPos]]--
	} else {
		t.histN++
	}
	t.hist[t.histPos] = sm
	t.histPos = (t.histPos + 1) % convergeWindow
	t.smCount[sm]++
	if t.histN < convergeWindow {
		return
	}
	share := float64(bestNeighbourhood(t.smCount)) / convergeWindow
	switch {
	case !t.converged && share >= convergeShare:
		t.converged, t.convergedRound = true, t.round
	case t.converged && share < unconvergeShare:
		t.converged, t.convergedRound = false, 0
	}
}

// bestNeighbourhood is the largest count within ±1 grid step of any clock.
func bestNeighbourhood(counts []int) int {
	best := 0
	for j := range counts {
		s := counts[j]
		if j > 0 {
			s += counts[j-1]
		}
		if j+1 < len(counts) {
			s += counts[j+1]
		}
		best = max(best, s)
	}
	return best
}
