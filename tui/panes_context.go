package tui

import (
	"fmt"
	"math"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/gputune/gputune/control"
)

// renderFeatures lists the context features the policy saw: name, raw
// value, normalised value and a short trend of the normalised value.
func renderFeatures(s *control.Snapshot, hist *history, w, h int, ascii bool, st *styles) []string {
	if w <= 0 || h <= 0 {
		return nil
	}
	lines := []string{st.Title.Render("context")}
	nameW := 0
	for _, f := range s.Features {
		nameW = max(nameW, len(f.Name))
	}
	nameW = min(nameW, max(8, w-30))
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

// renderPruned lists the pruned arms with why and when.
func renderPruned(s *control.Snapshot, w, h int, st *styles) []string {
	if w <= 0 || h <= 0 {
		return nil
	}
	lines := []string{st.Title.Render(fmt.Sprintf("pruned %d", len(s.Pruned)))}
	for i, p := range s.Pruned {
		if len(lines) >= h {
			break
		}
		if len(lines) == h-1 && len(s.Pruned)-i > 1 {
			lines = append(lines, st.Muted.Render(fmt.Sprintf("… %d more", len(s.Pruned)-i)))
			break
		}
		arm := fmt.Sprintf("%5d MHz", p.SMMHz)
		if p.MemMHz != 0 {
			arm = fmt.Sprintf("%5d/%d MHz", p.SMMHz, p.MemMHz)
		}
		round := fmt.Sprintf(" r%-5d ", p.Round)
		// A reason cut by the pane edge ends in "…", so a cut is not read
		// as the whole reason.
		reason := ansi.Truncate(p.Reason, max(0, w-ansi.StringWidth(arm+round)), "…")
		lines = append(lines, st.Value.Render(arm)+st.Muted.Render(round)+st.Label.Render(reason))
	}
	if len(s.Pruned) == 0 && h > 1 {
		lines = append(lines, st.Muted.Render("none"))
	}
	return lines
}
