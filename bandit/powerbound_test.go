package bandit

import (
	"math"
	"testing"
)

// TestPowerBoundByHigherClocks: a clock whose held power the fits put above
// what a higher clock, locked for windows of its own, draws at the same
// batch is valued at that higher clock's power, and its value falls by as
// much; a higher clock without windows of its own bounds nothing.
func TestPowerBoundByHigherClocks(t *testing.T) {
	pol, h := readyHeld(t, 2500, 5, 1)
	s := pol.steady
	h.next() // values every covered arm
	choice := s.plan.held
	low := -1
	for i, a := range pol.arms {
		if a.SMMHz < pol.arms[choice].SMMHz && finite(s.value[i]) && (low < 0 || a.SMMHz > pol.arms[low].SMMHz) {
			low = i
		}
	}
	if low < 0 || s.locked[pol.smIdx[choice]] < powerBoundWindows {
		t.Fatalf("no valued clock below the choice %d MHz, or the choice has fewer than %d windows of its own",
			pol.arms[choice].SMMHz, powerBoundWindows)
	}
	lo := s.uLow()
	bound := s.powerAt[choice].at(s.heldU[low], lo, s.uMax)
	for i, a := range pol.arms {
		if a.SMMHz > pol.arms[low].SMMHz && finite(s.value[i]) {
			bound = min(bound, s.powerAt[i].at(s.heldU[low], lo, s.uMax))
		}
	}
	// The fits put the lower clock's power 0.5 (ln) above the bound, as an
	// extrapolation to a batch its windows never ran at would.
	raise := func() (value float64) {
		s.value[low] += bound + 0.5 - s.lnP[low]
		s.lnP[low] = bound + 0.5
		return s.value[low]
	}
	before := raise()
	pol.boundPower()
	if math.Abs(s.lnP[low]-bound) > 1e-12 || math.Abs(before-s.value[low]-0.5) > 1e-12 {
		t.Errorf("%d MHz: ln power %.4f and value change %.4f after the bound; want %.4f and −0.5",
			pol.arms[low].SMMHz, s.lnP[low], s.value[low]-before, bound)
	}

	// Without windows of their own, the higher clocks bound nothing.
	locked := append([]float64(nil), s.locked...)
	for i, a := range pol.arms {
		if a.SMMHz > pol.arms[low].SMMHz {
			s.locked[pol.smIdx[i]] = 0
		}
	}
	before = raise()
	pol.boundPower()
	if s.value[low] != before || s.lnP[low] != bound+0.5 {
		t.Errorf("%d MHz: bounded by clocks with no windows of their own (ln power %.4f, want %.4f)",
			pol.arms[low].SMMHz, s.lnP[low], bound+0.5)
	}
	copy(s.locked, locked)
}
