package tui

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/gputune/gputune/control"
)

// modeLabel is the mode in capitals, as the header shows it.
func modeLabel(s *control.Snapshot, has bool) string {
	if !has {
		return "WAITING"
	}
	if s.Mode == "" {
		return "NODATA"
	}
	return strings.ToUpper(string(s.Mode))
}

// actuationLabel is AUTO, PINNED <n> MHz, PAUSED or READONLY; badge is the
// key of its style.
func actuationLabel(s *control.Snapshot) (label, badge string) {
	switch s.Actuation {
	case control.ActPinned:
		return fmt.Sprintf("PINNED %d MHz", s.PinnedMHz), "PINNED"
	case control.ActPaused:
		return "PAUSED", "PAUSED"
	case control.ActReadOnly:
		return "READONLY", "READONLY"
	default:
		return "AUTO", "AUTO"
	}
}

// renderHeader draws the header; gpu names the GPU shown (gpuTitle).
func renderHeader(s *control.Snapshot, has bool, gpu string, w, h int, st *styles) []string {
	if h <= 0 {
		return nil
	}
	mode := modeLabel(s, has)
	modeStyle, ok := st.ModeBadge[mode]
	if !ok {
		modeStyle = st.Badge
	}
	act, actKey := actuationLabel(s)
	left := []string{st.Title.Render("gputune"), modeStyle.badge(mode)}
	if has {
		// The SLO mode stays on the first line at every width: `m`
		// changes it, and the change must show.
		left = append(left, st.ActBadge[actKey].badge(act), sloBadge(s, st))
	}
	if s.Demo {
		left = append(left, st.Demo.badge("DEMO"))
	}
	left = append(left, st.Value.Render(gpu))
	line1 := joinFit(left, " ", w)
	if up := uptime(s); up != "" {
		right := st.Muted.Render("up " + up)
		if gap := w - ansi.StringWidth(line1) - ansi.StringWidth(right); gap >= 1 {
			line1 += strings.Repeat(" ", gap) + right
		}
	}
	lines := []string{line1}
	if h < 2 {
		return lines
	}
	if !has {
		return append(lines, st.Muted.Render("waiting for the control loop's first snapshot…"))
	}
	return append(lines, joinFit(headerFacts(s, st), st.Sep.Render(" · "), w))
}

// sloBadge is the SLO mode and whether the limits hold: "slo-aware ok",
// "slo-aware VIOLATED" or "edp" (limits ignored).
func sloBadge(s *control.Snapshot, st *styles) string {
	mode := s.SLOMode
	if mode == "" {
		mode = "slo ?"
	}
	if mode == "edp" {
		return st.Label.Render("edp") + st.Muted.Render(" (no SLO)")
	}
	if !s.SLOOK {
		return st.Label.Render(mode) + " " + st.Bad.Render("VIOLATED")
	}
	return st.Label.Render(mode) + " " + st.Good.Render("ok")
}

// headerFacts are the second header line's items, most important first so
// a narrow terminal drops the least useful.
func headerFacts(s *control.Snapshot, st *styles) []string {
	kv := func(k, v string) string { return st.Label.Render(k+" ") + st.Value.Render(v) }
	clock := "default governor"
	if s.FreqMHz > 0 {
		clock = fmt.Sprintf("%d MHz", s.FreqMHz)
	}
	meas := none
	if s.SMClockMHz > 0 {
		meas = fmt.Sprintf("%d MHz", s.SMClockMHz)
	}
	facts := []string{
		kv("clock", clock) + st.Muted.Render(" measured "+meas),
		kv("power", fmt.Sprintf("%.1f W", s.PowerW)),
		kv("round", fmt.Sprint(s.Round)),
	}
	alpha := none
	if !math.IsNaN(s.Alpha) && !math.IsInf(s.Alpha, 0) {
		alpha = fmt.Sprintf("%.2f", s.Alpha)
	}
	facts = append(facts,
		kv("objective", s.Objective),
		kv("policy", s.Policy)+st.Muted.Render(" α "+alpha),
	)
	if s.MemFreqMHz > 0 || s.MemClockMHz > 0 {
		facts = append(facts, kv("mem", fmt.Sprintf("%d MHz", s.MemClockMHz)))
	}
	return append(facts, kv("energy", fmtEnergy(s.TotalEnergyJ)))
}

func uptime(s *control.Snapshot) string {
	if s.StartedAt.IsZero() || s.Time.Before(s.StartedAt) {
		return ""
	}
	return fmtDuration(s.Time.Sub(s.StartedAt))
}

// fmtDuration is h:mm:ss, with days in front past a day.
func fmtDuration(d time.Duration) string {
	sec := int64(d / time.Second)
	days, sec := sec/86400, sec%86400
	out := fmt.Sprintf("%d:%02d:%02d", sec/3600, sec%3600/60, sec%60)
	if days > 0 {
		out = fmt.Sprintf("%dd %s", days, out)
	}
	return out
}

func fmtEnergy(j float64) string {
	switch {
	case j >= 1e6:
		return fmt.Sprintf("%.2f MJ", j/1e6)
	case j >= 1e3:
		return fmt.Sprintf("%.1f kJ", j/1e3)
	default:
		return fmt.Sprintf("%.0f J", j)
	}
}

// statusLine is the whole screen on a tiny terminal.
func (m Model) statusLine() string {
	v := &m.gpus[m.sel]
	s := &v.snap
	parts := []string{modeLabel(s, v.has)}
	if v.has {
		act, _ := actuationLabel(s)
		parts = append(parts, act, s.SLOMode,
			fmt.Sprintf("%d MHz", s.SMClockMHz),
			fmt.Sprintf("%.0f W", s.PowerW),
			fmt.Sprintf("r%d", s.Round))
	}
	gpu := fmt.Sprintf("GPU %d", s.GPU)
	if m.multi() {
		gpu = fmt.Sprintf("GPU %s %d/%d", m.gpuLabel(m.sel), m.sel+1, len(m.gpus))
	}
	parts = append(parts, gpu, "(80x24 for more)")
	return joinFit(parts, " ", m.w)
}

// gpuTitle names the GPU shown in the header: index (or group label),
// which of several it is, and the model name.
func (m *Model) gpuTitle() string {
	v := &m.gpus[m.sel]
	title := fmt.Sprintf("GPU %d", v.snap.GPU)
	if m.multi() {
		title = fmt.Sprintf("GPU %s (%d/%d)", m.gpuLabel(m.sel), m.sel+1, len(m.gpus))
	}
	if v.snap.GPUName != "" {
		title += " " + v.snap.GPUName
	}
	return title
}
