package bandit

import "math"

// Planning on the observed queue. The steady-state model values a clock as
// if it were held for ever at the mean load; the requests in the server now
// and the load of the last seconds do not enter. A burst that has filled
// the server, or a load that has just fallen, is then served at the clock
// that suits the average. The planner predicts, from the same fitted
// relations, what each clock does if it is locked for the next planHoldS
// seconds and the steady-state model's choice after it, over planHorizonS
// seconds from the requests in the server now and a demand that starts at
// the recent arrival rate and returns to the mean, and charges the additive
// cost the run's objective decomposes into: energy plus λ·(time requests
// spend in the server), λ = P̄/N̄ (mean power over mean requests in the
// server), the weight at which a small change in either moves energy ×
// delay equally (for the energy objective λ = 0). What is left at the
// horizon is charged too: the tokens of the requests above (or below) the
// steady-state choice's held batch at its energy per token, and their time
// in the server until they leave (at most planTailS).
//
// The fluid model: with N requests in the server, L output tokens each on
// average, and demand D(t) output tokens/s, dN/dt = (D − τ(f, N))/L, the
// batch running N (admission limits are not modelled: above the largest
// batch fitted τ follows its tangent, as in solveHeld).
//
// A candidate is held only for planHoldS and the plan always returns to the
// steady-state choice, as the bench's receding-horizon reference does: a
// candidate held for the whole horizon is charged its own steady cost for
// all of it, which outweighed what it did to the queue, and a burst moved
// the plan little (on the bursty load the held-for-the-horizon form ran
// 1,020–1,110 MHz through bursts and gaps alike where the reference ran
// 1,320–1,340 in the bursts and 690–980 after them). The planner chooses
// among the clocks the steady-state model may choose (SLO-safe, data
// nearby, a standard error within steadySEFactor of the smallest), so it
// never leaves the data or the safe set, and only once that model's
// smallest standard error is within planMaxSE. It re-plans every planEvery
// decisions (3 s) and holds its choice in between.

const (
	planHorizonS = 90
	planStepS    = 1
	// planHoldS is how long the plan locks a candidate before it returns
	// to the steady-state choice.
	planHoldS = 10
	// planTailS bounds the time the requests left at the horizon are
	// charged for.
	planTailS = 30
	// planForecastS is how fast the demand forecast returns from the
	// recent arrival rate to the mean.
	planForecastS = 10
	// planEvery is how many decisions a plan is held.
	planEvery = 10
	// planMaxSE is the steady-state model's smallest standard error (ln
	// objective) below which the planner decides.
	planMaxSE = 0.5
	// planRecentMemory is the discount of the recent arrival rate
	// (~10 windows, 3 s).
	planRecentMemory = 0.9
	// planLengthMemory is the discount of the output length, mean power
	// and mean requests in the server (~1,000 windows). A change alarm
	// cuts the output length's memory as it cuts the demand means' (see
	// shortenLength).
	planLengthMemory = 0.999
)

// planner holds the queue's state as the planner sees it.
type planner struct {
	inServer float64 // requests in the server at the last window's end
	arrived  float64 // recent arrivals, requests/s (discounted mean)
	arrW     float64
	// Discounted sums of output tokens/s and finished requests/s (their
	// ratio is the output length) and their weight, power and requests in
	// the server.
	genSum, finSum, lenW float64
	powerSum, queueSum   float64
	longW                float64
	choice, left         int // the planned arm and the decisions it is held
	cost                 []float64
	// base is the steady-state choice's relations, the plan's return;
	// cand the candidate's.
	base, cand planCoeffs
	// held is the steady-state model's choice at the last decision.
	held int
	// off leaves the steady-state choice in force (what the planner is
	// measured against).
	off bool
}

func (p *planner) reset() {
	*p = planner{choice: -1, cost: p.cost, off: p.off}
}

// observe records one usable window.
func (p *planner) observe(o Steady) {
	if !(o.FinishedPerS >= 0) || !(o.ArrivedPerS >= 0) || !finite(o.FinishedPerS+o.ArrivedPerS) {
		return
	}
	n := o.Batch + max(o.Waiting, 0)
	p.inServer = n
	p.arrived = planRecentMemory*p.arrived + o.ArrivedPerS
	p.arrW = planRecentMemory*p.arrW + 1
	p.genSum = planLengthMemory*p.genSum + o.GenTokS
	p.finSum = planLengthMemory*p.finSum + o.FinishedPerS
	p.lenW = planLengthMemory*p.lenW + 1
	p.powerSum = planLengthMemory*p.powerSum + o.PowerW
	p.queueSum = planLengthMemory*p.queueSum + n
	p.longW = planLengthMemory*p.longW + 1
}

// shortenLength keeps keep windows' worth of the output length's sums. The
// length converts the fluid model's token rate into requests that leave,
// and it changes with the load's mix of requests: on the phases workload a
// prefill phase's requests ask for 18 output tokens on average and a decode
// phase's for 650. Averaged over ~1,000 windows (two of its cycles) the
// length stayed at a few hundred through the prefill phases, so the plan
// had the few requests there leave ~20× too slowly, charged a low clock
// for a queue that never forms, and ran those phases at 1,150–1,450 MHz
// where 900 MHz is best. A memory of ~20 windows throughout followed the
// phases as well but made the conversation trace's plan noisier (its
// lengths are heavy-tailed); cut at an alarm only, the length is as steady
// as before where the load holds (docs/gputune-policy.md, 2026-12-08).
func (p *planner) shortenLength(keep float64) {
	if p.lenW <= keep {
		return
	}
	f := keep / p.lenW
	p.genSum *= f
	p.finSum *= f
	p.lenW = keep
}

// outputLen is the mean output tokens per request, and false while unknown.
func (p *planner) outputLen() (float64, bool) {
	if !(p.finSum > 0) || !(p.genSum > 0) || p.longW < 100 {
		return 0, false
	}
	return p.genSum / p.finSum, true
}

// planCoeffs is one clock's fitted relations at the prefill load: the
// coefficients of ln τ and ln P in [1, u, u²] with the prefill terms folded
// into the constants.
type planCoeffs struct {
	t, p [steadyZ]float64
}

// planCoeffsOf is arm i's relations at prefill terms p and p2 (prefill).
func (s *steadyModel) planCoeffsOf(i int, p, p2 float64) planCoeffs {
	s.coefficients(i)
	c := planCoeffs{t: s.coeffT, p: s.coeff}
	c.t[0] += c.t[3]*p + c.t[4]*p2
	c.p[0] += c.p[3]*p + c.p[4]*p2
	return c
}

// plan returns the arm with the lowest planned cost among the arms whose
// value is finite and whose standard error is within steadySEFactor of
// minSE, returning to the steady-state choice base after planHoldS, and
// fills q.cost; -1 when the queue is not known.
func (t *gputune) plan(base int, minSE, p, p2 float64) int {
	s := t.steady
	q := &s.plan
	length, ok := q.outputLen()
	demand, _ := s.means()
	if !ok || !(demand > 0) || !(q.arrW > 0) {
		return -1
	}
	if len(q.cost) != len(t.arms) {
		q.cost = make([]float64, len(t.arms))
	}
	// What is left at the horizon is valued at the steady-state choice's
	// held batch.
	q.base = s.planCoeffsOf(base, p, p2)
	s.coeffT, s.coeff = q.base.t, q.base.p
	uSS, lnPSS, _, ok := s.solveHeld(math.Log(demand), 0, 0)
	if !ok {
		return -1
	}
	bSS, pSS := math.Exp(uSS), math.Exp(lnPSS)
	v := min(max(uSS, s.uLow()), s.uMax)
	relax := length * bSS / (demand * tauSlope(&q.base.t, v))
	lambda := s.delay * q.powerSum / max(q.queueSum, 1e-9)
	// The tokens of each request left above the held batch cost the
	// clock's energy per token, and its time in the server λ per second.
	perExcess := length*pSS/demand + lambda*min(relax, planTailS)
	recent := q.arrived / q.arrW * length
	lnCap, capped := s.lnCap()
	best := -1
	for i, v := range s.value {
		q.cost[i] = math.Inf(1)
		if !finite(v) || s.se[i] > steadySEFactor*minSE || (capped && s.lnP[i] > lnCap) || s.heldDown(t.smIdx[i]) {
			continue
		}
		q.cand = s.planCoeffsOf(i, p, p2)
		n := s.planQueue(q, q.inServer, recent, demand, length, lambda, &q.cost[i])
		q.cost[i] += (n - bSS) * perExcess
		if finite(q.cost[i]) && (best < 0 || q.cost[i] < q.cost[best]) {
			best = i
		}
	}
	return best
}

// planQueue integrates the fluid model from n requests in the server, the
// demand going from recent to demand (output tokens/s), with q.cand's
// relations for planHoldS and q.base's after, adds energy + λ·delay over
// the horizon to *cost and returns the requests left at its end.
func (s *steadyModel) planQueue(q *planner, n, recent, demand, length, lambda float64, cost *float64) float64 {
	*cost = 0
	decay := math.Exp(-planStepS / planForecastS)
	d := recent
	for step := range int(planHorizonS / planStepS) {
		c := &q.cand
		if float64(step)*planStepS >= planHoldS {
			c = &q.base
		}
		tau, lnP, slope := s.rates(c, n)
		*cost += (math.Exp(lnP) + lambda*n) * planStepS
		// Linearised implicit Euler: stable at any step, where the
		// explicit step oscillates once it exceeds the relaxation time.
		dtau := 0.0
		if n > 0 {
			dtau = tau / n * slope
		}
		n = max(n+planStepS*(d-tau)/(length+planStepS*dtau), 0)
		d = demand + (d-demand)*decay
	}
	return n
}

// rates are the output tokens/s, ln power and d ln τ/d ln B at n requests
// running with c's relations, extended beyond the fitted batches as
// solveHeld extends them: along the tangent below the smallest (its slope
// in [0.5, 1.5]: τ ∝ B for a part-idle GPU) and above the largest; power
// flat below, never falling above.
func (s *steadyModel) rates(c *planCoeffs, n float64) (tau, lnP, slope float64) {
	lo := s.uLow()
	t, k := &c.t, &c.p
	u := math.Log(max(n, 1e-9))
	v := min(max(u, lo), s.uMax)
	lnT := t[0] + t[1]*v + t[2]*v*v
	hp := heldPower{k[0], k[1], k[2], 0}
	lnP, _ = hp.at(u, lo, s.uMax)
	slope = tauSlope(t, v)
	switch {
	case u > s.uMax:
		slope = tauSlopeAbove(t, s.uMax)
		lnT += slope * (u - s.uMax)
	case u < lo:
		slope = tauSlopeBelow(t, lo)
		lnT += slope * (u - lo)
	}
	return math.Exp(lnT), lnP, slope
}

// planned is the exploit arm: the planned one, re-planned every planEvery
// decisions or when the held plan's arm has left the choice; steady, the
// steady-state model's choice, where the queue is not known.
func (t *gputune) planned(steady int, minSE float64) int {
	s := t.steady
	q := &s.plan
	if c := q.choice; q.left > 0 && c >= 0 && finite(s.value[c]) && s.se[c] <= steadySEFactor*minSE {
		q.left--
		return c
	}
	if q.off || minSE > planMaxSE {
		q.choice = -1
		return steady
	}
	p, p2 := s.prefill()
	q.choice, q.left = t.plan(steady, minSE, p, p2), planEvery-1
	if q.choice < 0 {
		return steady
	}
	return q.choice
}

// showPlan writes each planned arm's cost relative to the exploit arm's to
// its score row, when the exploit arm is the plan's.
func (t *gputune) showPlan(scores []ArmScore, exploit int) {
	q := &t.steady.plan
	if q.off || q.choice != exploit || len(q.cost) != len(scores) || !finite(q.cost[exploit]) || !(q.cost[exploit] > 0) {
		return
	}
	for i, c := range q.cost {
		if finite(c) {
			scores[i].Plan = c/q.cost[exploit] - 1
		}
	}
}
