package control

import (
	"context"
	"fmt"

	"github.com/gputune/gputune/bandit"
)

// drainCommands applies every queued command; each is acknowledged (or
// refused, with the reason) in the next snapshot's Message.
func (l *Loop) drainCommands(ctx context.Context) {
	for {
		select {
		case c := <-l.cmds:
			l.st.message = l.apply(ctx, c)
			l.log.Info("command", "kind", c.Kind, "result", l.st.message)
		default:
			return
		}
	}
}

func (l *Loop) apply(ctx context.Context, c Command) string {
	switch c.Kind {
	case CmdPause:
		l.st.paused = true
		return "paused: holding the current clock"
	case CmdResume:
		l.st.paused = false
		return "resumed"
	case CmdPin:
		if l.st.readOnly {
			return "read-only: cannot pin a clock"
		}
		arm, err := l.pinArm(c.MHz)
		if err != nil {
			return err.Error()
		}
		l.st.pinned = arm
		return fmt.Sprintf("pinned %d MHz", arm.SMMHz)
	case CmdUnpin:
		if l.st.pinned.SMMHz == 0 {
			return "nothing pinned"
		}
		l.st.pinned = bandit.Arm{}
		return "unpinned: automatic control"
	case CmdSetSLOMode:
		if c.SLOMode != bandit.SLOAware && c.SLOMode != bandit.SLOIgnore {
			return fmt.Sprintf("unknown SLO mode %q (slo-aware or edp)", c.SLOMode)
		}
		l.st.sloMode = c.SLOMode
		if l.d.Policy != nil {
			l.d.Policy.SetSLOMode(c.SLOMode)
		}
		return "SLO mode: " + string(c.SLOMode)
	case CmdForceExplore:
		n := c.Rounds
		if n <= 0 {
			n = 20
		}
		if l.d.Policy == nil {
			return "policy " + string(l.policy) + " does not explore"
		}
		l.d.Policy.ForceExplore(n)
		l.band.start(l.bandCenter(), c.SpanMHz, n, 0)
		return fmt.Sprintf("exploring for %d decisions within %d–%d MHz", n, max(l.band.lo, l.arms[0].SMMHz), min(l.band.hi, l.maxArm.SMMHz))
	case CmdResetModel:
		if l.d.Policy == nil {
			return "policy " + string(l.policy) + " has no model"
		}
		l.d.Policy.Reset()
		l.st.round = 0
		// A fresh model knows nothing: it relearns from the clock in
		// effect outwards rather than from wherever its first guess lands.
		n := c.Rounds
		if n <= 0 {
			n = relearnDecisions
		}
		grow := l.relearnGrowMHz()
		l.band.start(l.bandCenter(), c.SpanMHz, n, grow)
		return fmt.Sprintf("model reset (the reward baseline is kept): relearning within %d–%d MHz for %d decisions, then %d MHz wider a side per decision",
			max(l.band.lo, l.arms[0].SMMHz), min(l.band.hi, l.maxArm.SMMHz), n, grow)
	}
	return fmt.Sprintf("unknown command %q", c.Kind)
}

// relearnDecisions is how long a reset model stays near the clock in
// effect: long enough for its fits to see a few clocks around it.
const relearnDecisions = 60

// relearnGrowMHz is how fast the band widens after a reset: a quarter of a
// clock step a side per decision (at least 1 MHz), about 10 MHz a second
// at the default period, so reaching the far end of an H100's range takes
// most of a minute rather than one decision.
func (l *Loop) relearnGrowMHz() int {
	step := 15
	if len(l.arms) > 1 {
		step = l.arms[1].SMMHz - l.arms[0].SMMHz
	}
	return max(1, step/4)
}

// pinArm checks a requested clock against the supported list and the
// operator bounds; a bad value changes nothing.
func (l *Loop) pinArm(mhz int) (bandit.Arm, error) {
	lo, hi := l.arms[0].SMMHz, l.maxArm.SMMHz
	if mhz < lo || mhz > hi {
		return bandit.Arm{}, fmt.Errorf("%d MHz is outside the allowed %d–%d MHz", mhz, lo, hi)
	}
	for _, a := range l.arms {
		if a.SMMHz == mhz {
			if l.act.current().MemMHz != 0 {
				a.MemMHz = l.act.current().MemMHz
			}
			return a, nil
		}
	}
	return bandit.Arm{}, fmt.Errorf("%d MHz is not a supported clock (the step is %d MHz)", mhz, l.arms[1].SMMHz-l.arms[0].SMMHz)
}
