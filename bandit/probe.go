package bandit

import "math"

// Batch probes: exploration of the clocks the steady-state model rules out
// without having seen them at the batch the load needs.
//
// The throughput fit shares its batch terms across clocks through the clock
// polynomial, so at a clock whose windows all ran at small batches the
// relation at the batch a heavier load needs is extrapolated. On the phases
// workload the cold-start design runs in the prefill-heavy first minute
// (batches of 1–8, steps mostly prefill); there ln τ bends down in ln B,
// and at the decode phase's demand every clock up to ~1,300 MHz is valued
// unable to keep up (+Inf) and is never played again, while a static 945
// MHz serves that phase at batches of ~40. Exploration within
// exploreRadius of the choice does not reach those clocks, and no
// standard error says that the model does not know: the value is +Inf, not
// uncertain.
//
// A probe holds such a clock for steadyExploreHold decisions. The clock
// inherits the running batch of the clock before it, so its windows measure
// the throughput at the batch the load needs, and afterwards its value
// rests on windows at that batch (though the fit's tangent beyond them can
// still carry a clock that falls short to a finite value). Probes take
// the place of the uniform draws while candidates exist; a model that rules
// out no clock it has not seen at the needed batch explores as before.
type batchProbe struct {
	top  []float64 // per distinct core clock: the largest ln batch fitted there
	cand []bool    // per arm: a probe candidate (markProbes)
}

const (
	// probeBatchMargin (ln) is how far below the batch the choice holds a
	// clock's largest fitted batch must lie for its +Inf to count as
	// unseen: half the batch.
	probeBatchMargin = math.Ln2
	// probeDepthRungs is how far below the choice, in the cold-start
	// design's rungs (240 MHz on the H100), a probe may go. A probe far
	// below the choice measures a clock at a batch it cannot serve, and
	// its windows bend the fit's shared clock polynomial: with 4 rungs, at
	// three times the conversation trace's rate (pessimistic parameters,
	// seed 46), probes at 795–960 MHz made 1,150–1,250 MHz look able to
	// keep up, the choice settled there against a best static 1,455 MHz
	// and the run lost 14 points. The choice moves down as probes show
	// lower clocks keeping up, and the probes descend with it.
	probeDepthRungs = 2
)

func newBatchProbe(arms, clocks int) batchProbe {
	return batchProbe{top: make([]float64, clocks), cand: make([]bool, arms)}
}

func (b *batchProbe) reset() {
	b.trustAll(math.Inf(-1))
	clear(b.cand)
}

// trustAll sets every clock's largest fitted batch to u. A restored model
// does not carry per-clock batch extents; it is given its largest batch
// everywhere, so that it probes only where later windows show a load
// heavier than any it was saved under.
func (b *batchProbe) trustAll(u float64) {
	for i := range b.top {
		b.top[i] = u
	}
}

// fitted records a window fitted at distinct core clock sm with ln batch u.
func (b *batchProbe) fitted(sm int, u float64) {
	if sm >= 0 && sm < len(b.top) {
		b.top[sm] = max(b.top[sm], u)
	}
}

// localTop is the largest ln batch fitted within steadyCoverSteps of clock
// sm: the neighbourhood whose windows make an arm covered.
func (b *batchProbe) localTop(sm int) float64 {
	top := math.Inf(-1)
	for j := max(sm-steadyCoverSteps, 0); j <= min(sm+steadyCoverSteps, len(b.top)-1); j++ {
		top = max(top, b.top[j])
	}
	return top
}

// markProbes marks the probe candidates against the chosen arm best: the
// covered, safe arms within probeDepthRungs of its core clock valued unable
// to keep up (solved batch NaN) although their windows never ran at half
// the batch the choice holds. Throughput at a batch rises with the clock:
// below the choice that batch is one any lower clock needs at least, and a
// clock below one that its own data show unable to keep up cannot either,
// so it is not a candidate (a probe after which its clock is still valued
// unable rules out every clock below it); above the choice, a clock valued
// unable at all is the fit's extrapolation, since the choice keeps up. On
// the A100's conversation trace, whose first minute is light, the design's
// windows at 855–1,035 MHz ran at batches of a few requests; when the load
// rose those clocks were valued unable while 705 MHz, 150 MHz below them,
// held ~60 requests, and the choice stayed there for three minutes
// (2026-12-08, docs/gputune-policy.md).
func (t *gputune) markProbes(best int) {
	s := t.steady
	p := &s.probe
	uNeed, choice := s.heldU[best], t.arms[best].SMMHz
	depth := probeDepthRungs * t.coldStartRung()
	floor := math.MinInt
	for i, a := range t.arms {
		p.cand[i] = false
		if !t.safe[i] || !s.covered(t.smIdx[i]) || a.SMMHz == choice || math.Abs(float64(a.SMMHz-choice)) > depth ||
			!math.IsNaN(s.heldU[i]) {
			continue
		}
		if p.localTop(t.smIdx[i])+probeBatchMargin < uNeed {
			p.cand[i] = true
		} else if a.SMMHz < choice {
			floor = max(floor, a.SMMHz)
		}
	}
	for i, a := range t.arms {
		if p.cand[i] && a.SMMHz <= floor {
			p.cand[i] = false
		}
	}
}

// pickProbe returns the candidate whose core clock is nearest the choice's (the
// higher one on a tie), and false when there is none: below the choice the
// probes descend from it, each one ruling on the clocks within
// steadyCoverSteps of it.
func (t *gputune) pickProbe(choice int) (int, bool) {
	from := t.arms[choice].SMMHz
	pick, pickD := -1, math.MaxInt
	for i, c := range t.steady.probe.cand {
		if !c || !t.safe[i] {
			continue
		}
		f := t.arms[i].SMMHz
		d := max(f-from, from-f)
		if d < pickD || (d == pickD && f > t.arms[pick].SMMHz) {
			pick, pickD = i, d
		}
	}
	return pick, pick >= 0
}
