package tui

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gputune/gputune/bandit"
	"github.com/gputune/gputune/control"
)

// armsChromeRows are the title and column-header rows above the arm rows.
const armsChromeRows = 2

// armsPane is the per-arm score table with its cursor.
type armsPane struct {
	snap           *control.Snapshot
	cursor, offset int
	st             *styles
}

// armCol is one table column. Narrow panes drop the columns with the
// highest drop rank first, so core clock, state and scores stay longest.
type armCol struct {
	head  string
	width int
	drop  int // 0: never dropped
	value func(s *control.Snapshot, a *bandit.ArmScore) string
}

// The column headers; the `?` legend explains each (legendColumns).
const (
	colMHz    = "MHz"
	colMem    = "memMHz"
	colEst    = "est"
	colBonus  = "+bonus"
	colUCB    = "=ucb"
	colCost   = "cost%"
	colTTFT   = "TTFT ms"
	colTPOT   = "TPOT ms"
	colTries  = "tries"
	colReward = "reward"
	colState  = "state"
)

func armColumns(showMem bool) []armCol {
	cols := []armCol{
		{colMHz, 5, 0, func(_ *control.Snapshot, a *bandit.ArmScore) string { return strconv.Itoa(a.SMMHz) }},
	}
	if showMem {
		cols = append(cols, armCol{colMem, 6, 4, func(_ *control.Snapshot, a *bandit.ArmScore) string { return strconv.Itoa(a.MemMHz) }})
	}
	return append(cols,
		armCol{colEst, 7, 3, func(_ *control.Snapshot, a *bandit.ArmScore) string { return fmtNum(a.Pred, 7, 3) }},
		armCol{colBonus, 6, 8, func(_ *control.Snapshot, a *bandit.ArmScore) string { return fmtNum(a.Bonus, 6, 3) }},
		armCol{colUCB, 7, 1, func(_ *control.Snapshot, a *bandit.ArmScore) string { return fmtNum(a.UCB, 7, 3) }},
		armCol{colCost, 6, 2, func(_ *control.Snapshot, a *bandit.ArmScore) string { return fmtHeld(a.Held) }},
		armCol{colTTFT, 7, 5, func(s *control.Snapshot, a *bandit.ArmScore) string {
			return fmtLatency(a.PredTTFT) + mark(over(a.TTFTUpper, s.TTFTLimitS) || over(a.PredTTFT, s.TTFTLimitS))
		}},
		armCol{colTPOT, 7, 6, func(s *control.Snapshot, a *bandit.ArmScore) string {
			return fmtLatency(a.PredTPOT) + mark(over(a.TPOTUpper, s.TPOTLimitS) || over(a.PredTPOT, s.TPOTLimitS))
		}},
		armCol{colTries, 5, 7, func(_ *control.Snapshot, a *bandit.ArmScore) string { return strconv.Itoa(a.Pulls) }},
		armCol{colReward, 7, 9, func(_ *control.Snapshot, a *bandit.ArmScore) string {
			if a.Pulls == 0 {
				return none
			}
			return fmtNum(a.LastReward, 7, 3)
		}},
		armCol{colState, 6, 0, func(s *control.Snapshot, a *bandit.ArmScore) string { return armState(s, *a) }},
	)
}

// none marks a value that cannot be computed; the legend says why.
const none = "–"

// fmtLatency is a predicted latency in ms, or none where the model has no
// usable estimate: no data yet (NaN) or a negative extrapolation of the
// latency fit far from the clocks it has seen, which is no latency at all.
func fmtLatency(s float64) string {
	if math.IsNaN(s) || s < 0 {
		return padLeft(none, 6)
	}
	return fmtNum(s*1e3, 6, 1)
}

// fitColumns drops columns, highest drop rank first, until the row fits w.
func fitColumns(cols []armCol, w int) []armCol {
	for {
		total := 2 // cursor marker
		for _, c := range cols {
			total += c.width + 1
		}
		worst := -1
		for i, c := range cols {
			if c.drop > 0 && (worst < 0 || c.drop > cols[worst].drop) {
				worst = i
			}
		}
		if total-1 <= w || worst < 0 {
			return cols
		}
		cols = append(cols[:worst:worst], cols[worst+1:]...)
	}
}

func (p armsPane) render(w, h int) []string {
	if h <= 0 || w <= 0 {
		return nil
	}
	s := p.snap
	showMem := false
	for _, a := range s.Arms {
		if a.MemMHz != 0 {
			showMem = true
			break
		}
	}
	cols := fitColumns(armColumns(showMem), w)
	lines := make([]string, 0, h)
	lines = append(lines, p.title(w))
	if h == 1 {
		return lines
	}
	lines = append(lines, p.st.Label.Render(armHeader(cols)))
	rows := h - armsChromeRows
	off := max(0, min(p.offset, len(s.Arms)-rows))
	for i := off; i < len(s.Arms) && i < off+rows; i++ {
		lines = append(lines, p.row(i, cols, w))
	}
	return lines
}

func (p armsPane) title(w int) string {
	s := p.snap
	parts := []string{p.st.Title.Render("clocks")}
	if n := len(s.Arms); n > 0 {
		counts := fmt.Sprintf("%d in all", n)
		if len(s.Pruned) > 0 {
			counts += fmt.Sprintf(" · %d pruned", len(s.Pruned))
		}
		if u := countState(s.Arms, bandit.StateUnsafe); u > 0 {
			counts += fmt.Sprintf(" · %d unsafe", u)
		}
		parts = append(parts, p.st.Muted.Render(counts))
	}
	if s.TTFTLimitS > 0 || s.TPOTLimitS > 0 {
		parts = append(parts, p.st.Muted.Render(fmt.Sprintf("limits TTFT %s ms, TPOT %s ms",
			fmtMS(s.TTFTLimitS), fmtMS(s.TPOTLimitS))))
	}
	return joinFit(parts, "  ", w)
}

func countState(arms []bandit.ArmScore, st bandit.ArmState) int {
	n := 0
	for i := range arms {
		if arms[i].State == st {
			n++
		}
	}
	return n
}

func armHeader(cols []armCol) string {
	var b strings.Builder
	b.WriteString("  ")
	for i, c := range cols {
		if c.head == colState {
			b.WriteByte(' ')
			b.WriteString(c.head)
			continue
		}
		cell(&b, c.head, c.width, i == 0)
	}
	return b.String()
}

// cell writes v right-aligned in width n, after a space unless first.
func cell(b *strings.Builder, v string, n int, first bool) {
	if !first {
		b.WriteByte(' ')
	}
	for i := utf8.RuneCountInString(v); i < n; i++ {
		b.WriteByte(' ')
	}
	b.WriteString(v)
}

// armState is the state column: pinned and chosen come from the snapshot,
// the rest from the policy.
func armState(s *control.Snapshot, a bandit.ArmScore) string {
	switch {
	case s.Actuation == control.ActPinned && a.SMMHz == s.PinnedMHz:
		return "pinned"
	case isChosen(s, a.Arm):
		return "chosen"
	case s.Held.SMMHz != 0 && a.Arm == s.Held:
		return "steady"
	case a.State == bandit.StateOK:
		return ""
	default:
		return string(a.State)
	}
}

func (p armsPane) row(i int, cols []armCol, w int) string {
	s, a := p.snap, &p.snap.Arms[i]
	state := armState(s, *a)
	var b strings.Builder
	b.Grow(80)
	if i == p.cursor {
		b.WriteString("> ")
	} else {
		b.WriteString("  ")
	}
	for j, c := range cols {
		if c.head == colState {
			b.WriteByte(' ')
			b.WriteString(state)
			continue
		}
		cell(&b, c.value(s, a), c.width, j == 0)
	}
	text := b.String()
	var style paint
	switch {
	case i == p.cursor:
		// The cursor bar spans the pane, like a selected row in nvitop.
		return p.st.Cursor.Render(padRight(fitWidth(text, w), w))
	case state == "pinned":
		style = p.st.Pinned
	case state == "chosen":
		style = p.st.Chosen
	case state == string(bandit.StatePruned):
		style = p.st.Pruned
	case state == string(bandit.StateUnsafe):
		style = p.st.Unsafe
	default:
		style = p.st.Value
	}
	return style.Render(text)
}

// mark flags a predicted latency over its limit, so the flag survives
// --no-color.
func mark(o bool) string {
	if o {
		return "!"
	}
	return " "
}

func over(v, limit float64) bool {
	return limit > 0 && !math.IsNaN(v) && v > limit
}

// fmtNum formats v with prec decimals in at most width cells, falling back
// to fewer digits, then to %g, for large values; NaN (not modelled) is
// none.
func fmtNum(v float64, width, prec int) string {
	if math.IsNaN(v) {
		return none
	}
	if math.IsInf(v, 0) {
		if v > 0 {
			return "inf"
		}
		return "-inf"
	}
	for p := prec; p >= 0; p-- {
		if s := strconv.FormatFloat(v, 'f', p, 64); len(s) <= width {
			return s
		}
	}
	for p := 3; p >= 1; p-- {
		if s := strconv.FormatFloat(v, 'g', p, 64); len(s) <= width {
			return s
		}
	}
	return strconv.FormatFloat(v, 'g', 1, 64)
}

// fmtMS formats seconds as milliseconds without needless decimals.
func fmtMS(s float64) string {
	ms := s * 1e3
	if ms >= 100 || ms == math.Trunc(ms) {
		return strconv.FormatFloat(ms, 'f', 0, 64)
	}
	return strconv.FormatFloat(ms, 'f', 1, 64)
}

// fmtHeld shows the steady-state model's held objective relative to the
// exploit arm in percent, signed ("-" where it has none), the number that
// chooses the exploit arm once that model decides.
func fmtHeld(v float64) string {
	if math.IsNaN(v) {
		return none
	}
	if v >= 0 {
		return "+" + fmtNum(100*v, 5, 1)
	}
	return fmtNum(100*v, 6, 1)
}
