package bandit

import (
	"math"
	"math/rand/v2"
	"slices"
)

// AGFT's hard-coded and shipped-config constants (agft-behaviour.md §3–§8, §10).
const (
	agftCoarseMHz          = 90
	agftFineMHz            = 15
	agftWindowMHz          = 150
	agftRefineStart        = 80
	agftRefineEvery        = 10
	agftMaturity           = 100
	agftTierMinSamples     = 6
	agftTierMinPerTier     = 2
	agftFallbackMinSamples = 4
	agftUCBShare           = 0.8
	agftUCBMargin          = 0.3
	agftPruneMaturity      = 30
	agftPruneEvery         = 20
	agftPruneMinPulls      = 6
	agftPruneSigmas        = 4
	agftPruneFloor         = 0.05
	agftKeepArms           = 2
	agftExtremeThreshold   = -1.2
	agftExtremeMinSamples  = 3
	agftExtremeMaxRounds   = 60
	agftConvergeWindow     = 100
	agftConvergeTopK       = 3
	agftConvergeShare      = 0.6
	agftDegradeWindow      = 50
	agftDegradeRatio       = 1.3
	agftFallbackBonus      = 10 // bonus = α·10 when the quadratic form is bad
	agftEDPCap             = 128
)

const (
	reasonHistorical = "historical: mean EDP more than 4σ above the best"
	reasonExtreme    = "extreme: mean reward ≤ −1.2 in the first 60 rounds"
	reasonCascade    = "cascade: at or below a pruned clock under max/2"
	reasonBoundary   = "at or below the SLO boundary"
	reasonOutside    = "outside the sampler window"
)

// edpRing keeps the last agftEDPCap EDPs of one arm or clock.
type edpRing struct {
	V   []float64 `json:"v"` // ring order; Pos is the oldest once full
	Pos int       `json:"pos"`
}

func (r *edpRing) add(v float64) {
	if len(r.V) < agftEDPCap {
		r.V = append(r.V, v)
		return
	}
	r.V[r.Pos] = v
	r.Pos = (r.Pos + 1) % agftEDPCap
}

func (r *edpRing) mean() float64 {
	var s float64
	for _, v := range r.V {
		s += v
	}
	return s / float64(len(r.V))
}

func (r *edpRing) latest() float64 {
	if len(r.V) < agftEDPCap {
		return r.V[len(r.V)-1]
	}
	return r.V[(r.Pos+agftEDPCap-1)%agftEDPCap]
}

// agft is AGFT's ContextualLinUCB plus its AdaptiveFrequencySampler and the
// convergence logic of its main loop, over a fixed arm table. Its parts are
// embedded so that the update code reads as AGFT's does, while each part
// stays a unit that can be read, reset and persisted on its own.
type agft struct {
	cfg Config
	agftArms
	agftLinUCB
	agftPruning
	agftSampler
	agftSweep
	agftConvergence
	round     int
	forced    int
	violation bool
	sloState
	pcg *rand.PCG
	rng *rand.Rand
	agftScratch
}

// agftArms is the fixed arm table and its index by core clock.
type agftArms struct {
	arms   []Arm
	index  map[Arm]int
	d      int // feature dimension (no bias column)
	sms    []int
	mems   []int
	smIdx  []int // per arm, its core clock's index in sms
	maxMem int
}

// agftLinUCB is the disjoint LinUCB model: per arm A (d×d), A⁻¹, b and θ.
type agftLinUCB struct {
	a, ainv, b, theta []float64
	counts            []int
	rewardSum         []float64
	last              []float64
}

// agftPruning is the permanent pruning record and its EDP evidence.
type agftPruning struct {
	armEDP         []edpRing // per arm, for historical pruning
	prunedAt       []int     // round the arm was pruned at; -1: not pruned
	reason         []string
	sloOff         []bool // disabled by a memory-combo SLO violation
	lastPruneCheck int
}

// agftSampler is AGFT's AdaptiveFrequencySampler: the candidate list of
// core clocks, the one-way SLO boundary and the refinement schedule.
type agftSampler struct {
	smEDP       []edpRing // per core clock
	cand        []bool    // per core clock
	boundary    int       // SLO boundary (MHz); 0: none
	refineCount int
	lastSM      int // sms index of the latest sampler feedback; -1: none
}

// agftSweep is the initial high-to-low traversal of the first list.
type agftSweep struct {
	sweep        []int
	sweepPos     int
	sweepFrozen  bool
	learningDone bool
}

// agftConvergence is the main loop's convergence and degradation state.
type agftConvergence struct {
	actions        []int // ring of arm indices
	actPos, actN   int
	actCount       []int     // per arm, pulls within the ring
	edpHist        []float64 // ring of EDPs for the degradation check
	exploit        bool
	converged      bool
	convergedRound int
}

// agftScratch is per-decision working space, never persisted.
type agftScratch struct {
	avail, allowed []bool
	xs, u, sortBuf []float64
	work           []float64
	pruneMeans     []float64
}

func newAGFT(cfg Config, arms []Arm, seed uint64) *agft {
	n := len(arms)
	d := cfg.Features
	if cfg.Bias {
		d-- // AGFT's model has no intercept: the bias column is dropped
	}
	g := &agft{cfg: cfg, agftArms: agftArms{arms: arms, index: make(map[Arm]int, n), d: d}}
	for i, a := range arms {
		g.index[a] = i
		if !slices.Contains(g.sms, a.SMMHz) {
			g.sms = append(g.sms, a.SMMHz)
		}
		if !slices.Contains(g.mems, a.MemMHz) {
			g.mems = append(g.mems, a.MemMHz)
		}
	}
	slices.Sort(g.sms)
	slices.Sort(g.mems)
	g.maxMem = g.mems[len(g.mems)-1]
	g.smIdx = make([]int, n)
	for i, a := range arms {
		g.smIdx[i], _ = slices.BinarySearch(g.sms, a.SMMHz)
	}
	g.a, g.ainv = make([]float64, n*d*d), make([]float64, n*d*d)
	g.b, g.theta = make([]float64, n*d), make([]float64, n*d)
	g.counts, g.rewardSum, g.last = make([]int, n), make([]float64, n), make([]float64, n)
	g.armEDP, g.smEDP = make([]edpRing, n), make([]edpRing, len(g.sms))
	g.prunedAt, g.reason, g.sloOff = make([]int, n), make([]string, n), make([]bool, n)
	g.cand = make([]bool, len(g.sms))
	g.actions, g.edpHist = make([]int, agftConvergeWindow), make([]float64, agftConvergeWindow)
	g.avail, g.allowed = make([]bool, n), make([]bool, n)
	g.xs, g.u, g.work = make([]float64, d), make([]float64, d), make([]float64, d*d)
	g.sortBuf = make([]float64, 0, agftEDPCap)
	g.actCount = make([]int, n)
	g.pruneMeans = make([]float64, 0, n)
	g.pcg = rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)
	g.rng = rand.New(g.pcg)
	g.Reset()
	return g
}

func (g *agft) Name() string { return PolicyAGFT }

func (g *agft) Reset() {
	d := g.d
	ridge := max(g.cfg.Ridge, 5) // AGFT: A = max(lambda_reg, 5)·I
	for i := range g.arms {
		a, ai := g.a[i*d*d:(i+1)*d*d], g.ainv[i*d*d:(i+1)*d*d]
		clear(a)
		clear(ai)
		for j := 0; j < d; j++ {
			a[j*d+j] = ridge
			ai[j*d+j] = 1 / ridge
		}
		g.armEDP[i] = edpRing{}
		g.prunedAt[i] = -1
		g.reason[i] = ""
	}
	for j := range g.smEDP {
		g.smEDP[j] = edpRing{}
	}
	clear(g.b)
	clear(g.theta)
	clear(g.counts)
	clear(g.rewardSum)
	clear(g.last)
	clear(g.sloOff)
	clear(g.actCount)
	g.boundary, g.refineCount, g.lastSM = 0, 0, -1
	g.sweep, g.sweepPos, g.sweepFrozen, g.learningDone = nil, 0, false, false
	g.actPos, g.actN = 0, 0
	g.exploit, g.converged, g.convergedRound = false, false, 0
	g.round, g.lastPruneCheck, g.forced, g.violation = 0, 0, 0, false
	g.mode, g.ttftLimit, g.tpotLimit = g.cfg.SLOMode, g.cfg.TTFTLimit, g.cfg.TPOTLimit
	g.initialList()
}

// initialList is AGFT's first candidate list: a 90 MHz grid from the top
// down (SLO-aware) or from the bottom up (EDP-optimal), plus the other end.
// Grid points snap to the nearest clock the GPU has: AGFT requests
// arithmetic values and loses the ones the driver rounds to another clock.
func (g *agft) initialList() {
	clear(g.cand)
	lo, hi := g.sms[0], g.sms[len(g.sms)-1]
	if g.mode == SLOIgnore {
		for f := lo; f <= hi; f += agftCoarseMHz {
			g.cand[g.nearestSM(f)] = true
		}
	} else {
		for f := hi; f >= lo; f -= agftCoarseMHz {
			g.cand[g.nearestSM(f)] = true
		}
	}
	g.cand[0] = true
	g.cand[len(g.sms)-1] = true
}

func (g *agft) nearestSM(f int) int {
	j, _ := slices.BinarySearch(g.sms, f)
	switch {
	case j == len(g.sms):
		return j - 1
	case j > 0 && f-g.sms[j-1] < g.sms[j]-f:
		return j - 1
	}
	return j
}

func (g *agft) ForceExplore(n int)     { g.forced = max(n, 0) }
func (g *agft) Round() int             { return g.round }
func (g *agft) Converged() (bool, int) { return g.converged, g.convergedRound }

func (g *agft) Pruned() []Pruned {
	var out []Pruned
	for i, r := range g.prunedAt {
		if r >= 0 {
			out = append(out, Pruned{Arm: g.arms[i], Reason: g.reason[i], Round: r})
		}
	}
	return out
}

// refreshAvail recomputes the sampler's filtered list: candidate window,
// then pruned, then the SLO boundary (strictly above it) in SLO-aware mode.
func (g *agft) refreshAvail() int {
	n := 0
	aware := g.mode == SLOAware
	for i, a := range g.arms {
		ok := g.cand[g.smIdx[i]] && g.prunedAt[i] < 0 &&
			!(aware && (g.sloOff[i] || (g.boundary > 0 && a.SMMHz <= g.boundary)))
		g.avail[i] = ok
		if ok {
			n++
		}
	}
	return n
}

// armUCB returns θᵀx and α·sqrt(xᵀA⁻¹x) with AGFT's guards.
func (g *agft) armUCB(i int, alpha float64) (pred, bonus float64) {
	d := g.d
	th := g.theta[i*d : (i+1)*d]
	pred = dot(th, g.xs)
	q := quadForm(g.ainv[i*d*d:(i+1)*d*d], g.xs, d)
	switch {
	case q < 0 && q > -1e-10:
		q = 1e-10
	case q < 0 || !finite(q):
		return pred, alpha * agftFallbackBonus
	}
	return pred, alpha * math.Sqrt(q)
}

func (g *agft) Decide(x []float64, allowed []Arm, scores []ArmScore) (Decision, []ArmScore) {
	sanitizeContext(x, g.xs)
	markAllowed(g.allowed, g.index, allowed)
	alpha := alphaAt(g.cfg, g.round)
	nAvail := g.refreshAvail()
	aware := g.mode == SLOAware

	scores = scores[:0]
	best, greedy := -1, -1
	safeN := 0
	for i, a := range g.arms {
		pred, bonus := g.armUCB(i, alpha)
		row := ArmScore{Arm: a, Pred: pred, Bonus: bonus, UCB: pred + bonus, Held: math.NaN(), Plan: math.NaN(),
			PredTTFT: math.NaN(), TTFTUpper: math.NaN(), PredTPOT: math.NaN(), TPOTUpper: math.NaN(),
			Pulls: g.counts[i], LastReward: g.last[i], State: StateOK}
		switch {
		case g.prunedAt[i] >= 0:
			row.State, row.Reason, row.Round = StatePruned, g.reason[i], g.prunedAt[i]
		case aware && (g.sloOff[i] || (g.boundary > 0 && a.SMMHz <= g.boundary)):
			row.State, row.Reason = StateUnsafe, reasonBoundary
		case !g.cand[g.smIdx[i]]:
			row.Reason = reasonOutside
		case !g.allowed[i]:
			row.Reason = reasonNotAllowed
		}
		scores = append(scores, row)
		if !g.avail[i] || !g.allowed[i] {
			continue
		}
		safeN++
		if best < 0 || row.UCB > scores[best].UCB {
			best = i
		}
		if greedy < 0 || row.Pred > scores[greedy].Pred {
			greedy = i
		}
	}
	dec := Decision{Alpha: alpha, SafeArms: safeN, Violation: g.violation}
	if safeN == 0 {
		// AGFT resets the clocks and stops deciding until it restarts;
		// this rebuild keeps control at the highest allowed clock instead.
		dec.Arm = g.arms[g.highestAllowed()]
		dec.Violation = dec.Violation || (aware && nAvail == 0)
		return dec, scores
	}
	switch {
	case g.forced > 0:
		g.forced--
		dec.Arm, dec.Explore = g.arms[g.randomAvail(safeN)], true
	case g.exploit:
		dec.Arm = g.arms[greedy]
	case !g.learningDone:
		if i, ok := g.nextSweep(); ok {
			dec.Arm, dec.Explore = g.arms[i], true
			return dec, scores
		}
		dec.Arm, dec.Explore = g.arms[best], best != greedy
	default:
		dec.Arm, dec.Explore = g.arms[best], best != greedy
	}
	return dec, scores
}

// nextSweep is AGFT's initial traversal: the list available at the first
// decision, high to low, one per round, skipping arms no longer available.
func (g *agft) nextSweep() (int, bool) {
	if !g.sweepFrozen {
		g.sweepFrozen = true
		for i := len(g.arms) - 1; i >= 0; i-- {
			if g.avail[i] && g.allowed[i] {
				g.sweep = append(g.sweep, i)
			}
		}
	}
	for g.sweepPos < len(g.sweep) {
		i := g.sweep[g.sweepPos]
		g.sweepPos++
		if g.avail[i] && g.allowed[i] {
			return i, true
		}
	}
	g.learningDone = true
	return 0, false
}

func (g *agft) randomAvail(n int) int {
	k := g.rng.IntN(n)
	for i := range g.arms {
		if g.avail[i] && g.allowed[i] {
			if k == 0 {
				return i
			}
			k--
		}
	}
	return g.highestAllowed()
}

func (g *agft) highestAllowed() int {
	for i := len(g.arms) - 1; i >= 0; i-- {
		if g.allowed[i] {
			return i
		}
	}
	return len(g.arms) - 1
}
