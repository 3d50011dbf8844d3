package tui

import "github.com/charmbracelet/bubbles/key"

// KeyMap is every key the TUI answers. It implements help.KeyMap; write
// actions are disabled in read-only mode, which also hides them from help.
type KeyMap struct {
	Pause   key.Binding
	Up      key.Binding
	Down    key.Binding
	Pin     key.Binding
	PinMHz  key.Binding
	Unpin   key.Binding
	SLOMode key.Binding
	Explore key.Binding
	Reset   key.Binding
	Help    key.Binding
	Quit    key.Binding
}

// DefaultKeyMap returns the key bindings, with write actions disabled when
// readOnly is set.
func DefaultKeyMap(readOnly bool) KeyMap {
	k := KeyMap{
		Pause:   key.NewBinding(key.WithKeys("p", " "), key.WithHelp("p/space", "pause/resume")),
		Up:      key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:    key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		Pin:     key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "pin row")),
		PinMHz:  key.NewBinding(key.WithKeys("f"), key.WithHelp("f", "pin MHz")),
		Unpin:   key.NewBinding(key.WithKeys("u"), key.WithHelp("u", "unpin")),
		SLOMode: key.NewBinding(key.WithKeys("m"), key.WithHelp("m", "slo mode")),
		Explore: key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "explore")),
		Reset:   key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "reset model")),
		Help:    key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit:    key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
	}
	k.setWritable(!readOnly)
	return k
}

func (k *KeyMap) setWritable(on bool) {
	for _, b := range k.writes() {
		b.SetEnabled(on)
	}
}

func (k *KeyMap) writes() []*key.Binding {
	return []*key.Binding{&k.Pause, &k.Pin, &k.PinMHz, &k.Unpin, &k.SLOMode, &k.Explore, &k.Reset}
}

// ShortHelp is the footer line. Narrow terminals drop keys from the right,
// so help and quit come first: `?` still leads to the rest.
func (k KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Help, k.Quit, k.Pause, k.Pin, k.PinMHz, k.Unpin, k.SLOMode, k.Explore}
}

// FullHelp is the `?` screen, grouped into columns.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.Pin, k.PinMHz, k.Unpin},
		{k.Pause, k.SLOMode, k.Explore, k.Reset},
		{k.Help, k.Quit},
	}
}
