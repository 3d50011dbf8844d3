package control

import (
	"math"

	"github.com/gputune/gputune/scrape"
)

// carryover charges a window for the requests it leaves behind. A window's
// own delay, (ΣTTFT + ΣITL)/N, misses the main cost of a clock that is too
// slow near saturation: requests finish later, so the batch grows and every
// later window carries more requests, each accruing delay. The context
// features (running requests, KV usage, decode rate) then explain those
// later windows' delay as load, not as the clock that caused it, and a low
// clock looks cheap.
//
// The fix is potential-based reward shaping: the window's delay is charged
// m·ΔL request-seconds, L being the requests in the server (running +
// waiting) and m what one more request in the server costs, its mean
// end-to-end latency (by Little's law an extra request stays about that
// long). Over a run the charges telescope to about m·(L_end − L_start), so
// they move credit between windows without changing the total: a window
// that lets the backlog grow pays for it at once, one that drains it is
// credited.
//
// Arrivals do not depend on the clock and, at one or two per window, their
// randomness would swamp the charge; completions come in bursts too. So ΔL
// is estimated as the recent mean of arrivals minus the completions this
// window's output tokens stand for: Ā − N·F̄/N̄, arrivals recovered as
// ΔL + F.
type carryover struct {
	prevL    float64
	havePrev bool
	haveMean bool
	arrivals float64 // recent mean of arrivals per window
	finished float64 // recent mean of completions per window
	tokens   float64 // recent mean of output tokens per window
	e2eMean  float64 // recent mean end-to-end latency, s
}

// carryMemory is the discount of the running means: about 30 s of windows,
// long enough to average arrivals, short enough to follow the load.
const carryMemory = 0.99

// carryFloor bounds how far a credit can lower a window's delay: a window
// that drains a backlog still had its own delay.
const carryFloor = 0.25

func ema(mean, v float64) float64 { return carryMemory*mean + (1-carryMemory)*v }

// charge folds in a window and returns its backlog charge in
// request-seconds; 0 until it can be estimated (no end-to-end latency or
// completions from the server, or after a counter reset).
func (c *carryover) charge(w scrape.Window) float64 {
	usable := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) && v >= 0 }
	if w.Reset || !usable(w.Running) || !usable(w.Waiting) || !usable(w.Finished) || !usable(w.GenTokens) {
		c.havePrev = false
		return 0
	}
	l := w.Running + w.Waiting
	prevL, havePrev := c.prevL, c.havePrev
	c.prevL, c.havePrev = l, true
	if w.E2EObs > 0 && usable(w.E2EMean) {
		if c.e2eMean == 0 {
			c.e2eMean = w.E2EMean
		} else {
			c.e2eMean = ema(c.e2eMean, w.E2EMean)
		}
	}
	if !havePrev {
		return 0
	}
	arrived := max(l-prevL+w.Finished, 0)
	if !c.haveMean {
		c.arrivals, c.finished, c.tokens, c.haveMean = arrived, w.Finished, w.GenTokens, true
	} else {
		c.arrivals, c.finished, c.tokens = ema(c.arrivals, arrived), ema(c.finished, w.Finished), ema(c.tokens, w.GenTokens)
	}
	if !(c.e2eMean > 0) || !(c.tokens > 0) {
		return 0
	}
	growth := c.arrivals - w.GenTokens*c.finished/c.tokens
	return c.e2eMean * growth
}

// withCarryover is the EDP objective with the window's delay, D·N
// request-seconds, raised by chargeS (never below carryFloor of itself).
func withCarryover(obj, delayPerToken, tokens, chargeS float64) float64 {
	num := delayPerToken * tokens
	if !(num > 0) || chargeS == 0 || math.IsNaN(chargeS) || math.IsInf(chargeS, 0) {
		return obj
	}
	return obj * max(1+chargeS/num, carryFloor)
}
