package bandit

import (
	"math"
	"math/rand/v2"
	"testing"
)

// queueEnv is heldEnv's GPU with a queue: requests arrive (Poisson, at a
// rate the test sets), each wants queueLen output tokens, and those in the
// server share the decode steps, so the batch is whatever the arrivals and
// the clock leave in it. It reports what the control loop passes, arrivals
// and completions included, and keeps the energy and request-seconds the
// run's objective is made of.
type queueEnv struct {
	heldEnv
	rate     float64 // arrivals, requests/s
	n        float64 // requests in the server
	energyJ  float64
	delayS   float64 // request-seconds in the server
	tokens   float64
	recorded bool
}

const (
	queueLen     = 200 // output tokens per request
	queueWindowS = 0.3
)

func (e *queueEnv) window(f float64, switched bool) Steady {
	arrived := float64(poisson(e.rng, e.rate*queueWindowS))
	before := e.n
	e.n += arrived
	var tau, step float64
	if e.n > 0 {
		step = e.step(f, e.n) * math.Exp(0.05*e.rng.NormFloat64())
		tau = e.n / step
	}
	served := min(tau*queueWindowS, e.n*queueLen)
	finished := served / queueLen
	e.n -= finished
	p := e.power(f, e.n) * math.Exp(0.02*e.rng.NormFloat64())
	if e.recorded {
		e.energyJ += p * queueWindowS
		e.delayS += (before + e.n) / 2 * queueWindowS
		e.tokens += served
	}
	return Steady{Batch: (before + e.n) / 2, GenTokS: served / queueWindowS, PowerW: p, StepS: step,
		Switched: switched, ArrivedPerS: arrived / queueWindowS, FinishedPerS: finished / queueWindowS}
}

// objective is the run's EDP per token over the recorded windows.
func (e *queueEnv) objective() float64 {
	return e.energyJ * e.delayS / (e.tokens * e.tokens)
}

func poisson(rng *rand.Rand, mean float64) int {
	if mean > 30 {
		return max(int(math.Round(mean+math.Sqrt(mean)*rng.NormFloat64())), 0)
	}
	l, k, p := math.Exp(-mean), 0, 1.0
	for {
		p *= rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// burstRate is a load of 10 s at high rate and 20 s at low, repeated.
func burstRate(window int) float64 {
	if window%100 < 33 {
		return 16
	}
	return 2
}

// runQueue drives pol (or, with pol nil, the clock static) through n
// windows of rate(window) and returns the objective of the last half.
func runQueue(t *testing.T, pol *gputune, static int, n int, seed uint64, rate func(int) float64) float64 {
	t.Helper()
	env := &queueEnv{heldEnv: heldEnv{rng: rand.New(rand.NewPCG(seed, 11))}}
	var scores []ArmScore
	prev := 0
	x := []float64{0, 1}
	for w := range n {
		env.rate = rate(w)
		env.recorded = w >= n/2
		f := static
		var dec Decision
		if pol != nil {
			dec, scores = pol.Decide(x, nil, scores)
			f = dec.Arm.SMMHz
		}
		st := env.window(float64(f), f != prev)
		prev = f
		if pol != nil {
			pol.Update(Observation{Arm: dec.Arm, Context: x, Reward: 0, TTFT: math.NaN(), TPOT: math.NaN(), Steady: st})
		}
	}
	return env.objective()
}

// TestPlanRaisesClockForBacklog: the planner values a clock on the queue
// it sees (and the decision names the steady-state choice it returns to). With many more requests in the server than the held batch and
// arrivals above the mean it plans a higher clock than the steady-state
// choice; with the server nearly empty and nothing arriving, not a higher
// one.
func TestPlanRaisesClockForBacklog(t *testing.T) {
	pol := newSteadyPolicy(t, 1)
	runQueue(t, pol, 0, 4000, 5, func(int) float64 { return 7 })
	s := pol.steady
	q := &s.plan
	dec, _ := pol.Decide([]float64{0, 1}, nil, make([]ArmScore, 0, len(pol.arms)))
	minSE := math.Inf(1)
	for i, v := range s.value {
		if finite(v) {
			minSE = min(minSE, s.se[i])
		}
	}
	steadyBest := steadyChoice(pol, minSE)
	if steadyBest < 0 {
		t.Fatal("the steady-state model chose no arm after 4,000 windows")
	}
	if dec.Held != pol.arms[steadyBest] {
		t.Errorf("the decision names %+v as the steady-state choice, want %+v", dec.Held, pol.arms[steadyBest])
	}
	p, p2 := s.prefill()
	held := q.inServer
	q.inServer, q.arrived = 4*held, 3*7*q.arrW
	burst := pol.plan(steadyBest, minSE, p, p2)
	q.inServer, q.arrived = 0.1*held, 0
	quiet := pol.plan(steadyBest, minSE, p, p2)
	f := func(i int) int { return pol.arms[i].SMMHz }
	t.Logf("steady choice %d MHz (held %.1f requests); planned for a backlog %d MHz, for an empty server %d MHz",
		f(steadyBest), held, f(burst), f(quiet))
	if burst < 0 || f(burst) <= f(steadyBest) {
		t.Errorf("backlog: planned arm %d, want a clock above the steady choice %d MHz", burst, f(steadyBest))
	}
	if quiet < 0 || f(quiet) > f(steadyBest) {
		t.Errorf("empty server: planned arm %d, want no clock above the steady choice %d MHz", quiet, f(steadyBest))
	}
}

// TestPlanFollowsBursts: on a load of bursts (10 s at 8× the rate of the
// 20 s between), the planned policy's objective over its second half is
// below that of the same policy holding the steady-state choice, and the
// best static clock's is reported beside them.
func TestPlanFollowsBursts(t *testing.T) {
	const n = 6000
	var planned, held float64
	for seed := uint64(1); seed <= 3; seed++ {
		planned += runQueue(t, newSteadyPolicy(t, seed), 0, n, seed, burstRate) / 3
		pol := newSteadyPolicy(t, seed)
		pol.steady.plan.off = true
		held += runQueue(t, pol, 0, n, seed, burstRate) / 3
	}
	best, bestJ := 0, math.Inf(1)
	for _, a := range envArms() {
		if a.SMMHz%60 != 0 {
			continue
		}
		var j float64
		for seed := uint64(1); seed <= 3; seed++ {
			j += runQueue(t, nil, a.SMMHz, n, seed, burstRate) / 3
		}
		if j < bestJ {
			best, bestJ = a.SMMHz, j
		}
	}
	t.Logf("objective over the second half, mean of 3 seeds: planned %.4g, steady choice held %.4g (%+.1f %%), best static %d MHz %.4g (planned %+.1f %%)",
		planned, held, 100*(held/planned-1), best, bestJ, 100*(planned/bestJ-1))
	if !(planned < held) {
		t.Errorf("planned objective %.4g, want below the steady choice's %.4g", planned, held)
	}
}

// TestPlanOutputLengthFollowsTheMix: the output length the plan drains the
// queue with holds steady while the load does, and follows a change of the
// requests' mix once the change detector has raised its alarm (shorten).
// After ~5 minutes of requests of 600 output tokens, 20 s of requests of 18
// leave it near 600 without an alarm, and below 3× the new length after
// one.
func TestPlanOutputLengthFollowsTheMix(t *testing.T) {
	for _, alarm := range []bool{false, true} {
		s := newSteadyPolicy(t, 1).steady
		q := &s.plan
		q.reset()
		window := func(finished, length float64) {
			q.observe(Steady{Batch: 30, GenTokS: finished * length, PowerW: 300, FinishedPerS: finished, ArrivedPerS: finished})
		}
		for range 1000 {
			window(5.5, 600)
		}
		if l, ok := q.outputLen(); !ok || math.Abs(l-600) > 1 {
			t.Fatalf("after 1,000 windows of 600-token requests: length %.1f (known %v), want 600", l, ok)
		}
		if alarm {
			s.shorten()
		}
		for range 67 {
			window(3.3, 18)
		}
		l, ok := q.outputLen()
		t.Logf("alarm %v: output length 20 s after the mix changed from 600 to 18 tokens: %.1f", alarm, l)
		switch {
		case !ok:
			t.Errorf("alarm %v: output length unknown", alarm)
		case alarm && !(l < 3*18):
			t.Errorf("after an alarm: output length %.1f, want below %d", l, 3*18)
		case !alarm && !(l > 500):
			t.Errorf("without an alarm: output length %.1f, want above 500 (a steady load's length is averaged over ~1,000 windows)", l)
		}
	}
}

// TestDecideAllocatesNothing: once warm, a decision and its update (the
// steady-state model and the planner active, 110 and 220 arms) allocate
// nothing, as Policy.Decide promises.
func TestDecideAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	for _, mems := range [][]int{{0}, {1593, 2619}} {
		pol, _ := plannedPolicy(t, mems)
		env := &queueEnv{heldEnv: heldEnv{rng: rand.New(rand.NewPCG(5, 6))}, rate: 7}
		x := []float64{0, 1}
		scores := make([]ArmScore, 0, len(pol.arms))
		prev := 0
		step := func() {
			var d Decision
			d, scores = pol.Decide(x, nil, scores)
			st := env.window(float64(d.Arm.SMMHz), d.Arm.SMMHz != prev)
			prev = d.Arm.SMMHz
			pol.Update(Observation{Arm: d.Arm, Context: x, TTFT: math.NaN(), TPOT: math.NaN(), Steady: st})
		}
		if allocs := testing.AllocsPerRun(200, step); allocs != 0 {
			t.Errorf("%d arms: %.2f allocations per decision and update, want 0", len(pol.arms), allocs)
		}
		if pol.steady.plan.choice < 0 {
			t.Errorf("%d arms: the planner made no plan; the test measured the steady-state model only", len(pol.arms))
		}
	}
}
