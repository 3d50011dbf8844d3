package tui

import (
	"math"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/gputune/gputune/bandit"
	"github.com/gputune/gputune/control"
)

// Values that cannot be computed read as a dash, never NaN or a negative
// latency, and the header keeps the SLO mode at every width.
func TestNoNaNNoNegativeLatencySLOModeShown(t *testing.T) {
	for _, size := range [][2]int{{60, 15}, {80, 24}, {120, 40}, {200, 60}} {
		m, _ := testModel(t, size[0], size[1], 5, nil)
		s := testSnapshot(6)
		s.Alpha = math.NaN()
		s.Arms[0].PredTTFT, s.Arms[0].PredTPOT = -0.0359, math.NaN()
		s.Arms[1].Held, s.Arms[1].Pred = math.NaN(), math.NaN()
		m = step(t, m, snapshotMsg{snap: s})
		m = keys(t, m, tea.KeyMsg{Type: tea.KeyHome})
		for i := 0; i < 120; i++ {
			m = keys(t, m, keyRunes("k"))
		}
		v := m.View()
		for _, bad := range []string{"NaN", "-35.9", "-0.0"} {
			if strings.Contains(v, bad) {
				t.Errorf("%dx%d shows %q:\n%s", size[0], size[1], bad, v)
			}
		}
		if header := strings.Split(v, "\n")[0]; !strings.Contains(header, s.SLOMode) {
			t.Errorf("%dx%d header lacks the SLO mode %q: %q", size[0], size[1], s.SLOMode, header)
		}
	}
}

// The help screen has a legend of columns and states and scrolls to its
// end at every size.
func TestHelpHasLegendAndScrolls(t *testing.T) {
	for _, size := range [][2]int{{60, 15}, {80, 24}, {120, 40}} {
		m, _ := testModel(t, size[0], size[1], 5, nil)
		m = keys(t, m, keyRunes("?"))
		seen := m.View()
		for range 120 {
			m = keys(t, m, keyRunes("j"))
			seen += m.View()
		}
		for _, want := range []string{colEst, colCost, colTries, "pruned", "unsafe", "EXPLOIT", "PINNED", none} {
			if !strings.Contains(seen, want) {
				t.Errorf("%dx%d: scrolling the help never shows %q", size[0], size[1], want)
			}
		}
		last := strings.Split(m.View(), "\n")
		if !strings.Contains(strings.Join(last, "\n"), "no data for the model") {
			t.Errorf("%dx%d: the help's last page is not its end:\n%s", size[0], size[1], strings.Join(last, "\n"))
		}
	}
}

// A dominated arm's reason states its ucb and the best lower bound from
// the table shown, which must agree with the table.
func TestPrunedReasonStatesTheNumbers(t *testing.T) {
	s := control.Snapshot{Arms: []bandit.ArmScore{
		{Arm: bandit.Arm{SMMHz: 945}, Pred: 0.9, Bonus: 0.05, UCB: 0.95},
		{Arm: bandit.Arm{SMMHz: 1005}, Pred: 0.7, Bonus: 0.1, UCB: 0.8, State: bandit.StatePruned},
	}}
	got := prunedReason(&s, bandit.Pruned{Arm: bandit.Arm{SMMHz: 1005}, Reason: "dominated: reward UCB below the best LCB"})
	if want := "ucb 0.800 < lcb 0.850 @945"; !strings.Contains(got, want) {
		t.Errorf("reason %q, want it to contain %q", got, want)
	}
	// Numbers that do not justify the reason are not invented: the
	// policy's words stay.
	s.Arms[1].UCB = 0.99
	got = prunedReason(&s, bandit.Pruned{Arm: bandit.Arm{SMMHz: 1005}, Reason: "dominated: reward UCB below the best LCB"})
	if strings.Contains(got, "<") {
		t.Errorf("reason %q claims a comparison the table contradicts", got)
	}
}

// The row of the clock the planner returns to says so, and only that row;
// the chosen row stays "chosen".
func TestSteadyChoiceMarked(t *testing.T) {
	s := testSnapshot(6)
	s.Held = s.Arms[3].Arm
	if got := armState(&s, s.Arms[3]); got != "steady" {
		t.Errorf("the steady-state choice's row reads %q, want steady", got)
	}
	n := 0
	for _, a := range s.Arms {
		if armState(&s, a) == "steady" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d rows read steady, want 1", n)
	}
	for _, a := range s.Arms {
		if isChosen(&s, a.Arm) {
			s.Held = a.Arm
			if got := armState(&s, a); got != "chosen" {
				t.Errorf("the chosen row that is also the steady-state choice reads %q, want chosen", got)
			}
		}
	}
}
