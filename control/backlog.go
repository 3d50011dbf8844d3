package control

import (
	"fmt"

	"github.com/gputune/gputune/bandit"
)

// backlog guards against the one way a per-window reward misleads: a clock
// too low to keep up with arrivals costs little inside its own window, but
// the queue it leaves behind shows up later, as other windows' TTFT. When
// requests keep waiting and the queue does not shrink for
// control.backlog_windows windows, the guard raises a floor under the
// clocks the policy may choose (four clock steps at a time, from the clock
// in effect), and lowers it again once the queue has stayed empty as long.
type backlog struct {
	growing, clear int
	prevWaiting    float64
	floorMHz       int
}

// update folds in one window and reports whether the floor moved.
func (b *backlog) update(waiting float64, inEffect bandit.Arm, arms []bandit.Arm, windows int) (moved bool) {
	switch {
	case waiting > 0 && waiting >= b.prevWaiting:
		b.growing++
		b.clear = 0
	case waiting == 0:
		b.growing = 0
		b.clear++
	default: // the queue is shrinking: the clock keeps up
		b.growing = 0
		b.clear = 0
	}
	b.prevWaiting = waiting
	if b.growing >= windows {
		b.growing = 0
		next := raise(arms, max(b.floorMHz, inEffect.SMMHz), 4)
		if next > b.floorMHz {
			b.floorMHz = next
			return true
		}
	}
	if b.clear >= windows && b.floorMHz != 0 {
		b.floorMHz = 0
		b.clear = 0
		return true
	}
	return false
}

// raise returns the clock steps above mhz in arms (sorted), capped at the
// highest.
func raise(arms []bandit.Arm, mhz, steps int) int {
	for i, a := range arms {
		if a.SMMHz >= mhz {
			return arms[min(i+steps, len(arms)-1)].SMMHz
		}
	}
	return arms[len(arms)-1].SMMHz
}

// allowed is arms at or above the floor: arms itself when there is no
// floor, else a filtered copy in *buf (which must never alias arms).
func (b *backlog) allowed(arms []bandit.Arm, buf *[]bandit.Arm) []bandit.Arm {
	if b.floorMHz == 0 {
		return arms
	}
	out := (*buf)[:0]
	for _, a := range arms {
		if a.SMMHz >= b.floorMHz {
			out = append(out, a)
		}
	}
	*buf = out
	return out
}

func (b *backlog) message() string {
	if b.floorMHz == 0 {
		return "backlog cleared: every clock allowed again"
	}
	return fmt.Sprintf("requests keep queueing: clocks below %d MHz held off", b.floorMHz)
}
