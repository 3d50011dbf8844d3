package tui

import (
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"

	"github.com/gputune/gputune/control"
)

func TestViewGolden(t *testing.T) {
	pinned := func(m Model) Model {
		s := testSnapshot(61)
		s.Actuation, s.PinnedMHz, s.FreqMHz = control.ActPinned, 1500, 1500
		s.Message = "pinned 1500 MHz"
		return step(t, m, snapshotMsg{snap: s})
	}
	tests := []struct {
		name  string
		w, h  int
		opts  func(*Options)
		after func(Model) Model
	}{
		{name: "wide_200x60", w: 200, h: 60},
		{name: "wide_120x40", w: 120, h: 40},
		{name: "stacked_100x30", w: 100, h: 30},
		{name: "stacked_80x24", w: 80, h: 24},
		{name: "compact_79x23", w: 79, h: 23},
		{name: "compact_60x12", w: 60, h: 12},
		{name: "tiny_39x9", w: 39, h: 9},
		{name: "tiny_20x1", w: 20, h: 1},
		{name: "ascii_120x40", w: 120, h: 40, opts: func(o *Options) { o.ASCII = true }},
		{name: "pinned_120x40", w: 120, h: 40, after: pinned},
		{name: "help_120x40", w: 120, h: 40, after: func(m Model) Model { return keys(t, m, keyRunes("?")) }},
		{name: "readonly_help_120x40", w: 120, h: 40, opts: func(o *Options) { o.ReadOnly = true },
			after: func(m Model) Model { return keys(t, m, keyRunes("?")) }},
		{name: "pin_prompt_80x24", w: 80, h: 24, after: func(m Model) Model { return keys(t, m, keyRunes("f"), keyRunes("15")) }},
		{name: "scrolled_100x30", w: 100, h: 30, after: func(m Model) Model {
			for range 60 {
				m = keys(t, m, tea.KeyMsg{Type: tea.KeyDown})
			}
			return m
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _ := testModel(t, tt.w, tt.h, 60, tt.opts)
			if tt.after != nil {
				m = tt.after(m)
			}
			got := m.View()
			checkFits(t, got, tt.w, tt.h)
			requireGolden(t, tt.name, got)
		})
	}
}

func TestViewBeforeFirstSnapshot(t *testing.T) {
	for _, size := range [][2]int{{120, 40}, {80, 24}, {50, 12}, {20, 5}} {
		m, _ := testModel(t, size[0], size[1], 0, nil)
		v := m.View()
		checkFits(t, v, size[0], size[1])
		if !strings.Contains(v, "WAITING") {
			t.Errorf("%dx%d: no WAITING before the first snapshot:\n%s", size[0], size[1], v)
		}
	}
}

// checkFits fails when a line is wider than w or there are more than h.
func checkFits(t testing.TB, view string, w, h int) {
	t.Helper()
	lines := strings.Split(view, "\n")
	if len(lines) > h {
		t.Fatalf("%dx%d: %d lines", w, h, len(lines))
	}
	for i, l := range lines {
		if got := ansi.StringWidth(l); got > w {
			t.Fatalf("%dx%d: line %d is %d cells wide: %q", w, h, i+1, got, l)
		}
	}
}

// TestViewFitsEverySize renders with 256 colours, so escape sequences are in
// the output and widths must be counted ANSI-aware, at every size the issue
// names, in normal, help and prompt states.
func TestViewFitsEverySize(t *testing.T) {
	states := []struct {
		name string
		keys []tea.KeyMsg
	}{
		{"normal", nil},
		{"help", []tea.KeyMsg{keyRunes("?")}},
		{"prompt", []tea.KeyMsg{keyRunes("f"), keyRunes("1234567")}},
	}
	for _, st := range states {
		t.Run(st.name, func(t *testing.T) {
			m, _ := testModel(t, 120, 40, 30, func(o *Options) { o.NoColor = false })
			m = withProfile(m, termenv.ANSI256)
			m = keys(t, m, st.keys...)
			wStep, hStep := 1, 1
			if st.name != "normal" {
				wStep = 7 // the other states share the layout code; sample them
			}
			if raceEnabled {
				hStep = 9 // the race detector makes each frame ~10x slower
			}
			for w := 20; w <= 240; w += wStep {
				for h := 5; h <= 80; h += hStep {
					mm := step(t, m, tea.WindowSizeMsg{Width: w, Height: h})
					checkFits(t, mm.View(), w, h)
				}
			}
		})
	}
}

func TestColourViewHasEscapes(t *testing.T) {
	m, _ := testModel(t, 120, 40, 10, func(o *Options) { o.NoColor = false })
	m = withProfile(m, termenv.ANSI256)
	if v := m.View(); !strings.Contains(v, "\x1b[") {
		t.Fatal("the 256-colour profile rendered no escape sequences")
	}
	m2, _ := testModel(t, 120, 40, 10, nil)
	if v := m2.View(); strings.Contains(v, "\x1b[") {
		t.Fatal("--no-color rendered escape sequences")
	}
}

// target: 2ms
func BenchmarkView(b *testing.B) {
	m, _ := testModel(b, 200, 60, historyLen, func(o *Options) { o.NoColor = false })
	m = withProfile(m, termenv.ANSI256)
	if n := len(m.cur().snap.Arms); n != 110 {
		b.Fatalf("%d arms, want 110", n)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		_ = m.View()
	}
}

// BenchmarkUpdateSnapshot is the per-snapshot cost in the TUI's goroutine:
// storing it and pushing the history rings.
func BenchmarkUpdateSnapshot(b *testing.B) {
	m, _ := testModel(b, 200, 60, 10, nil)
	snaps := make([]control.Snapshot, 64)
	for i := range snaps {
		snaps[i] = testSnapshot(100 + i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		next, _ := m.Update(snapshotMsg{snap: snaps[i%len(snaps)]})
		m = next.(Model)
		i++
	}
}
