package bandit

import "math"

// The steady-state model. A window's reward measures a clock together with
// the batch it inherits: continuous batching needs seconds to reach the
// batch a clock implies (a low clock builds a bigger batch, cheaper per
// token), so one window at a new clock runs on the old clock's batch. A
// learner of per-window rewards is therefore pulled towards clocks above the
// best static one (docs/gputune-policy.md, "Why per-window rewards
// mislead"). What a clock is worth when held can instead be computed from
// relations that hold window by window, whatever came before:
//
//   - throughput: output tokens/s as a function of clock, running batch and
//     prefill load, τ(f, B, p);
//   - power: watts as a function of the same, P(f, B, p).
//
// Held at clock f, a server that keeps up serves its demand D (output
// tokens/s; arrivals do not depend on the clock), so its batch settles where
// τ(f, B) = D. Over a run, energy per token is P̄/D, and by Little's law the
// summed request latency is ∫L dt, L the requests in the server, so delay
// per token is L̄/D. EDP per token is then P(f, B_ss)·B_ss/D², and energy per
// token P(f, B_ss)/D. gputune's exploit clock minimises that, among SLO-safe
// clocks the model has data near. The bandit's reward model still decides
// until this one has enough data, and its latency models decide which
// clocks are safe.
//
// Both relations are fitted by discounted ridge regression (as the reward
// is) over [1, u, u², p, p²] ⊗ a degree-6 polynomial in the normalised
// clock, with u = ln B and p the prefill rate. The p² term is there because
// prefill takes a share of the GPU's time that grows linearly with p, so
// ln τ carries ln(1 − c(f)·p): concave in p, and more so at low clocks,
// where prefill (compute-bound) is slower. A fit linear in p, over windows
// whose prefill load varies widely, missed the rate at the mean load by an
// amount that grew at low clocks, and so overstated how much a higher clock
// adds: ∂ln τ/∂f 0.074 per 100 MHz fitted, 0.066 measured on held clocks
// (6 seeds), which put the chosen clock ~60 MHz high. The rate comes from the
// inter-token latency where the server exports it: B tokens per step,
// averaged over every token gap of the window. Only windows that ran at one
// clock throughout are fitted. The residuals are ~0.14 (ln τ) and ~0.05 (ln
// P) on the simulated H100, against ~0.8 for a window's log-EDP, which is
// what lets the model place a flat optimum.

// Steady is one window's operating point for the steady-state model. The
// zero value means "not given": the policy then decides from rewards alone.
type Steady struct {
	Batch       float64 // mean requests running over the window
	PrefillTokS float64 // prompt tokens processed per second
	GenTokS     float64 // output tokens per second
	PowerW      float64 // mean GPU power, W
	// StepS is the window's mean gap between a request's output tokens
	// (inter-token latency), the engine's step time as decoding requests
	// see it; 0 when the server does not export it.
	StepS float64
	// Capped is true when the GPU's power cap held the clock down.
	// Waiting is the number of requests queued for admission at the
	// window's end; a window with a queue served what the clock allowed,
	// not the demand (see change.go).
	Waiting float64
	Capped  bool
	// LockMHz is the core clock locked over the window; 0 when none was
	// (the driver's governor chose).
	LockMHz int
	// PowerLimitW is the GPU's enforced power limit (NVML); 0 when
	// unknown.
	PowerLimitW float64
	// Switched is true when the clock changed during the window: part of it
	// ran at the previous clock, and the model does not fit it.
	Switched bool
	// ArrivedPerS and FinishedPerS are the requests that entered and left
	// the server per second over the window: the planner's queue (plan.go).
	// 0 when not known.
	ArrivedPerS, FinishedPerS float64
}

const (
	// steadyZ is the length of [1, u, u², p, p²]. Neither fit has the die
	// temperature as a regressor: on a real H100 the die follows power
	// within ~0.3 s (docs/real-h100/), so within a window the temperature
	// moves with the clock, and a temperature term took over part of the
	// clock's effect on power. Predicted at the mean temperature, lower
	// clocks then looked too expensive: 40 seeds on the measured thermal
	// constants settled +52 MHz high (IQR [+15, +94]) with the term, +15
	// ([0, +45]) without it; on the earlier, slower constants +30 either
	// way.
	steadyZ = 5
	// steadyMinBatch: windows with fewer running requests say little about
	// batching and are not fitted; below it the fit is extended linearly.
	steadyMinBatch = 0.5
	// steadyPrefillScale puts the prefill rate on the scale of u, where the
	// ridge's fixed prior is negligible.
	steadyPrefillScale = 1e4
	// steadyRidge is the prior precision of both fits.
	steadyRidge = 1e-6
	// steadyDegree is the degree of the polynomial in the normalised core
	// clock that both relations are fitted over.
	steadyDegree = 6
	// steadyMinWindows is how many fitted windows the model needs before it
	// chooses the exploit clock; the cold-start design (coldstart.go) plays
	// until then. With 30 the first minute was ~1 point better on the
	// simulator but the model stuck far from the optimum when its data
	// spanned too narrow a band (TestSteadyModelFindsHeldOptimum at demand
	// 2500: 1,305 MHz against 990); with 100 it decided ~20 s later.
	steadyMinWindows = 60
	// steadyCover is the discounted count of fitted windows within
	// steadyCoverSteps clock steps an arm needs before the model's value
	// there is trusted: the fit is not extrapolated to clocks without data.
	steadyCover      = 2
	steadyCoverSteps = 2
	// steadySEFactor: the model chooses only among arms whose predicted
	// objective has a standard error within this factor of the smallest.
	// A polynomial fit is wild between clusters of data, and the level of
	// every prediction shares one uncertainty, so the comparison is
	// relative.
	steadySEFactor = 2
	// steadyMeanMemory is the discount of the demand and prefill means:
	// about 1,000 windows (5 min), long enough to average arrivals (a 30 s
	// mean of a Poisson load moved the chosen clock by ±60 MHz).
	steadyMeanMemory = 0.999
	// steadyExploreShare is the share of decisions that explore once the
	// model chooses the exploit clock: a uniformly drawn safe clock within
	// exploreRadius of it. The model's relations hold window by window,
	// so a short stay at a clock teaches it as much as a long one, and
	// drawing both sides evenly keeps the data around the exploit clock.
	steadyExploreShare = 0.2
	// steadyExploreHold is how many decisions an explored clock is held:
	// the first window after a switch is not fitted (Steady.Switched).
	steadyExploreHold = 4
	// steadyForgetting is the steady-state model's discount per window,
	// a memory of ~2,000 windows (10 min). Its relations are physical and
	// change little (the load's changes are its inputs), and placing a flat
	// optimum needs many exploratory windows: at 0.999 the chosen clock
	// scattered about twice as far.
	steadyForgetting = 0.9995
	// steadySecondMomentWindows is how many fitted windows the model needs
	// before its prefill terms are averaged over the windows' prefill rates
	// (objective) rather than taken at their mean. Both fits model a window's
	// ln τ and ln P, so over a stretch of windows the p² term contributes
	// c₄·E[p²]; at the mean rate it contributes c₄·E[p]², which leaves out
	// c₄·Var(p). Prefill comes in bursts (on the conversation trace most
	// windows have none and some several thousand prompt tokens/s), so
	// Var(p) is large, and c₄ depends on the clock (linearly, see kron), so
	// the left-out term moved the held value by clock: on the first
	// 10 minutes of the conversation trace (simulator v3) the model put the
	// held batch's rise below 1,050 MHz at ~80 % of what the static runs
	// measure, and the exploit clock settled at 945 MHz against the best
	// static clock's 1,050. Early on c₄ is poorly determined and Var(p)
	// amplifies its error (used from the first window, one A100 seed ran
	// at low clocks from its first minute and ended 26 % above the best
	// static clock), so the mean is used until the fit has this many
	// windows (~3 min).
	steadySecondMomentWindows = 600
	// steadyBatchHeadroom lets the solved batch reach twice the largest
	// seen (along the throughput fit's tangent, see objective); beyond that
	// a clock is taken to be unable to keep up.
	steadyBatchHeadroom = 2
)

func (s Steady) usable() bool {
	return finite(s.Batch) && finite(s.PrefillTokS) && finite(s.GenTokS) && finite(s.PowerW) &&
		s.Batch >= steadyMinBatch && s.PrefillTokS >= 0 && s.GenTokS > 0 && s.PowerW > 0
}

// steadyHold is the exploration schedule: the arm being held and the
// decisions it has left (see steadyExplore), and the next step of the
// cold-start design (coldstart.go).
type steadyHold struct {
	hold, holdLeft int
	// design is the design's next step and passStart the fitted windows
	// when its current later pass began.
	design, passStart int
	// repass is the rungs of a new load level's design pass not yet
	// started; covLo and covHi bound the ln demand levels the design's
	// passes have run at (repass.go).
	repass       int
	covLo, covHi float64
}

// batchRange is what the fits have seen of the ln batch: its extremes, and
// its discounted mean (discounted as the fits are), where they are best
// determined.
type batchRange struct {
	uMax, uMin float64
	uSum, uW   float64
}

type steadyModel struct {
	k           int       // basis length: steadyDegree+1 powers, memory indicators
	fmin, fmax  float64   // core clock range, for the normalised clock
	mems        []int     // memory clocks, ascending
	basis       []float64 // per arm: its basis row (len(arms)·k)
	g           []float64 // basis scratch for a clock outside the table
	tput, power *ridge
	// varT and varP give each arm's prediction variance of the two fits.
	varT, varP *heldVar
	delay      float64 // 1 for EDP, 0 for energy
	// Discounted sums of the rate (output tokens/s), the prefill rate
	// (over steadyPrefillScale) and its square, and their weight: see
	// means.
	demandSum            float64
	preSum, preSq, meanW float64
	batchRange
	windows   int  // windows fitted
	fromSteps bool // rates come from step times (see update)
	steadyHold
	change changeDetector
	capTrack
	clockData
	plan planner
	steadyScratch
}

// clockData is what the model keeps per distinct core clock: the windows
// fitted there, and the batches they ran at with the probe candidates these
// imply (probe.go).
type clockData struct {
	cover []float64 // discounted windows fitted
	probe batchProbe
}

// steadyScratch is per-decision working memory.
type steadyScratch struct {
	z, phi []float64
	value  []float64 // per arm: predicted ln objective (+Inf: unknown)
	se     []float64 // per arm: its standard error
	lnP    []float64 // per arm: predicted ln power when held (NaN: unknown)
	heldU  []float64 // per arm: the ln batch it holds (NaN: cannot keep up)
	// powerAt is, per valued arm, its ln power in the ln batch, and bounds
	// the arms that bound the others' (powerbound.go).
	powerAt []heldPower
	bounds  []int
	coeffT  [steadyZ]float64
	coeff   [steadyZ]float64
}

func newSteadyModel(cfg Config, arms []Arm, mems []int, clocks int) *steadyModel {
	k := steadyDegree + 1 + len(mems) - 1
	s := &steadyModel{
		k: k, fmin: float64(arms[0].SMMHz), fmax: float64(arms[len(arms)-1].SMMHz), mems: mems,
		basis: make([]float64, len(arms)*k), g: make([]float64, k),
		tput:      newRidge(steadyZ*k, steadyRidge, steadyForgetting, cfg.RefactorEvery),
		power:     newRidge(steadyZ*k, steadyRidge, steadyForgetting, cfg.RefactorEvery),
		delay:     1,
		capTrack:  capTrack{capped: make([]float64, clocks), locked: make([]float64, clocks)},
		clockData: clockData{cover: make([]float64, clocks), probe: newBatchProbe(len(arms), clocks)},
	}
	// The fits' noise is estimated from standardised residuals. A raw
	// one-step-ahead residual at a clock or batch the fit has not seen
	// measures the extrapolation, not the noise: on the simulated A100
	// the design's first far rungs missed by up to 144 in ln rate, which
	// held the noise estimate at 8–16 for minutes, made every standard
	// error ~100× too wide and left the standard-error rule choosing among
	// arms it could not tell apart (docs/gputune-policy.md).
	s.tput.standardised, s.power.standardised = true, true
	s.z, s.phi = make([]float64, steadyZ), make([]float64, steadyZ*k)
	s.varT, s.varP = newHeldVar(len(arms), k), newHeldVar(len(arms), k)
	s.value, s.se, s.lnP = make([]float64, len(arms)), make([]float64, len(arms)), make([]float64, len(arms))
	s.heldU = make([]float64, len(arms))
	s.powerAt, s.bounds = make([]heldPower, len(arms)), make([]int, 0, len(arms))
	for i, a := range arms {
		s.fill(a, s.basis[i*k:(i+1)*k])
	}
	if cfg.Objective == ObjectiveEnergy {
		s.delay = 0
	}
	s.reset()
	return s
}

// fill writes the basis row of arm a: powers of the normalised core clock,
// then one indicator per memory clock after the first. A low-degree
// polynomial, not the reward's B-splines: the relations are smooth in the
// clock, and with a dozen parameters fewer the optimum it places scatters
// far less (measured: the B-spline version settled ~45 MHz high).
func (s *steadyModel) fill(a Arm, g []float64) {
	var x float64
	if s.fmax > s.fmin {
		x = (min(max(float64(a.SMMHz), s.fmin), s.fmax) - s.fmin) / (s.fmax - s.fmin)
	}
	v := 1.0
	for d := 0; d <= steadyDegree; d++ {
		g[d] = v
		v *= x
	}
	for m := 1; m < len(s.mems); m++ {
		g[steadyDegree+m] = 0
		if a.MemMHz == s.mems[m] {
			g[steadyDegree+m] = 1
		}
	}
}

func (s *steadyModel) reset() {
	s.tput.reset()
	s.power.reset()
	if s.varT != nil {
		s.varT.stale, s.varP.stale = true, true
	}
	s.demandSum, s.preSum, s.preSq, s.meanW = 0, 0, 0, 0
	s.fromSteps = false
	s.hold, s.holdLeft, s.design, s.passStart = -1, 0, 0, 0
	s.repass, s.covLo, s.covHi = 0, math.Inf(1), math.Inf(-1)
	s.change.reset()
	s.capTrack.reset()
	s.plan.reset()
	s.uMax, s.uMin, s.uSum, s.uW, s.windows = math.Inf(-1), math.Inf(1), 0, 0, 0
	clear(s.cover)
	s.probe.reset()
}

// update fits one window at arm a, the table's arm i (-1 for a clock
// outside the table: fitted, but it covers no arm); sm is its index among
// the distinct core clocks, and lock that of the clock locked over the
// window (-1: none, or one outside the table).
func (s *steadyModel) update(a Arm, i, sm, lock int, o Steady) {
	if finite(o.Batch) && o.Batch >= 0 && finite(o.GenTokS) && o.GenTokS >= 0 && finite(o.PowerW) && o.PowerW > 0 {
		s.plan.observe(o)
	}
	if !o.usable() {
		return
	}
	// The token rate: from the step time where the server exports it
	// (B tokens per step of StepS seconds, averaged over every token gap in
	// the window, far steadier than a 0.3 s token count), else the count.
	// One kind is used throughout: the first step time switches over.
	u, p := math.Log(o.Batch), o.PrefillTokS/steadyPrefillScale
	rate := o.GenTokS
	if o.StepS > 0 && finite(o.StepS) {
		if !s.fromSteps {
			s.reset()
			s.fromSteps = true
		}
		rate = o.Batch / o.StepS
	} else if s.fromSteps {
		return
	}
	// Every window counts towards the means: demand does not depend on the
	// clock. A detected shift in the rate first shortens their memory
	// (change.go).
	if s.meanW > 0 && !(o.Waiting > 0) {
		if d, _ := s.means(); s.change.observe(math.Log(rate), math.Log(d)) {
			s.shorten()
			s.newLevel(s.change.level)
		}
	}
	s.meanW = steadyMeanMemory*s.meanW + 1
	s.demandSum = steadyMeanMemory*s.demandSum + rate
	s.preSum = steadyMeanMemory*s.preSum + p
	s.preSq = steadyMeanMemory*s.preSq + p*p
	// Under a power cap (or a slowdown) the clock in effect follows the
	// load, not the lock, and changes within the window: such a window is
	// not one of a clock held, and is not fitted. What the cap does to a
	// lock is predicted instead (powercap.go).
	if o.PowerLimitW > 0 && finite(o.PowerLimitW) {
		s.limitW = o.PowerLimitW
	}
	if o.Switched {
		return
	}
	s.countLock(lock, o.Capped)
	if o.Capped {
		return
	}
	g := s.g
	if i >= 0 {
		g = s.basis[i*s.k : (i+1)*s.k]
	} else {
		s.fill(a, g)
	}
	s.setZ(u, p)
	s.kron(s.z, g, s.phi)
	s.tput.update(s.phi, math.Log(rate), 1)
	s.power.update(s.phi, math.Log(o.PowerW), 1)
	s.varT.afterUpdate(s.tput, s.basis)
	s.varP.afterUpdate(s.power, s.basis)
	s.uMax, s.uMin = max(s.uMax, u), min(s.uMin, u)
	s.uSum = steadyForgetting*s.uSum + u
	s.uW = steadyForgetting*s.uW + 1
	s.windows++
	for i := range s.cover {
		s.cover[i] *= steadyForgetting
	}
	if sm >= 0 && sm < len(s.cover) {
		s.cover[sm]++
	}
	s.probe.fitted(sm, u)
}

func (s *steadyModel) ready() bool { return s.windows >= steadyMinWindows && s.meanW > 0 }

// means are the demand (output tokens/s) and the prefill rate (over
// steadyPrefillScale), discounted means normalised by their weight so that
// the first windows do not linger as an exponential average's start would.
func (s *steadyModel) means() (demand, prefill float64) {
	return s.demandSum / s.meanW, s.preSum / s.meanW
}

// prefill is the prefill rate (over steadyPrefillScale) and the value its
// square takes in the fits' p² terms. The fits model ln τ and ln P window by
// window, so over the windows' prefill rates their p² terms average to
// c₄·E[p²], not c₄·E[p]² (steadySecondMomentWindows).
func (s *steadyModel) prefill() (p, p2 float64) {
	_, p = s.means()
	p2 = p * p
	if s.windows >= steadySecondMomentWindows {
		p2 = s.preSq / s.meanW
	}
	return p, p2
}

// covered reports whether clock index sm has enough recent data nearby.
func (s *steadyModel) covered(sm int) bool {
	var c float64
	for j := max(sm-steadyCoverSteps, 0); j <= min(sm+steadyCoverSteps, len(s.cover)-1); j++ {
		c += s.cover[j]
	}
	return c >= steadyCover
}

// coefficients writes, for arm i, each model's coefficients of
// [1, u, u², p, p²].
func (s *steadyModel) coefficients(i int) {
	g := s.basis[i*s.k : (i+1)*s.k]
	for j := range steadyZ {
		s.coeff[j] = dot(s.power.theta[j*s.k:(j+1)*s.k], g)
		s.coeffT[j] = dot(s.tput.theta[j*s.k:(j+1)*s.k], g)
	}
}

// objective is the predicted ln objective (up to a constant) of holding arm
// i, ln P(B_ss) + delay·ln B_ss with B_ss where throughput meets demand, its
// standard error and u = ln B_ss, at ln demand lnD and the prefill terms p
// and p2 (prefill). +Inf, and u NaN, when the clock cannot keep up within
// the batches seen.
func (s *steadyModel) objective(i int, lnD, p, p2 float64) (value, se, u float64) {
	s.coefficients(i)
	offT, offP := s.coeffT[3]*p+s.coeffT[4]*p2, s.coeff[3]*p+s.coeff[4]*p2
	u, pw, powerSlope, ok := s.solveHeld(lnD, offT, offP)
	if !ok {
		return math.Inf(1), math.Inf(1), math.NaN()
	}
	value = pw + s.delay*u
	s.lnP[i] = pw
	s.powerAt[i] = heldPower{s.coeff[0], s.coeff[1], s.coeff[2], offP}
	// The delta method at the mean prefill rate, the two fits taken as
	// independent: an error e in ln τ moves ln B_ss by −e/(∂ln τ/∂u), and J
	// with it.
	c := s.coeffT
	v := min(max(u, s.uLow()), s.uMax)
	s.setZ(v, p)
	tputSlope := tauSlope(&c, v)
	sT, sP := s.tput.sigma(0.2, 2), s.power.sigma(0.1, 2)
	varT := sT * sT * s.varT.quad(i, s.z)
	varP := sP * sP * s.varP.quad(i, s.z)
	a := (powerSlope + s.delay) / tputSlope
	return value, math.Sqrt(max(varP+a*a*varT, 0)), u
}

// solveHeld solves, with the current arm's coefficients (coefficients) and
// the prefill terms' contributions offT and offP to ln τ and ln P, the ln
// batch u at which throughput meets demand e^lnD, and the ln power pw there
// with its slope in u. ok is false when the clock cannot keep up within the
// batches seen.
//
// The root is sought from the fitted windows' mean ln batch outwards, and
// the fit is extended along its tangent beyond the batches it has seen. A
// quadratic in ln B fitted on batches in a narrow band is wild far from
// it: searched from ln steadyMinBatch upwards, the held batch at clocks the
// windows had left long ago came out at e^-40, those clocks got standard
// errors of ~1,000, the standard-error rule excluded every clock below
// the exploit one, and on the synthetic held-clock load at 2,500 tok/s the
// model stayed at 1,560 MHz against a best of 990 once its design spent
// fewer windows on the far clocks (TestSolveHeldNearTheData).
func (s *steadyModel) solveHeld(lnD, offT, offP float64) (u, pw, powerSlope float64, ok bool) {
	c := s.coeffT
	lo, hi := s.uLow(), s.uMax+math.Log(steadyBatchHeadroom)
	// q(u) = ln τ(u) − ln D.
	q := func(u float64) float64 { return c[0] + c[1]*u + c[2]*u*u + offT - lnD }
	ref := min(max(s.uRef(), lo), s.uMax)
	if q(ref) >= 0 {
		// The demand needs no more than the batches the windows ran at:
		// the root below them, where ln τ rises through ln D.
		u = math.NaN()
		if q(lo) < 0 {
			u = lastRoot(c[2], c[1], c[0]+offT-lnD, lo, ref)
		}
		if math.IsNaN(u) {
			// Demand needs less than the smallest fitted batch: extend
			// ln τ along its tangent there (ln τ ∝ ln B for a part-idle
			// GPU).
			slope := tauSlopeBelow(&c, lo)
			u = lo - q(lo)/slope
		}
	} else {
		u = firstRoot(c[2], c[1], c[0]+offT-lnD, ref, s.uMax)
		if math.IsNaN(u) {
			// Demand needs more than the largest fitted batch: extend ln τ
			// along its tangent there. ln τ is concave in ln B (a step's
			// time grows with the batch), so the tangent errs towards
			// keeping up: the clock looks better than it may be, and
			// exploration goes to find out.
			top := q(s.uMax)
			slope := tauSlopeAbove(&c, s.uMax)
			if top >= 0 {
				return 0, 0, 0, false // a fit that turned down: no usable root
			}
			u = s.uMax - top/slope
			if u > hi {
				return 0, 0, 0, false
			}
		}
	}
	hp := heldPower{s.coeff[0], s.coeff[1], s.coeff[2], offP}
	pw, powerSlope = hp.at(u, lo, s.uMax)
	return u, pw, powerSlope, true
}

// heldPower is one arm's ln power in the ln batch: c[0] + c[1]·u + c[2]·u²
// + c[3], c[3] the prefill terms' share.
type heldPower [4]float64

// at is the ln power at ln batch u and its slope in u. Power is held at its
// value at the nearest end of the fitted batches [lo, hi] below them, and
// extended along its tangent above them, never falling with the batch.
func (c *heldPower) at(u, lo, hi float64) (pw, slope float64) {
	v := min(max(u, lo), hi)
	pw = c[0] + c[1]*v + c[2]*v*v + c[3]
	slope = c[1] + 2*c[2]*v
	if u > hi {
		slope = max(slope, 0)
		pw += slope * (u - hi)
	} else if u < lo {
		slope = 0
	}
	return pw, slope
}

// tauSlope is d ln τ/d ln B at ln batch u by the coefficients t, within the
// fitted batches; tauSlopeBelow and tauSlopeAbove are the slopes of the
// tangents that extend the fit below the smallest and above the largest
// batch fitted. Below, a part-idle GPU serves in proportion to its batch
// (near 1); above, ln τ is concave in ln B (at most 1), and a fit that
// turned down still rises a little, so that the extension errs towards
// keeping up.
func tauSlope(t *[steadyZ]float64, u float64) float64 { return min(max(t[1]+2*t[2]*u, 0.05), 1.5) }

func tauSlopeBelow(t *[steadyZ]float64, lo float64) float64 {
	return min(max(t[1]+2*t[2]*lo, 0.5), 1.5)
}

func tauSlopeAbove(t *[steadyZ]float64, hi float64) float64 {
	return min(max(t[1]+2*t[2]*hi, 0.05), 1)
}

// uLow is the smallest ln batch fitted, or ln steadyMinBatch while unknown.
func (s *steadyModel) uLow() float64 {
	if s.uMin < s.uMax {
		return s.uMin
	}
	return math.Log(steadyMinBatch)
}

// uRef is the fitted windows' mean ln batch (discounted as the fits are),
// where the fits are best determined; the smallest fitted while unknown.
func (s *steadyModel) uRef() float64 {
	if s.uW > 0 {
		return s.uSum / s.uW
	}
	return s.uLow()
}

// firstRoot is the smallest root of a·u² + b·u + c in (lo, hi] at which it
// rises through zero (ln τ rising through ln D), NaN when there is none.
func firstRoot(a, b, c, lo, hi float64) float64 {
	r, n := quadRoots(a, b, c)
	for _, u := range r[:n] {
		if u > lo && u <= hi && 2*a*u+b > 0 {
			return u
		}
	}
	return math.NaN()
}

// lastRoot is the largest root of a·u² + b·u + c in [lo, hi) at which it
// rises through zero, NaN when there is none.
func lastRoot(a, b, c, lo, hi float64) float64 {
	r, n := quadRoots(a, b, c)
	for j := n - 1; j >= 0; j-- {
		if u := r[j]; u >= lo && u < hi && 2*a*u+b > 0 {
			return u
		}
	}
	return math.NaN()
}

// quadRoots are the real roots of a·u² + b·u + c, ascending, and how many
// there are; a linear or constant polynomial has at most one.
func quadRoots(a, b, c float64) (r [2]float64, n int) {
	const tiny = 1e-12
	if math.Abs(a) < tiny {
		if math.Abs(b) > tiny {
			r[0] = -c / b
			return r, 1
		}
		return r, 0
	}
	disc := b*b - 4*a*c
	if disc < 0 {
		return r, 0
	}
	sq := math.Sqrt(disc)
	r[0], r[1] = (-b-sq)/(2*a), (-b+sq)/(2*a)
	if r[0] > r[1] {
		r[0], r[1] = r[1], r[0]
	}
	return r, 2
}

// steadyExploit is the exploit arm by the steady-state model: the SLO-safe,
// allowed arm with data nearby whose predicted objective when held is
// lowest. No hysteresis: the model moves slowly, and any margin held the
// clock up to 0.1 % above the optimum of a flat curve, 15–30 MHz high. It
// returns -1 until the model is ready (or when no arm qualifies), and the
// rewards' incumbent rule (settle.go) decides instead. The arm it returns is
// never pruned: pruning judges arms by the per-window rewards this model
// corrects.
func (t *gputune) steadyExploit(scores []ArmScore) int {
	s := t.steady
	if !s.ready() {
		return -1
	}
	if s.varT.stale {
		s.varT.recompute(s.tput, s.basis)
	}
	if s.varP.stale {
		s.varP.recompute(s.power, s.basis)
	}
	minSE := math.Inf(1)
	demand, _ := s.means()
	lnD := math.Log(demand)
	p, p2 := s.prefill()
	for i := range t.arms {
		s.value[i], s.se[i], s.lnP[i] = math.Inf(1), math.Inf(1), math.NaN()
		if !t.safe[i] || !s.covered(t.smIdx[i]) {
			continue
		}
		s.value[i], s.se[i], s.heldU[i] = s.objective(i, lnD, p, p2)
	}
	t.boundPower()
	t.applyCap()
	t.applyCapShare()
	// The standard-error rule compares the values chosen among: a clock the
	// cap holds down carries a lower clock's value and standard error, and
	// measured against the smallest before that, no clock can qualify
	// (TestSteadyChoiceBesideHeldDownClocks).
	for i, v := range s.value {
		if finite(v) {
			minSE = min(minSE, s.se[i])
		}
	}
	best := -1
	for i, v := range s.value {
		if finite(v) && s.se[i] <= steadySEFactor*minSE && (best < 0 || v < s.value[best]) {
			best = i
		}
	}
	if best < 0 {
		return -1
	}
	t.markProbes(best)
	s.plan.held = best
	best = t.planned(best, minSE)
	for i, v := range s.value {
		if finite(v) {
			scores[i].Held = math.Expm1(v - s.value[best])
			scores[i].HeldSE = s.se[i]
			scores[i].HeldPowerW = math.Exp(s.lnP[i])
		}
	}
	t.showPlan(scores, best)
	t.incumbent = best
	t.unprune(scores, best)
	return best
}

// steadyExplore returns the arm to play when the steady-state model chooses
// the exploit arm: the exploit arm, or, in steadyExploreShare of decisions,
// a probe (probe.go) while there is a candidate, else a uniformly drawn safe
// arm within exploreRadius of it. It ignores the
// rewards' pruning, which judges arms by the biased per-window rewards, and
// an arm it draws is unpruned.
func (t *gputune) steadyExplore(scores []ArmScore, exploit int) int {
	s := t.steady
	if i, ok := t.continueHold(); ok {
		return i
	}
	if t.rng.Float64() >= steadyExploreShare/steadyExploreHold {
		return exploit
	}
	i, ok := t.pickProbe(s.plan.held)
	if !ok {
		i = t.drawNear(exploit)
	}
	if i < 0 {
		return exploit
	}
	s.startHold(i)
	t.unprune(scores, i)
	return i
}

// drawNear returns a uniformly drawn safe arm other than exploit within
// exploreRadius of it, and -1 when there is none.
func (t *gputune) drawNear(exploit int) int {
	r, center := t.exploreRadius(), t.arms[exploit].SMMHz
	near := func(i int) bool {
		d := t.arms[i].SMMHz - center
		return i != exploit && t.safe[i] && d <= r && d >= -r
	}
	n := 0
	for i := range t.arms {
		if near(i) {
			n++
		}
	}
	if n == 0 {
		return -1
	}
	pick := t.rng.IntN(n)
	for i := range t.arms {
		if !near(i) {
			continue
		}
		if pick == 0 {
			return i
		}
		pick--
	}
	return -1
}

// steadyWarmupHold holds an arm the rewards chose to explore for
// steadyExploreHold decisions while the steady-state model gathers its first
// steadyMinWindows windows. The rewards' exploration moves the clock in most
// early decisions, and the model fits no window in which the clock changed:
// without holds it took up to 4 minutes to be ready, while the rewards held
// the clock ~300 MHz high. Without Steady data (s.meanW = 0) nothing changes.
func (t *gputune) steadyWarmupHold(best, exploit int) int {
	s := t.steady
	if s.meanW == 0 || s.ready() {
		return best
	}
	if i, ok := t.continueHold(); ok {
		return i
	}
	if best != exploit {
		s.startHold(best)
	}
	return best
}

// continueHold returns the arm being held and true while it has decisions
// left and is safe; otherwise it ends the hold.
func (t *gputune) continueHold() (int, bool) {
	s := t.steady
	if s.holdLeft > 0 && s.hold >= 0 && t.safe[s.hold] {
		s.holdLeft--
		return s.hold, true
	}
	s.holdLeft = 0
	return -1, false
}

// startHold plays arm i now and for steadyExploreHold−1 more decisions.
func (s *steadyModel) startHold(i int) { s.hold, s.holdLeft = i, steadyExploreHold-1 }

// unprune takes arm i out of the pruned set and its score row with it.
func (t *gputune) unprune(scores []ArmScore, i int) {
	t.prunedAt[i], t.streak[i] = -1, 0
	if scores[i].State == StatePruned {
		scores[i].State, scores[i].Reason, scores[i].Round = StateOK, "", 0
	}
}

// setZ writes [1, u, u², p, p²] to s.z.
func (s *steadyModel) setZ(u, p float64) {
	s.z[0], s.z[1], s.z[2], s.z[3], s.z[4] = 1, u, u*u, p, p*p
}

// kron writes z ⊗ g to phi, but multiplies p² (z[4]) only by the constant
// and linear clock terms (and the memory indicators): it bends the prefill
// term, and letting the bend vary freely with the clock added scatter
// without removing more bias (40 seeds: chosen clock +45 MHz IQR [+11,
// +94] against [+15, +75] this way).
func (s *steadyModel) kron(z, g, phi []float64) {
	kron(z, g, phi)
	clear(phi[4*s.k+2 : 4*s.k+steadyDegree+1])
}
