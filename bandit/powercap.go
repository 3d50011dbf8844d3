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

// capTrack is the enforced power limit, W (0 while unknown), and per
// distinct core clock the discounted windows locked there and those of
// them a cap held down.
type capTrack struct {
	limitW         float64
	locked, capped []float64
}

func (c *capTrack) reset() {
	c.limitW = 0
	clear(c.locked)
	clear(c.capped)
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
		got := t.highestBelow(i, func(j int) bool { return s.lnP[j] <= lc })
		if got < 0 {
			s.value[i], s.se[i] = math.Inf(1), math.Inf(1)
			continue
		}
		// The lock is worth the clock it gets, and no better: equal values
		// leave the lower clock the choice.
		s.value[i], s.se[i] = s.value[got], s.se[got]
	}
}

// highestBelow is the arm of arm i's memory clock with the highest core
// clock below arm i's whose value is finite and that lets(j) admits; -1
// when there is none.
func (t *gputune) highestBelow(i int, lets func(j int) bool) int {
	s := t.steady
	got := -1
	for j, b := range t.arms {
		if b.MemMHz != t.arms[i].MemMHz || b.SMMHz >= t.arms[i].SMMHz || !finite(s.value[j]) || !lets(j) {
			continue
		}
		if got < 0 || b.SMMHz > t.arms[got].SMMHz {
			got = j
		}
	}
	return got
}

// What a lock gets under a cap that binds now and then. The prediction
// above compares the power at the mean load with the limit; a load that
// varies from window to window meets the cap at its peaks first, and a
// lock above the clock the cap holds its peaks at runs there in those
// windows and higher, at more power per token, in the others. So the
// windows each clock was locked for, and those a cap held down, are
// counted (by the clock locked, not the clock in effect, which a capped
// window reads below its lock), and a lock held down in more than
// capShareMax of its windows is valued as the highest lower clock that is
// not: it buys no more than that clock, and on equal value the lower clock
// is chosen. On the simulated A100 (400 W) under the Poisson load, every
// lock from 1,065 MHz up was held down in 45–67 % of its windows while the
// mean-load prediction put them ~60 W under the limit, and the exploit
// clock sat at 1,125–1,185 MHz against a best static 1,050
// (docs/gputune-policy.md, 2026-12-07).
const (
	// capShareMax: at 0.2 the pessimistic parameter sets, whose optimum
	// runs capped in part of its windows, lost 0.3–0.4 point; at 0.5 the
	// A100 rows kept most of their loss.
	capShareMax = 0.35
	// capShareMin is how many (discounted) windows a lock needs before its
	// share is judged.
	capShareMin = 10
)

// countLock counts a window locked at clock index lock (-1: none), capped
// or not.
func (c *capTrack) countLock(lock int, capped bool) {
	if lock < 0 || lock >= len(c.locked) {
		return
	}
	for i := range c.locked {
		c.locked[i] *= steadyForgetting
		c.capped[i] *= steadyForgetting
	}
	c.locked[lock]++
	if capped {
		c.capped[lock]++
	}
}

// heldDown reports whether a cap held clock index sm down in more than
// capShareMax of the windows it was locked for.
func (c *capTrack) heldDown(sm int) bool {
	n := c.locked[sm]
	return n >= capShareMin && c.capped[sm] > capShareMax*n
}

// applyCapShare values each arm that a cap held down (heldDown) as the
// highest lower arm of the same memory clock that it did not; an arm with
// no such arm below it keeps its value.
func (t *gputune) applyCapShare() {
	s := t.steady
	for i := range t.arms {
		if !finite(s.value[i]) || !s.heldDown(t.smIdx[i]) {
			continue
		}
		got := t.highestBelow(i, func(j int) bool { return !s.heldDown(t.smIdx[j]) })
		if got >= 0 {
			s.value[i], s.se[i] = s.value[got], s.se[got]
		}
	}
}
