package bandit

import (
	"math"
	"testing"
)

// TestBatchProbeRulesOnUnseenClocks: clocks the model values unable to keep
// up, whose windows never ran at the batch the load needs, are probed: held
// for steadyExploreHold decisions although they lie beyond the exploration
// radius, from the top. A probe whose windows show its clock cannot keep up
// rules out the clocks below it too, so a load that the low clocks cannot
// serve costs a few probes, not one per clock, and leaves no candidate.
func TestBatchProbeRulesOnUnseenClocks(t *testing.T) {
	for _, demand := range []float64{3000, 3500, 4000, 4500} {
		pol, h := readyHeld(t, demand, uint64(demand), 1)
		s := pol.steady
		h.next()
		choice := pol.arms[s.plan.held].SMMHz
		// Every clock below the choice as if its windows had all run at a
		// batch of 1: a value of +Inf there now rests on nothing.
		for i, a := range pol.arms {
			if a.SMMHz < choice {
				s.probe.top[pol.smIdx[i]] = 0
			}
		}
		unable := map[int]bool{}
		highest := 0
		for i, a := range pol.arms {
			if a.SMMHz < choice && math.IsNaN(s.heldU[i]) && pol.safe[i] && s.covered(pol.smIdx[i]) {
				unable[a.SMMHz] = true
				highest = max(highest, a.SMMHz)
			}
		}
		if choice-highest <= pol.cfg.ExploreRadiusMHz ||
			float64(choice-highest) > probeDepthRungs*pol.coldStartRung() {
			t.Fatalf("demand %.0f: the highest clock valued unable to keep up, %d MHz, is not between the exploration radius and the probes' depth below the choice %d MHz",
				demand, highest, choice)
		}
		var probes []int // clocks of the decisions played at an unable clock
		for range 1000 {
			dec := h.next()
			if unable[dec.Arm.SMMHz] {
				if !dec.Explore {
					t.Fatalf("demand %.0f: %d MHz, valued unable to keep up, played as exploit", demand, dec.Arm.SMMHz)
				}
				probes = append(probes, dec.Arm.SMMHz)
			}
		}
		t.Logf("demand %.0f: choice %d MHz; %d clocks valued unable without data (highest %d); decisions played there: %v",
			demand, choice, len(unable), highest, probes)
		if len(probes) == 0 {
			t.Errorf("demand %.0f: no probe of the clocks valued unable to keep up", demand)
		}
		if len(probes) > 3*steadyExploreHold {
			t.Errorf("demand %.0f: %d decisions at clocks that cannot keep up: want at most three probes", demand, len(probes))
		}
		for i, c := range s.probe.cand {
			if c {
				t.Errorf("demand %.0f: %d MHz is still a probe candidate after the probes", demand, pol.arms[i].SMMHz)
			}
		}
	}
}

// TestBatchProbeAboveTheChoice: throughput at a batch rises with the clock,
// so a clock above one that keeps up can keep up too, and a value of "unable
// to keep up" there is the fit's extrapolation beyond the batches its
// windows ran at. Such a clock, within the probes' depth above the choice,
// is a candidate, and the nearest candidate is probed first; one whose
// windows did run at the batch the choice holds, one beyond the depth and
// one the model values are not candidates.
func TestBatchProbeAboveTheChoice(t *testing.T) {
	pol, h := readyHeld(t, 2500, 11, 1)
	s := pol.steady
	h.next()
	best := s.plan.held
	choice := pol.arms[best].SMMHz
	uNeed := s.heldU[best]
	depth := probeDepthRungs * pol.coldStartRung()
	var unseen, seen, far, valued []int // arm indices above the choice
	for i, a := range pol.arms {
		d := float64(a.SMMHz - choice)
		if d <= 0 || !pol.safe[i] || !s.covered(pol.smIdx[i]) || a.MemMHz != pol.arms[best].MemMHz {
			continue
		}
		switch {
		case d > depth:
			far = append(far, i)
		case d > depth/2:
			seen = append(seen, i)
		case d > depth/4:
			unseen = append(unseen, i)
		default:
			valued = append(valued, i)
		}
	}
	if len(unseen) == 0 || len(seen) == 0 || len(far) == 0 || len(valued) == 0 {
		t.Fatalf("choice %d MHz: want covered, safe clocks in every band above it (unseen %d, seen %d, far %d, valued %d)",
			choice, len(unseen), len(seen), len(far), len(valued))
	}
	// The clocks just above the choice keep their values; the bands above
	// them are valued unable to keep up, the nearer of them on windows at
	// small batches only (a band's windows share their neighbours', so the
	// whole band is set).
	for _, band := range [][]int{unseen, seen, far} {
		for _, i := range band {
			s.heldU[i] = math.NaN()
		}
	}
	for _, i := range valued {
		if math.IsNaN(s.heldU[i]) {
			t.Fatalf("%d MHz, just above the choice %d MHz, is valued unable to keep up: the test needs it valued", pol.arms[i].SMMHz, choice)
		}
	}
	for _, i := range unseen {
		for j := max(pol.smIdx[i]-steadyCoverSteps, 0); j <= min(pol.smIdx[i]+steadyCoverSteps, len(s.probe.top)-1); j++ {
			s.probe.top[j] = 0
		}
	}
	for _, i := range append(seen, far...) {
		s.probe.top[pol.smIdx[i]] = uNeed
	}
	pol.markProbes(best)
	// The unseen band's clocks next to the seen band share its windows.
	inner := 0
	for _, i := range unseen {
		if s.probe.localTop(pol.smIdx[i])+probeBatchMargin >= uNeed {
			continue
		}
		inner++
		if !s.probe.cand[i] {
			t.Errorf("%d MHz, above the choice %d MHz, valued unable to keep up on windows at batch 1: not a probe candidate", pol.arms[i].SMMHz, choice)
		}
	}
	if inner == 0 {
		t.Fatalf("choice %d MHz: no clock of the unseen band lies away from the seen band's windows", choice)
	}
	for _, band := range [][]int{seen, far, valued} {
		for _, i := range band {
			if s.probe.cand[i] {
				t.Errorf("%d MHz (choice %d MHz, depth %.0f MHz) is a probe candidate: want none that ran at the needed batch, lies beyond the depth or is valued",
					pol.arms[i].SMMHz, choice, depth)
			}
		}
	}
	pick, ok := pol.pickProbe(best)
	if !ok {
		t.Fatalf("choice %d MHz: no probe picked", choice)
	}
	for i, c := range s.probe.cand {
		if c && pol.arms[i].SMMHz < pol.arms[pick].SMMHz {
			t.Errorf("probe %d MHz picked while %d MHz, nearer the choice %d MHz, is a candidate", pol.arms[pick].SMMHz, pol.arms[i].SMMHz, choice)
		}
	}
}
