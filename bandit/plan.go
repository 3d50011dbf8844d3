package bandit

import "math"

// Planning on the observed queue. The steady-state model values a clock as
// if it were held for ever at the mean load; the requests in the server now
// and the load of the last seconds do not enter. A burst that has filled
// the server, or a load that has just fallen, is then served at the clock
// that suits the average. The planner predicts, from the same fitted
// relations, what locking each clock does over the next planHorizonS
// seconds, from the requests in the server now and a demand that starts at
// the recent arrival rate and returns to the mean, and charges the additive
// cost the run's objective decomposes into: energy plus λ·(time requests
// spend in the server), λ = P̄/N̄ (mean power over mean requests in the
// server), the weight at which a small change in either moves energy ×
// delay equally (for the energy objective λ = 0). What is left at the
// horizon is charged too: the tokens of the requests above (or below) the
// clock's held batch at its energy per token, and their time in the server
// until they leave (at most planTailS).
//
// The fluid model: with N requests in the server, L output tokens each on
// average, and demand D(t) output tokens/s, dN/dt = (D − τ(f, N))/L, the
// batch running N (admission limits are not modelled: above the largest
// batch fitted τ follows its tangent, as in solveHeld). The horizon is long
// against a request's time in the server (seconds), so a clock's own
// steady cost dominates and the queue now decides between clocks of
// similar steady cost.
//
// The planner chooses among the clocks the steady-state model may choose
// (SLO-safe, data nearby, a standard error within steadySEFactor of the
// smallest), so it never leaves the data or the safe set, and only once
// that model's smallest standard error is within planMaxSE: with a poorly
// determined model it planned the simulated A100 into clocks 400 MHz below
// the best static one, where the data it then gathered kept it. It re-plans
// every planEvery decisions (3 s) and holds its choice in between.

const (
	planHorizonS = 90
	planStepS    = 1
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
	planMaxSE = 0.05
	// planRecentMemory is the discount of the recent arrival rate
	// (~10 windows, 3 s).
	planRecentMemory = 0.9
	// planLengthMemory is the discount of the output length, mean power
	// and mean requests in the server (~1,000 windows).
	planLengthMemory = 0.999
)

// planner holds the queue's state as the planner sees it.
type planner struct {
	inServer float64 // requests in the server at the last window's end
	arrived  float64 // recent arrivals, requests/s (discounted mean)
	arrW     float64
	// Discounted sums of output tokens/s and finished requests/s (their
	// ratio is the output length), power and requests in the server.
	genSum, finSum     float64
	powerSum, queueSum float64
	longW              float64
	choice, left       int // the planned arm and the decisions it is held
	cost               []float64
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
	p.powerSum = planLengthMemory*p.powerSum + o.PowerW
	p.queueSum = planLengthMemory*p.queueSum + n
	p.longW = planLengthMemory*p.longW + 1
}

// outputLen is the mean output tokens per request, and false while unknown.
func (p *planner) outputLen() (float64, bool) {
	if !(p.finSum > 0) || !(p.genSum > 0) || p.longW < 100 {
		return 0, false
	}
	return p.genSum / p.finSum, true
}

// plan returns the arm with the lowest planned cost among the arms whose
// value is finite and whose standard error is within steadySEFactor of
// minSE, and fills p.cost; -1 when the queue is not known.
func (t *gputune) plan(minSE, p, p2 float64) int {
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
	recent := q.arrived / q.arrW * length
	lambda := s.delay * q.powerSum / max(q.queueSum, 1e-9)
	lnCap, capped := s.lnCap()
	best := -1
	for i, v := range s.value {
		q.cost[i] = math.Inf(1)
		if !finite(v) || s.se[i] > steadySEFactor*minSE || (capped && s.lnP[i] > lnCap) {
			continue
		}
		s.coefficients(i)
		offT, offP := s.coeffT[3]*p+s.coeffT[4]*p2, s.coeff[3]*p+s.coeff[4]*p2
		q.cost[i] = s.planCost(q.inServer, recent, demand, length, lambda, offT, offP)
		if finite(q.cost[i]) && (best < 0 || q.cost[i] < q.cost[best]) {
			best = i
		}
	}
	return best
}

// planCost integrates the fluid model at the current arm's coefficients
// (coefficients) from n requests in the server, the demand going from
// recent to demand (output tokens/s), and returns energy + λ·delay over the
// horizon plus the terminal cost.
func (s *steadyModel) planCost(n, recent, demand, length, lambda, offT, offP float64) float64 {
	uSS, lnPSS, _, ok := s.solveHeld(math.Log(demand), offT, offP)
	if !ok {
		return math.Inf(1)
	}
	var cost float64
	decay := math.Exp(-planStepS / planForecastS)
	d := recent
	for range int(planHorizonS / planStepS) {
		tau, lnP, slope := s.rates(n, offT, offP)
		cost += (math.Exp(lnP) + lambda*n) * planStepS
		// Linearised implicit Euler: stable at any step, where the
		// explicit step oscillates once it exceeds the relaxation time.
		dtau := 0.0
		if n > 0 {
			dtau = tau / n * slope
		}
		n = max(n+planStepS*(d-tau)/(length+planStepS*dtau), 0)
		d = demand + (d-demand)*decay
	}
	bSS, pSS := math.Exp(uSS), math.Exp(lnPSS)
	c := s.coeffT
	v := min(max(uSS, math.Log(steadyMinBatch)), s.uMax)
	slope := min(max(c[1]+2*c[2]*v, 0.05), 1.5)
	relax := length * bSS / (demand * slope)
	// What is left: the tokens of the requests above (or below) the held
	// batch at the clock's energy per token, and their time in the server
	// until they leave, counted over planTailS at most.
	excess := n - bSS
	return cost + excess*(length*pSS/demand+lambda*min(relax, planTailS))
}

// rates are the output tokens/s and ln power at n requests running, with
// the current arm's coefficients, extended beyond the fitted batches as
// solveHeld extends them: τ ∝ B below the smallest, along the tangent
// above the largest; power flat below, never falling above.
func (s *steadyModel) rates(n, offT, offP float64) (tau, lnP, slope float64) {
	lo := math.Log(steadyMinBatch)
	c, k := s.coeffT, s.coeff
	u := math.Log(max(n, 1e-9))
	v := min(max(u, lo), s.uMax)
	lnT := c[0] + c[1]*v + c[2]*v*v + offT
	lnP = k[0] + k[1]*v + k[2]*v*v + offP
	slope = min(max(c[1]+2*c[2]*v, 0.05), 1.5)
	if u > s.uMax {
		slope = min(max(c[1]+2*c[2]*s.uMax, 0.05), 1)
		lnT += slope * (u - s.uMax)
		lnP += max(k[1]+2*k[2]*s.uMax, 0) * (u - s.uMax)
	}
	tau = math.Exp(lnT)
	if n < steadyMinBatch {
		tau *= n / steadyMinBatch
		slope = 1
	}
	return tau, lnP, slope
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
	q.choice, q.left = t.plan(minSE, p, p2), planEvery-1
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
