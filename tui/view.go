package tui

import (
	"slices"
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// View renders the screen. It reads the model and never changes it; every
// line fits the terminal's width and there are never more lines than rows.
func (m Model) View() string {
	if m.w <= 0 || m.h <= 0 {
		return ""
	}
	l := m.lay
	c := newCanvas(l.H)
	if l.Kind == layoutTiny {
		c.place(l.Header, []string{m.statusLine()})
		c.place(l.Footer, m.footerLines(l.Footer.W, l.Footer.H, true))
		return c.String()
	}
	v := &m.gpus[m.sel]
	c.place(l.Header, renderHeader(&v.snap, v.has, m.gpuTitle(), l.Header.W, l.Header.H, &m.st))
	if l.Strip.H > 0 {
		c.place(l.Strip, []string{m.gpuStrip(l.Strip.W)})
	}
	if m.showHelp {
		c.place(l.Body, m.helpView(l.Body.W, l.Body.H))
	} else {
		sp := sparkPane{hist: v.hist, snap: &v.snap, ascii: m.opts.ASCII, st: &m.st}
		c.place(l.Sparks, sp.render(l.Sparks.W, l.Sparks.H, l.Kind != layoutCompact))
		c.place(l.Features, renderFeatures(&v.snap, v.hist, l.Features.W, l.Features.H, m.opts.ASCII, &m.st))
		c.place(l.Pruned, renderPruned(&v.snap, l.Pruned.W, l.Pruned.H, &m.st))
		ap := armsPane{snap: &v.snap, cursor: v.cursor, offset: v.offset, st: &m.st}
		c.place(l.Arms, ap.render(l.Arms.W, l.Arms.H))
	}
	c.place(l.Footer, m.footerLines(l.Footer.W, l.Footer.H, l.Kind == layoutCompact))
	return c.String()
}

// canvas assembles panes placed in boxes into rows of text. A pane right of
// another is separated from it by a muted bar in the gap column.
type canvas struct {
	rows [][]segment
}

type segment struct {
	x, w  int
	text  string
	width int // cells text takes, measured once
}

func newCanvas(h int) canvas { return canvas{rows: make([][]segment, h)} }

// place puts lines into b, cutting what does not fit.
func (c *canvas) place(b box, lines []string) {
	for i := 0; i < b.H && i < len(lines); i++ {
		y := b.Y + i
		if y < 0 || y >= len(c.rows) {
			continue
		}
		text, width := fitWidthN(lines[i], b.W)
		c.rows[y] = append(c.rows[y], segment{x: b.X, w: b.W, text: text, width: width})
	}
}

func (c *canvas) String() string {
	var sb strings.Builder
	for y, row := range c.rows {
		if y > 0 {
			sb.WriteByte('\n')
		}
		if len(row) > 1 {
			slices.SortFunc(row, func(a, b segment) int { return a.x - b.x })
		}
		col := 0
		for _, s := range row {
			if s.x > col {
				// Pad the previous pane to its box, then draw the gap.
				sb.WriteString(strings.Repeat(" ", s.x-col-1))
				sb.WriteString("│")
				col = s.x
			}
			sb.WriteString(s.text)
			col += s.width
			if len(row) > 1 && col < s.x+s.w {
				sb.WriteString(strings.Repeat(" ", s.x+s.w-col))
				col = s.x + s.w
			}
		}
	}
	return sb.String()
}

// fitWidth cuts s to at most w cells, keeping escape sequences balanced.
func fitWidth(s string, w int) string {
	s, _ = fitWidthN(s, w)
	return s
}

// fitWidthN is fitWidth that also returns the width of the result.
func fitWidthN(s string, w int) (string, int) {
	if w <= 0 {
		return "", 0
	}
	if n := ansi.StringWidth(s); n <= w {
		return s, n
	}
	s = ansi.Truncate(s, w, "")
	return s, ansi.StringWidth(s)
}

// padRight pads s with spaces to w cells (s must already fit).
func padRight(s string, w int) string {
	if n := w - ansi.StringWidth(s); n > 0 {
		return s + strings.Repeat(" ", n)
	}
	return s
}

// joinFit lays parts left to right separated by sep, dropping the parts
// that would overflow w, so a narrow terminal loses the least important
// (last) parts whole rather than mid-word.
func joinFit(parts []string, sep string, w int) string {
	var sb strings.Builder
	used, sepW := 0, ansi.StringWidth(sep)
	for i, p := range parts {
		pw := ansi.StringWidth(p)
		extra := pw
		if i > 0 {
			extra += sepW
		}
		if used+extra > w {
			if i == 0 {
				return fitWidth(p, w)
			}
			break
		}
		if i > 0 {
			sb.WriteString(sep)
		}
		sb.WriteString(p)
		used += extra
	}
	return sb.String()
}
