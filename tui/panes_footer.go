package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// footerLines are the message line (prompt, note, or the loop's message)
// and the short key help. With one line, a message wins over help.
func (m Model) footerLines(w, h int, oneLine bool) []string {
	if h <= 0 || w <= 0 {
		return nil
	}
	msg := m.messageLine()
	helpLine := m.shortHelp(w)
	if oneLine || h == 1 {
		if msg != "" {
			return []string{msg}
		}
		return []string{helpLine}
	}
	return []string{msg, helpLine}
}

func (m Model) messageLine() string {
	st := &m.st
	switch m.mode {
	case modePinInput:
		return st.Prompt.Render("pin clock (MHz): ") + st.Value.Render(string(m.input)+"_") +
			st.Muted.Render("  enter to pin, esc to cancel")
	case modeConfirmReset:
		return st.Warn.Render(fmt.Sprintf("reset the model and forget everything learned (relearns within ±%d MHz of the clock now)? y/n", m.opts.ExploreSpanMHz))
	}
	switch {
	case m.note != "" && m.noteBad:
		return st.Bad.Render(m.note)
	case m.note != "":
		return st.Value.Render(m.note)
	case m.gpus[m.sel].snap.Err != "":
		return st.Bad.Render("error: " + m.gpus[m.sel].snap.Err)
	case m.gpus[m.sel].snap.Message != "":
		return st.Value.Render(m.gpus[m.sel].snap.Message)
	}
	return ""
}

// shortHelp is the footer's key line: the enabled keys that fit, most used
// first. It is built with paints rather than help.Model because it is drawn
// every frame.
func (m Model) shortHelp(w int) string {
	parts := make([]string, 0, 9)
	for _, b := range m.keys.ShortHelp() {
		if !b.Enabled() {
			continue
		}
		h := b.Help()
		parts = append(parts, m.st.Accent.Render(h.Key)+" "+m.st.Muted.Render(h.Desc))
	}
	return joinFit(parts, m.st.Muted.Render(" • "), w)
}

// helpLines is the `?` screen: every key with what it does in a sentence,
// then a legend of the header, the columns, the states and the dash. It
// may be longer than the screen; View shows it from m.helpOff and the
// arrow keys scroll it.
func (m Model) helpLines(w int) []string {
	st := &m.st
	lines := []string{}
	section := func(title string) {
		if len(lines) > 0 {
			lines = append(lines, "")
		}
		lines = append(lines, st.Title.Render(title))
	}
	entry := func(key, text string, keyW int) {
		for i, l := range wrap(text, max(10, w-keyW-3)) {
			k := ""
			if i == 0 {
				k = key
			}
			lines = append(lines, "  "+st.Accent.Render(padRight(k, keyW))+" "+st.Value.Render(l))
		}
	}
	section("keys")
	for _, b := range m.keys.helpOrder() {
		if !b.Enabled() {
			continue
		}
		entry(b.Help().Key, m.keySentence(b), 9)
	}
	if m.opts.ReadOnly || m.gpus[m.sel].snap.Actuation == "readonly" {
		lines = append(lines, st.Muted.Render("  read-only: the keys that change the GPU or the model are off"))
	}
	for _, sec := range legend() {
		section(sec.title)
		for _, e := range sec.entries {
			entry(e[0], e[1], 9)
		}
	}
	return lines
}

// helpView is the part of the help that fits h rows from m.helpOff, under
// a title that says how to scroll and close it.
func (m Model) helpView(w, h int) []string {
	all := m.helpLines(w)
	rows := max(1, h-1)
	off := max(0, min(m.helpOff, len(all)-rows))
	title := m.st.Title.Render("help") + m.st.Muted.Render("  ?/esc close")
	if len(all) > rows {
		title += m.st.Muted.Render(fmt.Sprintf(" · ↑↓/pgdn scroll · %d–%d of %d", off+1, min(off+rows, len(all)), len(all)))
	}
	return append([]string{title}, all[off:min(off+rows, len(all))]...)
}

// wrap breaks text into lines of at most w cells at spaces.
func wrap(text string, w int) []string {
	var out []string
	line := ""
	for _, word := range strings.Fields(text) {
		switch {
		case line == "":
			line = word
		case ansi.StringWidth(line)+1+ansi.StringWidth(word) <= w:
			line += " " + word
		default:
			out = append(out, line)
			line = word
		}
	}
	return append(out, line)
}
