package bandit

import "math"

// Power never falls as the clock rises. At one batch and prefill load a
// GPU at a higher core clock draws at least the power it draws at a lower
// one (the dynamic part grows as f·V², and nothing else falls), so a
// clock's held power lies between what the lower clocks of its memory
// clock draw at the same batch and what the higher ones draw. The fits
// share their clock polynomials, and at a clock whose windows ran at other
// batches and loads the power at its held batch is an extrapolation: on
// the phases workload the design's low clocks ran in the prefill-heavy
// first minute (batches of 2–9), and in a decode phase the model put
// 960 MHz at 659 W at a held batch of 24, and 1,200 MHz, whose windows ran
// at batches up to 41, at 346 W at a batch of 26 (docs/gputune-policy.md,
// 2026-12-08). Where the bounds conflict, the higher clocks' bound wins:
// it is the one that keeps a clock from looking worse than it is.
//
// Only clocks with windows of their own bound the others: a clock that
// only borrows its neighbours' data is an extrapolation too, and the
// minimum over extrapolations is biased low (on the A100 under the
// optimistic parameters, 1,185 MHz, never locked, predicted 11–24 % less
// power than 900–1,035 MHz at their held batches, and a bound by every
// valued clock took the exploit clock from 1,035–1,095 MHz to 885–930,
// +1.2 → +5.7 % against static-best, seed 7).

// powerBoundWindows is how many (discounted) windows a clock must have
// been locked for before its predicted power bounds a lower clock's.
const powerBoundWindows = 10

// boundPower moves each valued arm's held ln power, and its value with it,
// into the bounds that the core clocks of its memory clock with
// powerBoundWindows windows of their own predict at the arm's held batch:
// at least the most of the lower ones, at most the least of the higher
// ones. objective must have filled s.powerAt for the valued arms.
func (t *gputune) boundPower() {
	s := t.steady
	bounds := s.bounds[:0]
	for j := range t.arms {
		if finite(s.value[j]) && s.locked[t.smIdx[j]] >= powerBoundWindows {
			bounds = append(bounds, j)
		}
	}
	if len(bounds) == 0 {
		return
	}
	lo := s.uLow()
	for i, a := range t.arms {
		if !finite(s.value[i]) {
			continue
		}
		u := s.heldU[i]
		most, least := math.Inf(-1), math.Inf(1)
		for _, j := range bounds {
			b := t.arms[j]
			if b.MemMHz != a.MemMHz || b.SMMHz == a.SMMHz {
				continue
			}
			if pw, _ := s.powerAt[j].at(u, lo, s.uMax); b.SMMHz < a.SMMHz {
				most = max(most, pw)
			} else {
				least = min(least, pw)
			}
		}
		if pw := min(max(s.lnP[i], most), least); pw != s.lnP[i] {
			s.value[i] += pw - s.lnP[i]
			s.lnP[i] = pw
		}
	}
}
