package tui

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/gputune/gputune/control"
)

// sparkPane shows the recent history of power, EDP per token, TTFT, TPOT
// and the measured clock, each scaled to its own range.
type sparkPane struct {
	hist  *history
	snap  *control.Snapshot
	ascii bool
	st    *styles
}

type sparkSeries struct {
	label string
	r     *ring
	hot   float64 // values above are drawn as violations (NaN: none)
	value func(v float64) string
	rng   func(lo, hi float64) string
}

const (
	sparkLabelW = 8
	sparkValueW = 16
	sparkRangeW = 15
)

func (p sparkPane) series() []sparkSeries {
	s := p.snap
	watts := func(v float64) string { return fmt.Sprintf("%.1f W", v) }
	wattsRange := func(lo, hi float64) string { return fmt.Sprintf("%.0f..%.0f", lo, hi) }
	edp := func(v float64) string { return strconv.FormatFloat(v, 'g', 3, 64) }
	edpRange := func(lo, hi float64) string {
		return strconv.FormatFloat(lo, 'g', 2, 64) + ".." + strconv.FormatFloat(hi, 'g', 2, 64)
	}
	latency := func(limit float64) func(float64) string {
		return func(v float64) string {
			if limit > 0 {
				return fmtMS(v) + "/" + fmtMS(limit) + " ms"
			}
			return fmtMS(v) + " ms"
		}
	}
	msRange := func(lo, hi float64) string { return fmtMS(lo) + ".." + fmtMS(hi) + " ms" }
	mhz := func(v float64) string { return fmt.Sprintf("%.0f MHz", v) }
	mhzRange := func(lo, hi float64) string { return fmt.Sprintf("%.0f..%.0f", lo, hi) }
	return []sparkSeries{
		{"power", p.hist.power, math.NaN(), watts, wattsRange},
		{"EDP/tok", p.hist.edp, math.NaN(), edp, edpRange},
		{"TTFT", p.hist.ttft, limitOrNaN(s.TTFTLimitS), latency(s.TTFTLimitS), msRange},
		{"TPOT", p.hist.tpot, limitOrNaN(s.TPOTLimitS), latency(s.TPOTLimitS), msRange},
		{"clock", p.hist.clock, math.NaN(), mhz, mhzRange},
	}
}

func limitOrNaN(l float64) float64 {
	if l > 0 {
		return l
	}
	return math.NaN()
}

func (p sparkPane) render(w, h int, title bool) []string {
	if w <= 0 || h <= 0 {
		return nil
	}
	lines := make([]string, 0, h)
	if title {
		lines = append(lines, joinFit([]string{
			p.st.Title.Render("history"),
			p.st.Muted.Render(fmt.Sprintf("%d samples, each line scaled to its own range", p.hist.power.len())),
		}, "  ", w))
	}
	buf := make([]float64, 0, historyLen)
	for _, ser := range p.series() {
		if len(lines) >= h {
			break
		}
		lines = append(lines, p.line(ser, w, buf[:0]))
	}
	return lines
}

func (p sparkPane) line(ser sparkSeries, w int, buf []float64) string {
	valueW, rangeW := sparkValueW, sparkRangeW
	// Narrow panes drop the range first, then the value: the shape matters
	// most.
	if w-sparkLabelW-valueW-rangeW < 16 {
		rangeW = 0
	}
	if w-sparkLabelW-valueW-rangeW < 8 {
		valueW = 0
	}
	sparkW := max(0, w-sparkLabelW-valueW-rangeW)
	vals := ser.r.lastN(sparkW, buf)
	label := p.st.Label.Render(padRight(ser.label, sparkLabelW))
	line := label + spark(vals, sparkW, p.ascii, ser.hot, p.st.Value, p.st.Bad)
	if ser.r.len() == 0 {
		return line
	}
	if valueW > 0 {
		v := ser.r.at(ser.r.len() - 1)
		style := p.st.Value
		if !math.IsNaN(ser.hot) && v > ser.hot {
			style = p.st.Bad
		}
		// NaN is "not measured this window" (e.g. EDP with no tokens
		// out): say so with the dash the legend explains, never NaN.
		text := none
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			text = ser.value(v)
		}
		line += " " + style.Render(padLeft(text, valueW-1))
	}
	if rangeW > 0 {
		if lo, hi, ok := sparkRange(vals); ok {
			line += " " + p.st.Muted.Render(padLeft(ser.rng(lo, hi), rangeW-1))
		}
	}
	return line
}

// padLeft right-aligns s in w cells (cutting it when longer).
func padLeft(s string, w int) string {
	n := ansi.StringWidth(s)
	if n > w {
		return ansi.Truncate(s, w, "")
	}
	return strings.Repeat(" ", w-n) + s
}
