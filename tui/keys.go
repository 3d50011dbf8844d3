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
	// The GPU selector, enabled (and shown in help) only with several GPUs.
	NextGPU key.Binding
	PrevGPU key.Binding
	PickGPU key.Binding
}

// DefaultKeyMap returns the key bindings, with write actions disabled when
// readOnly is set.
func DefaultKeyMap(readOnly bool) KeyMap {
	k := KeyMap{
		Pause:   key.NewBinding(key.WithKeys("p", " "), key.WithHelp("p/space", "pause/resume")),
		Up:      key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑↓ k j", "move")),
		Down:    key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		Pin:     key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "pin row")),
		PinMHz:  key.NewBinding(key.WithKeys("f"), key.WithHelp("f", "pin MHz")),
		Unpin:   key.NewBinding(key.WithKeys("u"), key.WithHelp("u", "unpin")),
		SLOMode: key.NewBinding(key.WithKeys("m"), key.WithHelp("m", "slo mode")),
		Explore: key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "explore")),
		Reset:   key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "reset model")),
		Help:    key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit:    key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
		NextGPU: key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "next GPU")),
		PrevGPU: key.NewBinding(key.WithKeys("shift+tab"), key.WithHelp("shift+tab", "previous GPU")),
		PickGPU: key.NewBinding(key.WithKeys("1", "2", "3", "4", "5", "6", "7", "8", "9"), key.WithHelp("1-9", "GPU by position")),
	}
	k.setWritable(!readOnly)
	k.setMultiGPU(false)
	return k
}

// setMultiGPU turns the GPU selector on when there is more than one GPU.
func (k *KeyMap) setMultiGPU(on bool) {
	for _, b := range []*key.Binding{&k.NextGPU, &k.PrevGPU, &k.PickGPU} {
		b.SetEnabled(on)
	}
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
	return []key.Binding{k.Help, k.Quit, k.NextGPU, k.Pause, k.Pin, k.PinMHz, k.Unpin, k.SLOMode, k.Explore}
}

// helpOrder is every key in the order the `?` screen lists them.
func (k KeyMap) helpOrder() []key.Binding {
	return []key.Binding{k.Up, k.Pin, k.PinMHz, k.Unpin, k.Pause, k.SLOMode, k.Explore, k.Reset,
		k.NextGPU, k.PrevGPU, k.PickGPU, k.Help, k.Quit}
}

// FullHelp is the `?` screen, grouped into columns.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.Pin, k.PinMHz, k.Unpin},
		{k.Pause, k.SLOMode, k.Explore, k.Reset},
		{k.NextGPU, k.PrevGPU, k.PickGPU},
		{k.Help, k.Quit},
	}
}
