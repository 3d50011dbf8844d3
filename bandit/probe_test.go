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
