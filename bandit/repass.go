package bandit

import "math"

// A design pass at each new load level. The fits share their clock
// polynomials across operating points, so where the design ran at one kind
// of load their shape at the clocks it alone visited is extrapolated to
// any other kind. On the phases workload the design runs in the first,
// prefill-heavy minute; when the decode-heavy phase comes, the model has
// decode data only at the clocks played since, its local exploration
// included (±150 MHz around 1,400–1,700 MHz), and it predicts 1,170 MHz
// to need twice the batch that clock really settles at (held at 1,170 MHz
// on the simulated H100, 1,500–2,000 tok/s: 17–22 requests, predicted
// 44–78), so the choice stays 300–600 MHz above the best static clock
// (2026-12-07, docs/gputune-policy.md). Wider exploration did not fix it
// (±300 and ±450 MHz: phases −0.4 and −0.3 point, the conversation trace
// +0.4 and +1.0).
//
// So when the change detector finds the load at a level more than
// repassFactor beyond every level a design pass has run at, the policy
// plays one later pass of the design (coldStartLater: −2 to +3 rungs around
// the centre, each held steadyExploreHold decisions, ~7 s) at the new
// level, and the level joins the covered range. A stationary load never
// starts one (its false alarms stay at its level); nor does a model loaded
// from a file: its design ran elsewhere, and the levels it covered are not
// saved (covLo > covHi).
//
// The new level is the mean log rate of the block of windows that raised
// the alarm. A shift that takes longer than a few blocks to complete is
// judged by where it was when detected, and so starts a pass only when
// already that block lies beyond the covered levels: judged over the
// following 30 s instead (the demand mean, which after the alarm holds
// only the windows since), the A100's conversation-trace rows started
// passes too, which cost each of those rows 0.19–0.22 point: there the
// design's centre lies three rungs below the optimum (16 seeds,
// 2026-12-07).
const repassFactor = 3

// coverLevel adds the demand level the model solves for now to the levels
// the design has covered.
func (s *steadyModel) coverLevel() {
	if s.meanW <= 0 {
		return
	}
	d, _ := s.means()
	if l := math.Log(d); finite(l) {
		s.covLo, s.covHi = min(s.covLo, l), max(s.covHi, l)
	}
}

// newLevel starts a design pass when a detected shift has taken the load,
// ln rate level, beyond the levels the design has covered.
func (s *steadyModel) newLevel(level float64) {
	if !s.ready() || !finite(level) || s.covLo > s.covHi {
		return
	}
	if m := math.Log(repassFactor); level > s.covHi+m || level < s.covLo-m {
		s.repass = len(coldStartLater)
	}
}

// rePass returns the arm to play while a pass started by newLevel runs,
// and false when none does (or no arm is safe).
func (t *gputune) rePass() (int, bool) {
	s := t.steady
	if s.repass <= 0 {
		return -1, false
	}
	if i, ok := t.continueHold(); ok {
		return i, true
	}
	rung := coldStartLater[len(coldStartLater)-s.repass]
	s.repass--
	i, ok := t.startRung(rung)
	if !ok {
		s.repass = 0
	}
	return i, ok
}
