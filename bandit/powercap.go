package bandit

import "math"

// Power caps. Under a power cap the GPU holds its clock below the lock, at
// the clock where its power meets the cap, and the clock in effect follows
// the load. Those windows are not fitted (steady.go): a window whose clock
// moved within it is not one of a clock held. A clock that the cap always
// holds down gets no data, and a lock above the cap's clock was valued as if
// it ran at the locked clock. Now each lock's predicted power at its held
// batch is compared with the GPU's enforced power limit (NVML), and a lock
// over it is valued as the clock it really gets: the highest clock of the
// same memory clock whose predicted power is within the limit. A lock above
// that clock buys nothing and, on equal value, the lower clock is chosen.

// capTrack is the enforced power limit, W; 0 while unknown.
type capTrack struct {
	limitW float64
}

// lnCap is the log of the power limit, and false when it is unknown.
func (c *capTrack) lnCap() (float64, bool) {
	if !(c.limitW > 0) {
		return 0, false
	}
	return math.Log(c.limitW), true
}

// applyCap replaces the value of each arm whose predicted power is over the
// cap by the value of the clock that lock would get (see above); an arm
// with no such clock below it keeps +Inf (unknown).
func (t *gputune) applyCap() {
	s := t.steady
	lc, ok := s.lnCap()
	if !ok {
		return
	}
	for i := range t.arms {
		if !finite(s.value[i]) || !(s.lnP[i] > lc) {
			continue
		}
		got := -1
		for j, b := range t.arms {
			if b.MemMHz != t.arms[i].MemMHz || b.SMMHz >= t.arms[i].SMMHz || !finite(s.value[j]) || !(s.lnP[j] <= lc) {
				continue
			}
			if got < 0 || b.SMMHz > t.arms[got].SMMHz {
				got = j
			}
		}
		if got < 0 {
			s.value[i], s.se[i] = math.Inf(1), math.Inf(1)
			continue
		}
		// The lock is worth the clock it gets, and no better: equal values
		// leave the lower clock the choice.
		s.value[i], s.se[i] = s.value[got], s.se[got]
	}
}
