package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/gputune/gputune/control"
)

// stripDetail is how much each GPU's entry in the strip says; a narrower
// terminal gets a terser entry before GPUs are left out.
type stripDetail int

const (
	stripRich  stripDetail = iota // GPU 0 EXPLOIT PINNED 1500 MHz 280 W
	stripPlain                    // GPU 0 EXPLOIT PIN 1500 MHz
	stripTerse                    // 0 EXPLOIT PIN 1500
)

const stripSep = "  "

// gpuStrip is the selector line shown with several GPUs: every GPU's
// mode, actuation and measured clock, the one shown marked with `>`, so
// operators see the whole node at a glance. When even the terse entries do
// not fit, it shows a window of GPUs around the selected one, with `…`
// where GPUs are left out.
func (m Model) gpuStrip(w int) string {
	if w <= 0 {
		return ""
	}
	entries := make([]string, len(m.gpus))
	widths := make([]int, len(m.gpus))
	sepW := len(stripSep)
	for d := stripRich; d <= stripTerse; d++ {
		total := 0
		for i := range m.gpus {
			entries[i] = m.stripEntry(i, d)
			widths[i] = ansi.StringWidth(entries[i])
			total += widths[i]
		}
		total += sepW * (len(m.gpus) - 1)
		if total <= w {
			return strings.Join(entries, stripSep)
		}
	}
	// Widen a window around the selected GPU while it fits, keeping room
	// for the `… ` and ` …` that say GPUs are hidden.
	const moreW = 2
	lo, hi := m.sel, m.sel+1
	used := widths[m.sel]
	fits := func(extra, nlo, nhi int) bool {
		room := w
		if nlo > 0 {
			room -= moreW
		}
		if nhi < len(m.gpus) {
			room -= moreW
		}
		return used+extra <= room
	}
	for grew := true; grew; {
		grew = false
		if hi < len(m.gpus) && fits(sepW+widths[hi], lo, hi+1) {
			used += sepW + widths[hi]
			hi++
			grew = true
		}
		if lo > 0 && fits(sepW+widths[lo-1], lo-1, hi) {
			used += sepW + widths[lo-1]
			lo--
			grew = true
		}
	}
	var sb strings.Builder
	if lo > 0 {
		sb.WriteString(m.st.Muted.Render("…") + " ")
	}
	sb.WriteString(strings.Join(entries[lo:hi], stripSep))
	if hi < len(m.gpus) {
		sb.WriteString(" " + m.st.Muted.Render("…"))
	}
	return fitWidth(sb.String(), w)
}

// stripEntry is GPU i's part of the strip at detail d.
func (m *Model) stripEntry(i int, d stripDetail) string {
	st := &m.st
	v := &m.gpus[i]
	s := &v.snap
	name := m.gpuLabel(i)
	if d != stripTerse {
		name = "GPU " + name
	}
	if i == m.sel {
		name = st.Cursor.Render(">" + name)
	} else {
		name = " " + st.Value.Render(name)
	}
	parts := []string{name}
	mode := modeLabel(s, v.has)
	modeStyle, ok := st.ModeText[mode]
	if !ok {
		modeStyle = st.Muted
	}
	mode = modeStyle.Render(mode)
	if v.has && !s.SLOOK && s.Mode != "" {
		mode += st.Bad.Render("!")
	}
	parts = append(parts, mode)
	if v.ended {
		return strings.Join(append(parts, st.Bad.Render("stopped")), " ")
	}
	if !v.has {
		return strings.Join(parts, " ")
	}
	if act := stripActuation(s, d); act != "" {
		actStyle := st.Warn
		if s.Actuation == control.ActPinned {
			actStyle = st.Pinned
		}
		parts = append(parts, actStyle.Render(act))
	}
	clock := fmt.Sprint(s.SMClockMHz)
	if d != stripTerse {
		clock += " MHz"
	}
	parts = append(parts, st.Value.Render(clock))
	if d == stripRich {
		parts = append(parts, st.Muted.Render(fmt.Sprintf("%.0f W", s.PowerW)))
	}
	return strings.Join(parts, " ")
}

// stripActuation is the actuation when it is not AUTO, shortened below
// the richest detail.
func stripActuation(s *control.Snapshot, d stripDetail) string {
	var long, short string
	switch s.Actuation {
	case control.ActPinned:
		long, short = fmt.Sprintf("PINNED %d", s.PinnedMHz), "PIN"
	case control.ActPaused:
		long, short = "PAUSED", "PAUSE"
	case control.ActReadOnly:
		long, short = "READONLY", "RO"
	default:
		return ""
	}
	if d == stripRich {
		return long
	}
	return short
}
