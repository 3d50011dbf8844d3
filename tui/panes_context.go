package tui

import (
	"fmt"
	"math"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/gputune/gputune/bandit"
	"github.com/gputune/gputune/control"
)

// renderFeatures lists the context features the policy saw: name, raw
// value, normalised value and a short trend of the normalised value.
func renderFeatures(s *control.Snapshot, hist *history, w, h int, ascii bool, st *styles) []string {
	if w <= 0 || h <= 0 {
		return nil
	}
	nameW := 0
	for _, f := range s.Features {
		nameW = max(nameW, len(f.Name))
	}
	nameW = min(nameW, max(8, w-30))
	// The title row labels the columns: the feature's value as measured,
	// its z-score (how many standard deviations from its running mean, the
	// number the policy sees) and the z-score's recent trend.
	lines := []string{st.Title.Render(padRight("context", nameW)) +
		st.Muted.Render(fmt.Sprintf(" %10s %6s trend", "value", "z"))}
	buf := make([]float64, 0, featureTrendLen)
	for _, f := range s.Features {
		if len(lines) >= h {
			break
		}
		var b strings.Builder
		b.WriteString(st.Label.Render(padRight(fitWidth(f.Name, nameW), nameW)))
		b.WriteString(st.Value.Render(fmt.Sprintf(" %10s %6s ", fmtNum(f.Raw, 10, 2), fmtNum(f.Norm, 6, 2))))
		trendW := min(featureTrendLen, max(0, w-nameW-20))
		if r, ok := hist.features[f.Name]; ok {
			b.WriteString(spark(r.lastN(trendW, buf[:0]), trendW, ascii, math.NaN(), st.Good, st.Good))
		}
		lines = append(lines, b.String())
	}
	if len(s.Features) == 0 && h > 1 {
		lines = append(lines, st.Muted.Render("no features yet"))
	}
	return lines
}

// prunedReason states why an arm is pruned with the numbers that justify
// it, in the arm table's units. A "dominated" arm is one whose upper bound
// (ucb) is below the best lower bound (est − bonus) of a safe arm: the
// numbers come from the same table the screen shows, so they cannot
// contradict it. Other reasons (agft's) are the policy's own words.
func prunedReason(s *control.Snapshot, p bandit.Pruned) string {
	if !strings.HasPrefix(p.Reason, "dominated") {
		return p.Reason
	}
	i := armIndex(s.Arms, p.Arm)
	best, bestLCB := -1, math.Inf(-1)
	for j := range s.Arms {
		a := &s.Arms[j]
		if a.State == bandit.StateUnsafe || math.IsNaN(a.Pred) || math.IsNaN(a.Bonus) {
			continue
		}
		if lcb := a.Pred - a.Bonus; lcb > bestLCB {
			best, bestLCB = j, lcb
		}
	}
	if i < 0 || best < 0 || math.IsNaN(s.Arms[i].UCB) || !(s.Arms[i].UCB < bestLCB) {
		return p.Reason
	}
	return fmt.Sprintf("ucb %.3f < lcb %.3f @%d", s.Arms[i].UCB, bestLCB, s.Arms[best].SMMHz)
}

// renderPruned lists the pruned arms with why and when.
func renderPruned(s *control.Snapshot, w, h int, st *styles) []string {
	if w <= 0 || h <= 0 {
		return nil
	}
	lines := []string{st.Title.Render(fmt.Sprintf("pruned %d", len(s.Pruned))) +
		st.Muted.Render("  MHz · round pruned at · why")}
	for i, p := range s.Pruned {
		if len(lines) >= h {
			break
		}
		if len(lines) == h-1 && len(s.Pruned)-i > 1 {
			lines = append(lines, st.Muted.Render(fmt.Sprintf("… %d more", len(s.Pruned)-i)))
			break
		}
		arm := fmt.Sprintf("%5d", p.SMMHz)
		if p.MemMHz != 0 {
			arm = fmt.Sprintf("%5d/%d", p.SMMHz, p.MemMHz)
		}
		round := fmt.Sprintf(" r%-5d ", p.Round)
		// A reason cut by the pane edge ends in "…", so a cut is not read
		// as the whole reason.
		reason := ansi.Truncate(prunedReason(s, p), max(0, w-ansi.StringWidth(arm+round)), "…")
		lines = append(lines, st.Value.Render(arm)+st.Muted.Render(round)+st.Label.Render(reason))
	}
	if len(s.Pruned) == 0 && h > 1 {
		lines = append(lines, st.Muted.Render("none"))
	}
	return lines
}
