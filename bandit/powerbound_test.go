package bandit

import (
	"math"
	"testing"
)

// TestPowerBoundsByOtherClocks: a clock whose held power the fits put above
// what a higher clock, locked for windows of its own, draws at the same
// batch is valued at that power, and one put below what a lower clock
// draws is raised to it, each value moving with its power; afterwards no
// valued clock's power lies outside its bounds. Clocks without windows of
// their own bound nothing.
func TestPowerBoundsByOtherClocks(t *testing.T) {
	pol, h := readyHeld(t, 2500, 5, 1)
	s := pol.steady
	h.next() // values every covered arm
	lo := s.uLow()
	// bounds are arm i's power bounds from the arms with windows of their
	// own: the most of the lower clocks' and the least of the higher ones'.
	bounds := func(i int) (most, least float64) {
		most, least = math.Inf(-1), math.Inf(1)
		for j, b := range pol.arms {
			if j == i || !finite(s.value[j]) || s.locked[pol.smIdx[j]] < powerBoundWindows {
				continue
			}
			pw, _ := s.powerAt[j].at(s.heldU[i], lo, s.uMax)
			if b.SMMHz < pol.arms[i].SMMHz {
				most = max(most, pw)
			} else {
				least = min(least, pw)
			}
		}
		return most, least
	}
	// low is a valued clock with a higher bound, high one with a lower
	// bound under its higher one (so the two do not conflict there).
	low, high := -1, -1
	for i := range pol.arms {
		if !finite(s.value[i]) {
			continue
		}
		most, least := bounds(i)
		if low < 0 && finite(least) {
			low = i
		}
		if finite(most) && (!finite(least) || least > most+1) {
			high = i
		}
	}
	if low < 0 || high < 0 || low == high {
		t.Fatalf("setup: no pair of valued clocks to bound (low %d, high %d)", low, high)
	}
	_, lowBound := bounds(low)
	highBound, _ := bounds(high)
	set := func(i int, pw float64) float64 {
		s.value[i] += pw - s.lnP[i]
		s.lnP[i] = pw
		return s.value[i]
	}
	// The fits put low 0.5 (ln) above its bound and high 0.5 below, as
	// extrapolations to batches their windows never ran at would.
	lowBefore, highBefore := set(low, lowBound+0.5), set(high, highBound-0.5)
	pol.boundPower()
	if math.Abs(s.lnP[low]-lowBound) > 1e-12 || math.Abs(lowBefore-s.value[low]-0.5) > 1e-12 {
		t.Errorf("%d MHz: ln power %.4f and value change %+.4f after the bounds; want %.4f and −0.5",
			pol.arms[low].SMMHz, s.lnP[low], s.value[low]-lowBefore, lowBound)
	}
	if math.Abs(s.lnP[high]-highBound) > 1e-12 || math.Abs(s.value[high]-highBefore-0.5) > 1e-12 {
		t.Errorf("%d MHz: ln power %.4f and value change %+.4f after the bounds; want %.4f and +0.5",
			pol.arms[high].SMMHz, s.lnP[high], s.value[high]-highBefore, highBound)
	}
	for i := range pol.arms {
		if !finite(s.value[i]) {
			continue
		}
		most, least := bounds(i)
		if pw := s.lnP[i]; pw > least+1e-12 || pw < min(most, least)-1e-12 {
			t.Errorf("%d MHz: ln power %.4f outside its bounds [%.4f, %.4f]", pol.arms[i].SMMHz, pw, most, least)
		}
	}

	// Without windows of their own, the other clocks bound nothing.
	locked := append([]float64(nil), s.locked...)
	clear(s.locked)
	lowBefore, highBefore = set(low, lowBound+0.5), set(high, highBound-0.5)
	pol.boundPower()
	if s.value[low] != lowBefore || s.value[high] != highBefore {
		t.Errorf("bounded by clocks with no windows of their own: %d MHz value %+.4f, %d MHz %+.4f",
			pol.arms[low].SMMHz, s.value[low]-lowBefore, pol.arms[high].SMMHz, s.value[high]-highBefore)
	}
	copy(s.locked, locked)
}
