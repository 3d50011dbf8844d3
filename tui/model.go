// Package tui is gputune's interactive terminal UI: one Bubble Tea model
// that renders the control loop's Snapshots and turns keys into Commands.
// It only reads snapshots and sends commands without blocking, so a slow
// terminal never slows the loop.
package tui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/gputune/gputune/bandit"
	"github.com/gputune/gputune/control"
)

// Options configure the TUI.
type Options struct {
	// Snapshots is the loop's latest-wins feed. When it closes, the TUI quits.
	Snapshots <-chan control.Snapshot
	// Send hands a command to the loop; it must not block. Nil makes every
	// write action report that there is no loop to send to.
	Send func(control.Command)
	// ReadOnly disables the write actions and hides them from help.
	ReadOnly bool
	// NoColor renders without colour or attributes (--no-color).
	NoColor bool
	// ASCII draws sparklines with ASCII characters instead of blocks.
	ASCII bool
	// ExploreRounds is how many decisions `x` forces to explore (default 20).
	ExploreRounds int
	// Input and Output default to the process's stdin and stdout.
	Input  io.Reader
	Output io.Writer
	// NoAltScreen keeps the normal screen (for tests and captures).
	NoAltScreen bool
}

func (o Options) output() io.Writer {
	if o.Output == nil {
		return os.Stdout
	}
	return o.Output
}

const defaultExploreRounds = 20

// Run shows the TUI until the user quits, ctx is done or the snapshot feed
// closes; all three return nil. Giving the clocks back is the caller's job.
func Run(ctx context.Context, opts Options) error {
	// Cancelling on return also ends the goroutine waiting for a snapshot.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	m := NewModel(opts)
	m.done = ctx.Done()
	popts := []tea.ProgramOption{tea.WithContext(ctx), tea.WithOutput(opts.output())}
	if opts.Input != nil {
		popts = append(popts, tea.WithInput(opts.Input))
	}
	if !opts.NoAltScreen {
		popts = append(popts, tea.WithAltScreen())
	}
	_, err := tea.NewProgram(m, popts...).Run()
	switch {
	case err == nil, errors.Is(err, tea.ErrInterrupted):
		return nil
	case errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil:
		return nil
	}
	return fmt.Errorf("tui: %w", err)
}

// uiMode is what keys currently mean.
type uiMode int

const (
	modeNormal       uiMode = iota
	modePinInput            // typing a clock after `f`
	modeConfirmReset        // waiting for y/n after `r`
)

// Messages the model receives besides Bubble Tea's own.
type (
	snapshotMsg  struct{ snap control.Snapshot }
	feedEndedMsg struct{}
)

// Model is the root (and only) Bubble Tea model.
type Model struct {
	opts Options
	keys KeyMap
	help help.Model
	st   styles
	// renderer is kept so tests can force a colour profile.
	renderer *lipgloss.Renderer
	hist     *history
	done     <-chan struct{}
	w, h     int
	lay      layout
	snap     control.Snapshot
	has      bool
	// moved: the user has moved the cursor. Until then it follows the arm
	// in effect, mid-table, so the table shows what the loop does and
	// `enter` pins what is running now.
	moved  bool
	cursor int
	offset int
	// cursorArm keeps the cursor on the same arm if the loop reorders rows.
	cursorArm bandit.Arm
	mode      uiMode
	showHelp  bool
	input     []rune
	// note is the TUI's own last message; it gives way when the loop's
	// Message or Err changes, since that is the newer news.
	note    string
	noteBad bool
}

// NewModel builds the model; tests drive it with Update and View.
func NewModel(opts Options) Model {
	if opts.ExploreRounds <= 0 {
		opts.ExploreRounds = defaultExploreRounds
	}
	if opts.Send == nil {
		opts.ReadOnly = true
	}
	r := newRenderer(opts)
	st := newStyles(r, defaultTheme())
	h := help.New()
	h.Styles = st.Help
	return Model{
		opts:     opts,
		keys:     DefaultKeyMap(opts.ReadOnly),
		help:     h,
		st:       st,
		hist:     newHistory(historyLen),
		renderer: r,
	}
}

// Init starts listening for snapshots.
func (m Model) Init() tea.Cmd { return m.waitForSnapshot() }

func (m Model) waitForSnapshot() tea.Cmd {
	ch, done := m.opts.Snapshots, m.done
	if ch == nil {
		return nil
	}
	return func() tea.Msg {
		select {
		case s, ok := <-ch:
			if !ok {
				return feedEndedMsg{}
			}
			return snapshotMsg{s}
		case <-done:
			return nil
		}
	}
}

// Update applies one message.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.w, m.h = msg.Width, msg.Height
		m.relayout()
		return m, nil
	case snapshotMsg:
		m.applySnapshot(msg.snap)
		return m, m.waitForSnapshot()
	case feedEndedMsg:
		return m, tea.Quit
	case tea.KeyMsg:
		return m.handleKeys(msg)
	}
	return m, nil
}

// handleKeys splits a burst of typed runes (Bubble Tea delivers "f1500"
// read in one go as one message) into single keys, so fast typing and
// scripted keys mean the same as slow typing.
func (m Model) handleKeys(msg tea.KeyMsg) (tea.Model, tea.Cmd) {
	if msg.Type != tea.KeyRunes || len(msg.Runes) <= 1 || msg.Paste {
		return m.handleKey(msg)
	}
	var cmds []tea.Cmd
	for _, r := range msg.Runes {
		next, cmd := m.handleKey(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}, Alt: msg.Alt})
		m = next.(Model)
		if cmd != nil {
			cmds = append(cmds, cmd)
		}
	}
	return m, tea.Sequence(cmds...)
}

func (m *Model) relayout() {
	m.lay = computeLayout(m.w, m.h, len(m.snap.Features))
	m.scrollToCursor()
}

func (m *Model) applySnapshot(s control.Snapshot) {
	prev := m.snap
	m.hist.add(s)
	m.snap = s
	if m.has && (s.Message != prev.Message || s.Err != prev.Err) {
		m.note = ""
	}
	readOnly := m.opts.ReadOnly || s.Actuation == control.ActReadOnly
	m.keys.setWritable(!readOnly)
	if !m.moved {
		// The loop's first snapshots (warm-up) name no arm: stay put.
		if i := chosenIndex(&s); i >= 0 {
			m.cursor = i
			m.offset = m.cursor - m.armRows()/2
		}
	} else if i := armIndex(s.Arms, m.cursorArm); i >= 0 {
		m.cursor = i
	}
	m.has = true
	m.cursor = max(0, min(m.cursor, len(s.Arms)-1))
	if len(s.Arms) > 0 {
		m.cursorArm = s.Arms[m.cursor].Arm
	}
	if len(s.Features) != len(prev.Features) {
		m.relayout()
	}
	m.scrollToCursor()
}

func armIndex(arms []bandit.ArmScore, a bandit.Arm) int {
	return slices.IndexFunc(arms, func(s bandit.ArmScore) bool { return s.Arm == a })
}

// chosenIndex is the row of the arm the loop commands now, or -1.
func chosenIndex(s *control.Snapshot) int {
	return slices.IndexFunc(s.Arms, func(a bandit.ArmScore) bool { return isChosen(s, a.Arm) })
}

func isChosen(s *control.Snapshot, a bandit.Arm) bool {
	return s.FreqMHz != 0 && a.SMMHz == s.FreqMHz && (s.MemFreqMHz == 0 || a.MemMHz == 0 || a.MemMHz == s.MemFreqMHz)
}

// armRows is how many table rows the current layout shows.
func (m *Model) armRows() int { return max(1, m.lay.Arms.H-armsChromeRows) }

func (m *Model) scrollToCursor() {
	rows := m.armRows()
	if m.cursor < m.offset {
		m.offset = m.cursor
	}
	if m.cursor >= m.offset+rows {
		m.offset = m.cursor - rows + 1
	}
	m.offset = max(0, min(m.offset, len(m.snap.Arms)-rows))
}

func (m *Model) moveCursor(delta int) {
	if len(m.snap.Arms) == 0 {
		return
	}
	m.cursor = max(0, min(m.cursor+delta, len(m.snap.Arms)-1))
	m.cursorArm = m.snap.Arms[m.cursor].Arm
	m.moved = true
	m.scrollToCursor()
}

func (m *Model) say(format string, args ...any) {
	m.note, m.noteBad = fmt.Sprintf(format, args...), false
}

func (m *Model) complain(format string, args ...any) {
	m.note, m.noteBad = fmt.Sprintf(format, args...), true
}

// send hands c to the loop. The loop acknowledges in a later snapshot; until
// then the footer says what was sent.
func (m *Model) send(c control.Command, what string) {
	if m.opts.Send == nil {
		m.complain("no control loop to send %q to", what)
		return
	}
	m.opts.Send(c)
	m.say("sent: %s", what)
}

func (m Model) handleKey(msg tea.KeyMsg) (tea.Model, tea.Cmd) {
	switch m.mode {
	case modePinInput:
		return m.pinInputKey(msg)
	case modeConfirmReset:
		return m.confirmResetKey(msg)
	}
	k := &m.keys
	switch {
	case key.Matches(msg, k.Quit):
		return m, tea.Quit
	case key.Matches(msg, k.Help):
		m.showHelp = !m.showHelp
	case msg.Type == tea.KeyEsc:
		m.showHelp = false
	case key.Matches(msg, k.Up):
		m.moveCursor(-1)
	case key.Matches(msg, k.Down):
		m.moveCursor(1)
	case key.Matches(msg, k.Pause):
		if m.snap.Actuation == control.ActPaused {
			m.send(control.Command{Kind: control.CmdResume}, "resume")
		} else {
			m.send(control.Command{Kind: control.CmdPause}, "pause")
		}
	case key.Matches(msg, k.Pin):
		if m.cursor >= len(m.snap.Arms) {
			m.complain("no arms to pin yet")
			break
		}
		mhz := m.snap.Arms[m.cursor].SMMHz
		m.send(control.Command{Kind: control.CmdPin, MHz: mhz}, fmt.Sprintf("pin %d MHz", mhz))
	case key.Matches(msg, k.PinMHz):
		m.mode, m.input = modePinInput, m.input[:0]
	case key.Matches(msg, k.Unpin):
		m.send(control.Command{Kind: control.CmdUnpin}, "unpin")
	case key.Matches(msg, k.SLOMode):
		next := bandit.SLOIgnore
		if m.snap.SLOMode == string(bandit.SLOIgnore) {
			next = bandit.SLOAware
		}
		m.send(control.Command{Kind: control.CmdSetSLOMode, SLOMode: next}, "slo mode "+string(next))
	case key.Matches(msg, k.Explore):
		n := m.opts.ExploreRounds
		m.send(control.Command{Kind: control.CmdForceExplore, Rounds: n}, fmt.Sprintf("explore %d rounds", n))
	case key.Matches(msg, k.Reset):
		m.mode = modeConfirmReset
	default:
		if m.isDisabledWrite(msg) {
			m.complain("read-only: key %q changes the GPU or the model and is off", msg.String())
		}
	}
	return m, nil
}

// isDisabledWrite reports whether msg is a write key turned off by read-only
// mode, so pressing it explains itself instead of doing nothing.
func (m *Model) isDisabledWrite(msg tea.KeyMsg) bool {
	for _, b := range m.keys.writes() {
		if !b.Enabled() && slices.Contains(b.Keys(), msg.String()) {
			return true
		}
	}
	return false
}

const maxPinInput = 8

func (m Model) pinInputKey(msg tea.KeyMsg) (tea.Model, tea.Cmd) {
	switch msg.Type {
	case tea.KeyCtrlC:
		return m, tea.Quit
	case tea.KeyEsc:
		m.mode = modeNormal
		m.say("pin cancelled")
	case tea.KeyEnter:
		m.mode = modeNormal
		text := string(m.input)
		mhz, err := checkPin(text, &m.snap)
		if err != nil {
			m.complain("%v", err)
			break
		}
		m.send(control.Command{Kind: control.CmdPin, MHz: mhz}, fmt.Sprintf("pin %d MHz", mhz))
	case tea.KeyBackspace:
		if len(m.input) > 0 {
			m.input = m.input[:len(m.input)-1]
		}
	case tea.KeyRunes:
		if len(m.input)+len(msg.Runes) <= maxPinInput {
			m.input = append(m.input, msg.Runes...)
		}
	}
	return m, nil
}

func (m Model) confirmResetKey(msg tea.KeyMsg) (tea.Model, tea.Cmd) {
	m.mode = modeNormal
	switch msg.String() {
	case "ctrl+c":
		return m, tea.Quit
	case "y", "Y":
		m.send(control.Command{Kind: control.CmdResetModel}, "reset model")
	default:
		m.say("reset cancelled")
	}
	return m, nil
}

// checkPin parses a typed clock and checks it against the operator bounds
// and the GPU's supported clocks, saying what to type instead when wrong.
func checkPin(text string, s *control.Snapshot) (int, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return 0, errors.New("no clock typed: type a clock in MHz, e.g. 1410")
	}
	mhz, err := strconv.Atoi(text)
	if err != nil || mhz <= 0 {
		return 0, fmt.Errorf("%q is not a clock in MHz: type a positive whole number, e.g. 1410", text)
	}
	if s.ClockMinMHz > 0 && mhz < s.ClockMinMHz || s.ClockMaxMHz > 0 && mhz > s.ClockMaxMHz {
		return 0, fmt.Errorf("%d MHz is outside the operator bounds %d–%d MHz", mhz, s.ClockMinMHz, s.ClockMaxMHz)
	}
	supported := s.SupportedMHz
	if len(supported) == 0 {
		for _, a := range s.Arms {
			supported = append(supported, a.SMMHz)
		}
	}
	if len(supported) == 0 {
		return 0, errors.New("the supported clocks are not known yet: wait for the loop's first snapshot")
	}
	if slices.Contains(supported, mhz) {
		return mhz, nil
	}
	below, above := nearest(supported, mhz)
	switch {
	case below > 0 && above > 0:
		return 0, fmt.Errorf("%d MHz is not a supported clock: nearest are %d and %d MHz", mhz, below, above)
	case below > 0:
		return 0, fmt.Errorf("%d MHz is not a supported clock: nearest is %d MHz", mhz, below)
	default:
		return 0, fmt.Errorf("%d MHz is not a supported clock: nearest is %d MHz", mhz, above)
	}
}

// nearest returns the closest supported clocks below and above mhz (0 when
// there is none).
func nearest(supported []int, mhz int) (below, above int) {
	for _, c := range supported {
		if c < mhz && c > below {
			below = c
		}
		if c > mhz && (above == 0 || c < above) {
			above = c
		}
	}
	return below, above
}
