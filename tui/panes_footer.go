package tui

import (
	"strings"
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
		return st.Warn.Render("reset the model and forget everything learned? y/n")
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

// helpLines is the `?` screen.
func (m Model) helpLines(w int) []string {
	hp := m.help
	hp.Width = w
	lines := []string{m.st.Title.Render("keys") + m.st.Muted.Render("  (? or esc closes)"), ""}
	lines = append(lines, strings.Split(hp.FullHelpView(m.keys.FullHelp()), "\n")...)
	if m.opts.ReadOnly || m.gpus[m.sel].snap.Actuation == "readonly" {
		lines = append(lines, "", m.st.Muted.Render("read-only: the keys that change the GPU or the model are off"))
	}
	return lines
}
