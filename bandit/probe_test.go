package bandit

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestBatchProbeRulesOnUnseenClocks: a clock the model values unable to
// keep up, whose windows never ran at the batch the load needs, is probed:
// held for steadyExploreHold decisions although it lies beyond the
// exploration radius, highest such clock first. Once the probe's windows
// show it truly cannot keep up, it and every clock below it stop being
// candidates, so a load that the low clocks cannot serve costs one probe,
// not one per clock.
func TestBatchProbeRulesOnUnseenClocks(t *testing.T) {
	env := &heldEnv{demand: 2500, rng: rand.New(rand.NewPCG(2500, 7))}
	env.batch = env.heldBatch(1980)
	pol := newSteadyPolicy(t, 1)
	h := &heldStep{pol: pol, env: env, steady: true}
	for range 1500 {
		h.next()
	}
	s := pol.steady
	if !s.ready() {
		t.Fatal("the model is not ready after 1,500 windows")
	}
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
	for i, a := range pol.arms {
		if a.SMMHz < choice && math.IsNaN(s.heldU[i]) && pol.safe[i] && s.covered(pol.smIdx[i]) &&
			float64(a.SMMHz) >= float64(choice)-probeDepthRungs*pol.coldStartRung() {
			unable[a.SMMHz] = true
		}
	}
	if len(unable) == 0 {
		t.Fatalf("no covered clock below the choice %d MHz is valued unable to keep up at %.0f tok/s", choice, env.demand)
	}
	highest := 0
	for f := range unable {
		highest = max(highest, f)
	}
	var probes []int // clocks of the decisions played at an unable clock
	for range 1000 {
		dec := h.next()
		if unable[dec.Arm.SMMHz] {
			if !dec.Explore {
				t.Fatalf("%d MHz, valued unable to keep up, played as exploit", dec.Arm.SMMHz)
			}
			probes = append(probes, dec.Arm.SMMHz)
		}
	}
	t.Logf("choice %d MHz; %d clocks valued unable without data; decisions played there: %v", choice, len(unable), probes)
	if len(probes) == 0 {
		t.Fatalf("no probe of the clocks valued unable to keep up (highest %d MHz, %d MHz below the choice; exploration radius %d)",
			highest, choice-highest, pol.cfg.ExploreRadiusMHz)
	}
	if probes[0] != highest {
		t.Errorf("first probe at %d MHz, want the highest candidate %d", probes[0], highest)
	}
	if len(probes) > steadyExploreHold {
		t.Errorf("%d decisions at clocks that cannot keep up (%v): want one probe to rule them all out", len(probes), probes)
	}
	for i, c := range s.probe.cand {
		if c {
			t.Errorf("%d MHz is still a probe candidate after the probes", pol.arms[i].SMMHz)
		}
	}
}
