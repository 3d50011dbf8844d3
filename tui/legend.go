package tui

import (
	"fmt"

	"github.com/charmbracelet/bubbles/key"
)

// legendSection is one block of the `?` legend: a name (a column header,
// a word on screen) and what it means.
type legendSection struct {
	title   string
	entries [][2]string
}

// legend explains every word and column the screen shows. Column names are
// the constants the arm table draws, so the two cannot drift apart.
func legend() []legendSection {
	return []legendSection{
		{"header", [][2]string{
			{"WARMUP", "measuring the reward baseline at the default governor's clocks"},
			{"EXPLORE", "trying a clock to learn about it (for its bonus, not its estimate)"},
			{"EXPLOIT", "holding the clock the policy rates best: the lowest cost% where that column has numbers, else the best est"},
			{"EMERGENCY", "a latency limit is broken: highest clock until it recovers"},
			{"IDLE", "nothing running or waiting: the idle clock"},
			{"NODATA", "the server's metrics are unreachable or stale: clocks given back"},
			{"AUTO", "the policy's clock is applied; PINNED: a clock you pinned; PAUSED: the clock is held; READONLY: nothing is applied"},
			{"slo-aware", "latency limits constrain the choice (ok or VIOLATED now); edp: limits ignored"},
			{"clock", "the core clock commanded (default governor: none locked), and the one measured"},
			{"α", "the exploration coefficient: how much the bonus weighs; – while the policy is not deciding (warm-up, idle)"},
		}},
		{"clock table (one row per core clock)", [][2]string{
			{colMHz, "the core clock of the row, in MHz" + "; " + colMem + ": its memory clock"},
			{colEst, "estimated reward at this clock for the load now (higher is better)"},
			{colBonus, "exploration bonus: how unsure the estimate is"},
			{colUCB, "est + bonus, the optimistic score the policy explores by"},
			{"lcb", "est − bonus, the pessimistic score (not a column): a clock whose ucb is below another's lcb is surely worse, and pruned; \"ucb a < lcb b @MHz\" under pruned says which"},
			{colCost, "predicted cost of holding this clock against the exploit clock, %: + is worse; − is rated better but too uncertain to choose yet, or not the planner's choice for the queue now"},
			{colTTFT, "predicted time to first token at this clock; ! over the limit"},
			{colTPOT, "predicted time per output token at this clock; ! over the limit"},
			{colTries, "windows this clock has run"},
			{colReward, "reward of the last window at this clock"},
			{colState, "chosen: the clock commanded now; pinned: yours; steady: the clock the planner returns to after a burst (the steady-state model's choice); unsafe: predicted over a latency limit; pruned: surely worse than another clock (reason under pruned)"},
		}},
		{"context", [][2]string{
			{"value", "a load feature as measured in the last window"},
			{"z", "its z-score: standard deviations from its running mean, what the policy sees"},
		}},
		{"dashes", [][2]string{
			{none, "not computable yet: no data for the model at that clock, a latency fit that extrapolates below zero, or no finished requests in the window (TTFT and TPOT need some; EDP/tok needs output tokens)"},
		}},
	}
}

// keySentence says in a sentence what a key does.
func (m Model) keySentence(b key.Binding) string {
	k := &m.keys
	switch b.Help().Key {
	case k.Up.Help().Key, k.Down.Help().Key:
		return "move the cursor in the clock table"
	case k.Pin.Help().Key:
		return "pin the clock under the cursor: the GPU stays there until u"
	case k.PinMHz.Help().Key:
		return "type a clock in MHz to pin"
	case k.Unpin.Help().Key:
		return "unpin: the policy chooses again"
	case k.Pause.Help().Key:
		return "pause: hold the clock in effect (again to resume)"
	case k.SLOMode.Help().Key:
		return "switch between slo-aware (latency limits hold) and edp (limits ignored)"
	case k.Explore.Help().Key:
		return fmt.Sprintf("explore for %d decisions among the clocks within ±%d MHz of the clock now, never further", m.opts.ExploreRounds, m.opts.ExploreSpanMHz)
	case k.Reset.Help().Key:
		return fmt.Sprintf("forget what the model learned (asks y/n) and learn again outwards from the clock now: within ±%d MHz at first, then gradually wider, never leaping to the lowest clock", m.opts.ExploreSpanMHz)
	case k.NextGPU.Help().Key:
		return "show the next GPU; keys act on the GPU shown"
	case k.PrevGPU.Help().Key:
		return "show the previous GPU"
	case k.PickGPU.Help().Key:
		return "show the GPU at that position in the strip"
	case k.Help.Help().Key:
		return "this help"
	case k.Quit.Help().Key:
		return "quit: clocks go back to the default governor and a one-line summary stays on the terminal"
	}
	return b.Help().Desc
}
