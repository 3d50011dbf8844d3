package bandit

import "math"

// Cold start. Until the steady-state model has fitted its first
// steadyMinWindows windows, gputune plays a small design of held clocks
// around a prior centre instead of letting the per-window rewards explore
// the whole range: a far clock explored for one window costs up to 3.5× the
// optimum's EDP per token (345 MHz on the simulated H100), and the rewards'
// global exploration made the first minute 15–19 % worse than the best
// static clock (2026-12-07, docs/gputune-policy.md).
//
// The prior is what a deployment knows before measuring: the supported clock
// table (NVML) and that LLM decode is memory-bound, so its EDP optimum lies
// well inside the range, below the boost clock where power grows as f·V²
// for little extra rate, and above the low clocks where the clock-bound part
// of a step (kernels at low arithmetic intensity, launches, sampling)
// dominates. Where inside is not known without measuring, so the centre is
// the middle of the supported range and the design's first pass spans ±4
// rungs around it, each held steadyExploreHold decisions. A rung is the
// same share of the GPU's supported range on every GPU (coldStartRung):
// 120 MHz on the H100's 345–1,980 MHz, 88 MHz on the A100's 210–1,410.
// Operator bounds on the clock (clock_min_mhz, clock_max_mhz) move the
// centre to their middle and hold the design's clocks inside them, but do
// not shrink the rung: the width of the objective's curve is the GPU's,
// and a design squeezed into a bounded range lost the optimum near its
// edge (3× rate within 900–1,500 MHz: +1.2 % → +2.8 % against
// static-best, 8 seeds). The steady-state model then chooses among the
// clocks it has data near, and its local exploration walks the rest of the
// way.
//
// The passes after the first play −2 to +3 rungs only. Below the optimum
// the objective rises steeply, because the queue grows as the clock falls
// short of the load; above it, only with power: on the simulated H100 the
// design's 810 MHz costs +9 % of the best static clock's EDP on the
// conversation load and +89 % at three times that load, its 1,530 MHz +11
// and +1 % (bench, seed 1, 2026-12-07). One pass over the whole ladder
// keeps the span the fits need. Over 16 seeds and 19 bench rows
// (2026-12-07, docs/gputune-policy.md) this took the 3× rate rows' gap to
// static-best from +2.3 / +5.5 / +4.5 % to +1.8 / +1.8 / +2.0 % and the
// conversation trace's from +0.59 to +0.52 %; keeping the top rung in the
// later passes cost the conversation trace (nominal, optimistic, tight
// SLOs) 0.2–0.3 point more. On the A100 rungs of 120 MHz put the later
// passes on 570–1,170 MHz, and 570 costs ~+90 % of the EDP of the optimum
// near 1,050; its range-scaled rungs (later passes on 630–1,080 MHz) took
// its four bench rows' mean gap to static-best from +2.45 to +1.81 % over
// 32 seeds (2026-12-07, docs/gputune-policy.md).

const (
	// The design's clocks are coldStartRungMHz apart on a supported range
	// of coldStartRangeMHz (the H100's), the same share of any other.
	coldStartRungMHz, coldStartRangeMHz = 120, 1635
	// coldStartBlindRounds: a server that has given no operating point
	// after this many windows exports none the model can use, and the
	// rewards decide as before.
	coldStartBlindRounds = 20
)

// coldStartRungs is the design's first pass, in rungs from the centre:
// both sides early, so that the first fitted windows bracket the centre.
// coldStartLater is every later pass.
var (
	coldStartRungs = [...]int{0, -1, 1, -2, 2, -3, 3, -4, 4}
	coldStartLater = [...]int{0, -1, 1, -2, 2, 3}
)

// coldStart returns the arm to play while the steady-state model is not
// ready, and false when the design does not apply (the model is ready, the
// server gives no operating points, or no arm is safe).
func (t *gputune) coldStart() (int, bool) {
	s := t.steady
	if s.ready() || (s.meanW == 0 && t.round >= coldStartBlindRounds) {
		return -1, false
	}
	if i, ok := t.continueHold(); ok {
		return i, true
	}
	rung := coldStartRungs[s.design%len(coldStartRungs)]
	if later := s.design - len(coldStartRungs); later >= 0 {
		if later%len(coldStartLater) == 0 {
			if later > 0 && s.windows-s.passStart < len(coldStartLater) {
				// A later pass fitted (almost) nothing: a power cap or a
				// slowdown holds its clocks down. The next pass goes over
				// the whole ladder again, whose low rungs the cap lets run.
				s.design = 0
				return t.coldStart()
			}
			s.passStart = s.windows
		}
		rung = coldStartLater[later%len(coldStartLater)]
	}
	s.design++
	return t.startRung(rung)
}

// startRung starts holding the safe arm nearest to the design's clock rung
// rungs from the centre, and records the demand level it runs at; false
// when no arm is safe.
func (t *gputune) startRung(rung int) (int, bool) {
	i := t.designArm(rung)
	if i < 0 {
		return -1, false
	}
	t.steady.coverLevel()
	t.steady.startHold(i)
	return i, true
}

// designArm is the safe arm nearest to the design's clock rung rungs from
// the centre; -1 when no arm is safe.
func (t *gputune) designArm(rung int) int {
	return t.nearestSafe((t.fmin+t.fmax)/2 + float64(rung)*t.coldStartRung())
}

// coldStartRung is the spacing of the design's clocks, MHz.
func (t *gputune) coldStartRung() float64 {
	span := t.fmax - t.fmin
	if t.cfg.ClockRangeMHz > 0 {
		span = float64(t.cfg.ClockRangeMHz)
	}
	return span * coldStartRungMHz / coldStartRangeMHz
}

// nearestSafe is the safe arm whose core clock is nearest to f, the higher
// one on a tie (a higher clock is the safer side for latency); -1 when no
// arm is safe.
func (t *gputune) nearestSafe(f float64) int {
	best, bestD := -1, math.Inf(1)
	for i, a := range t.arms {
		if !t.safe[i] {
			continue
		}
		if d := math.Abs(float64(a.SMMHz) - f); d <= bestD {
			best, bestD = i, d
		}
	}
	return best
}
