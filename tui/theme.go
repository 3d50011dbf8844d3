package tui

import (
	"strings"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

// theme is the one palette. It uses ANSI-256 indices because sudo drops
// COLORTERM, so termenv rarely detects more than 256 colours over SSH; the
// indices are picked to stay readable on dark and light backgrounds alike.
type theme struct {
	Text, Muted, Accent  lipgloss.Color
	Good, Warn, Bad      lipgloss.Color
	Explore, Pin, Idle   lipgloss.Color
	BadgeFg              lipgloss.Color
	CursorBg, ChosenText lipgloss.Color
}

func defaultTheme() theme {
	return theme{
		Text:       "252",
		Muted:      "244",
		Accent:     "75",
		Good:       "42",
		Warn:       "214",
		Bad:        "196",
		Explore:    "39",
		Pin:        "170",
		Idle:       "244",
		BadgeFg:    "16",
		CursorBg:   "238",
		ChosenText: "42",
	}
}

// styles are every style a pane may use; panes never build styles with raw
// colours, so --no-color and the palette live in one place.
type styles struct {
	Title, Label, Muted, Value paint
	Accent                     paint
	Good, Warn, Bad            paint
	Sep                        paint
	Cursor, Chosen, Pinned     paint
	Pruned, Unsafe             paint
	Prompt                     paint
	Badge                      paint // base for mode and actuation badges
	ModeBadge                  map[string]paint
	ModeText                   map[string]paint // the mode's colour as text, for the GPU strip
	ActBadge                   map[string]paint
	Demo                       paint
	Help                       help.Styles
}

// badge pads a label so its background reads as a tag.
func (p paint) badge(label string) string { return p.Render(" " + label + " ") }

// paint is a style reduced to the escape sequences around its text. A
// frame paints hundreds of cells, and lipgloss's Render (padding, borders,
// width measuring) is most of a frame's cost when called for each.
type paint struct{ pre, post string }

func newPaint(st lipgloss.Style) paint {
	const mark = "X" // no escape sequence contains an X
	out := st.Render(mark)
	i := strings.Index(out, mark)
	if i < 0 {
		return paint{}
	}
	return paint{pre: out[:i], post: out[i+len(mark):]}
}

// Render wraps s in the style's sequences; s must be a single line.
func (p paint) Render(s string) string {
	if p.pre == "" && p.post == "" {
		return s
	}
	return p.pre + s + p.post
}

// newRenderer returns a renderer bound to out that never probes the
// terminal: a background-colour query sent after Bubble Tea owns stdin
// comes back as keystrokes.
func newRenderer(o Options) *lipgloss.Renderer {
	r := lipgloss.NewRenderer(o.output())
	r.SetHasDarkBackground(true)
	if o.NoColor {
		r.SetColorProfile(termenv.Ascii)
	}
	return r
}

func newStyles(r *lipgloss.Renderer, t theme) styles {
	s := r.NewStyle
	badgeStyle := s().Bold(true).Foreground(t.BadgeFg)
	badge := func(bg lipgloss.Color) paint { return newPaint(badgeStyle.Background(bg)) }
	st := styles{
		Title:  newPaint(s().Bold(true).Foreground(t.Accent)),
		Label:  newPaint(s().Foreground(t.Muted)),
		Accent: newPaint(s().Foreground(t.Accent)),
		Muted:  newPaint(s().Foreground(t.Muted)),
		Value:  newPaint(s().Foreground(t.Text)),
		Good:   newPaint(s().Foreground(t.Good)),
		Warn:   newPaint(s().Foreground(t.Warn)),
		Bad:    newPaint(s().Foreground(t.Bad).Bold(true)),
		Sep:    newPaint(s().Foreground(t.Muted)),
		Badge:  badge(t.Idle),
		ModeBadge: map[string]paint{
			"WARMUP":    badge(t.Warn),
			"EXPLORE":   badge(t.Explore),
			"EXPLOIT":   badge(t.Good),
			"EMERGENCY": badge(t.Bad),
			"IDLE":      badge(t.Idle),
			"NODATA":    badge(t.Bad),
		},
		ModeText: map[string]paint{
			"WARMUP":    newPaint(s().Foreground(t.Warn)),
			"EXPLORE":   newPaint(s().Foreground(t.Explore)),
			"EXPLOIT":   newPaint(s().Foreground(t.Good)),
			"EMERGENCY": newPaint(s().Foreground(t.Bad).Bold(true)),
			"IDLE":      newPaint(s().Foreground(t.Idle)),
			"NODATA":    newPaint(s().Foreground(t.Bad)),
		},
		ActBadge: map[string]paint{
			"AUTO":     badge(t.Good),
			"PINNED":   badge(t.Pin),
			"PAUSED":   badge(t.Warn),
			"READONLY": badge(t.Idle),
		},
		Demo:   badge(t.Pin),
		Cursor: newPaint(s().Background(t.CursorBg).Bold(true)),
		Chosen: newPaint(s().Foreground(t.ChosenText).Bold(true)),
		Pinned: newPaint(s().Foreground(t.Pin).Bold(true)),
		Pruned: newPaint(s().Foreground(t.Muted).Faint(true)),
		Unsafe: newPaint(s().Foreground(t.Warn)),
		Prompt: newPaint(s().Foreground(t.Accent).Bold(true)),
		Help: help.Styles{
			Ellipsis:       s().Foreground(t.Muted),
			ShortKey:       s().Foreground(t.Accent),
			ShortDesc:      s().Foreground(t.Muted),
			ShortSeparator: s().Foreground(t.Muted),
			FullKey:        s().Foreground(t.Accent),
			FullDesc:       s().Foreground(t.Muted),
			FullSeparator:  s().Foreground(t.Muted),
		},
	}
	return st
}
