package control

import "github.com/gputune/gputune/bandit"

// exploreBand keeps an operator's exploration near the clock in effect:
// after `x` (CmdForceExplore) and after a model reset, the policy chooses
// only among clocks within SpanMHz of the clock commanded when the command
// came, for a number of decisions. A loaded server must never be thrown
// across the whole range (1980, then 435 MHz) because someone asked the
// tuner to look around, nor dropped to the lowest clock because a fresh
// model knows nothing yet. How the policy explores inside the band is its
// own business.
type exploreBand struct {
	left   int // decisions left at the band's first width
	grow   int // MHz each side gains per decision after those (0: then closes)
	lo, hi int // MHz
	buf    []bandit.Arm
}

// DefaultExploreSpanMHz is the band's half-width when a command names none.
const DefaultExploreSpanMHz = 150

// start opens a band of ±span MHz around center for n decisions; with grow
// > 0 it then widens by grow MHz a side per decision until it holds every
// clock, so a fresh model learns outwards from the clock in effect and
// never leaps to the far end of the range.
func (b *exploreBand) start(center, span, n, grow int) {
	if span <= 0 {
		span = DefaultExploreSpanMHz
	}
	b.left, b.grow, b.lo, b.hi = n, max(grow, 0), center-span, center+span
}

// filter returns the arms of allowed inside the band and uses up one
// decision; allowed itself when no band is open or none of its arms is
// inside (a backlog floor above the band outranks it).
func (b *exploreBand) filter(allowed []bandit.Arm) []bandit.Arm {
	switch {
	case b.left > 0:
		b.left--
	case b.grow > 0:
		b.lo, b.hi = b.lo-b.grow, b.hi+b.grow
	default:
		return allowed
	}
	out := b.buf[:0]
	for _, a := range allowed {
		if a.SMMHz >= b.lo && a.SMMHz <= b.hi {
			out = append(out, a)
		}
	}
	b.buf = out
	if len(out) == len(allowed) && b.left == 0 {
		b.grow = 0 // it holds every clock: closed
	}
	if len(out) == 0 {
		return allowed
	}
	return out
}

// bandCenter is the clock the band centres on: the one commanded, or the
// highest (what the default governor runs a loaded GPU at) when none is.
func (l *Loop) bandCenter() int {
	if c := l.st.decided.SMMHz; c > 0 {
		return c
	}
	return l.maxArm.SMMHz
}
