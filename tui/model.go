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
	// It and Send describe one GPU; GPUs, when set, replaces both.
	Snapshots <-chan control.Snapshot
	// Send hands a command to the loop; it must not block. Nil makes every
	// write action report that there is no loop to send to.
	Send func(control.Command)
	// GPUs are one feed per loop (a GPU or a tensor-parallel group) for a
	// node tuned by several loops: tab, shift+tab and 1–9 pick the one
	// shown, and commands go to its loop. The TUI quits when every feed
	// has closed.
	GPUs []GPUFeed
	// ReadOnly disables the write actions and hides them from help.
	ReadOnly bool
	// NoColor renders without colour or attributes (--no-color).
	NoColor bool
	// ASCII draws sparklines with ASCII characters instead of blocks.
	ASCII bool
	// ExploreRounds is how many decisions `x` forces to explore (default 20).
	ExploreRounds int
	// ExploreSpanMHz is how far from the clock in effect `x` (and the
	// relearning after `r`) may go, in MHz (default 150).
	ExploreSpanMHz int
	// Input and Output default to the process's stdin and stdout.
	Input  io.Reader
	Output io.Writer
	// NoAltScreen keeps the normal screen (for tests and captures).
	NoAltScreen bool
}

// GPUFeed is one loop's side of the TUI.
type GPUFeed struct {
	// Label names the GPU (or group) in the selector strip, e.g. "2" or
	// "0+1"; empty uses the index in its snapshots.
	Label string
	// Snapshots is the loop's latest-wins feed.
	Snapshots <-chan control.Snapshot
	// Send hands a command to this loop; it must not block. Nil makes this
	// GPU's write actions report that there is no loop to send to.
	Send func(control.Command)
}

// feeds is every GPU the options describe, the single-GPU fields included.
func (o Options) feeds() []GPUFeed {
	if len(o.GPUs) > 0 {
		return o.GPUs
	}
	return []GPUFeed{{Snapshots: o.Snapshots, Send: o.Send}}
}

func (o Options) output() io.Writer {
	if o.Output == nil {
		return os.Stdout
	}
	return o.Output
}

const (
	defaultExploreRounds  = 20
	defaultExploreSpanMHz = 150
)

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

// Messages the model receives besides Bubble Tea's own; gpu is the
// position of the feed in Options.GPUs (0 for the single feed).
type (
	snapshotMsg struct {
		gpu  int
		snap control.Snapshot
	}
	feedEndedMsg struct{ gpu int }
)

// gpuView is what the TUI keeps per GPU: its feed, latest snapshot,
// history and cursor, so switching GPUs loses nothing.
type gpuView struct {
	feed  GPUFeed
	snap  control.Snapshot
	has   bool
	ended bool
	hist  *history
	// moved: the user has moved the cursor. Until then it follows the arm
	// in effect, mid-table, so the table shows what the loop does and
	// `enter` pins what is running now.
	moved  bool
	cursor int
	offset int
	// cursorArm keeps the cursor on the same arm if the loop reorders rows.
	cursorArm bandit.Arm
}

// Model is the root (and only) Bubble Tea model.
type Model struct {
	opts Options
	keys KeyMap
	help help.Model
	st   styles
	// renderer is kept so tests can force a colour profile.
	renderer *lipgloss.Renderer
	done     <-chan struct{}
	w, h     int
	lay      layout
	// gpus holds one view per feed; sel is the one shown. Update clones
	// the slice before changing it, so a Model value stays a value.
	gpus     []gpuView
	sel      int
	mode     uiMode
	showHelp bool
	helpOff  int // first help line shown
	input    []rune
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
	if opts.ExploreSpanMHz <= 0 {
		opts.ExploreSpanMHz = defaultExploreSpanMHz
	}
	feeds := opts.feeds()
	if !slices.ContainsFunc(feeds, func(f GPUFeed) bool { return f.Send != nil }) {
		opts.ReadOnly = true
	}
	r := newRenderer(opts)
	st := newStyles(r, defaultTheme())
	h := help.New()
	h.Styles = st.Help
	gpus := make([]gpuView, len(feeds))
	for i, f := range feeds {
		gpus[i] = gpuView{feed: f, hist: newHistory(historyLen)}
	}
	keys := DefaultKeyMap(opts.ReadOnly)
	keys.setMultiGPU(len(gpus) > 1)
	m := Model{
		opts:     opts,
		keys:     keys,
		help:     h,
		st:       st,
		renderer: r,
		gpus:     gpus,
	}
	m.keys.setWritable(m.writable())
	return m
}

// cur is the GPU shown.
func (m *Model) cur() *gpuView { return &m.gpus[m.sel] }

// multi reports whether there is a GPU to switch to.
func (m *Model) multi() bool { return len(m.gpus) > 1 }

// writable reports whether write keys act on the GPU shown.
func (m *Model) writable() bool {
	v := m.cur()
	return !m.opts.ReadOnly && v.feed.Send != nil && v.snap.Actuation != control.ActReadOnly
}

// Init starts listening for snapshots on every feed.
func (m Model) Init() tea.Cmd {
	cmds := make([]tea.Cmd, len(m.gpus))
	for i := range m.gpus {
		cmds[i] = m.waitForSnapshot(i)
	}
	return tea.Batch(cmds...)
}

func (m Model) waitForSnapshot(i int) tea.Cmd {
	ch, done := m.gpus[i].feed.Snapshots, m.done
	if ch == nil {
		return nil
	}
	return func() tea.Msg {
		select {
		case s, ok := <-ch:
			if !ok {
				return feedEndedMsg{gpu: i}
			}
			return snapshotMsg{gpu: i, snap: s}
		case <-done:
			return nil
		}
	}
}

// Update applies one message.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	m.gpus = slices.Clone(m.gpus)
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.w, m.h = msg.Width, msg.Height
		m.relayout()
		return m, nil
	case snapshotMsg:
		if msg.gpu < 0 || msg.gpu >= len(m.gpus) {
			return m, nil
		}
		m.applySnapshot(msg.gpu, msg.snap)
		return m, m.waitForSnapshot(msg.gpu)
	case feedEndedMsg:
		return m.feedEnded(msg.gpu)
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
	m.lay = computeLayout(m.w, m.h, len(m.cur().snap.Features), len(m.gpus))
	m.scrollToCursor(m.cur())
}

// applySnapshot stores GPU i's snapshot; only the GPU shown drives the
// keys, the footer note and the layout.
func (m *Model) applySnapshot(i int, s control.Snapshot) {
	v := &m.gpus[i]
	shown := i == m.sel
	prev := v.snap
	v.hist.add(s)
	v.snap = s
	if shown && v.has && (s.Message != prev.Message || s.Err != prev.Err) {
		m.note = ""
	}
	if !v.moved {
		// The loop's first snapshots (warm-up) name no arm: stay put.
		if c := chosenIndex(&s); c >= 0 {
			v.cursor = c
			v.offset = v.cursor - m.armRows()/2
		}
	} else if c := armIndex(s.Arms, v.cursorArm); c >= 0 {
		v.cursor = c
	}
	v.has = true
	v.cursor = max(0, min(v.cursor, len(s.Arms)-1))
	if len(s.Arms) > 0 {
		v.cursorArm = s.Arms[v.cursor].Arm
	}
	if !shown {
		m.scrollToCursor(v)
		return
	}
	m.keys.setWritable(m.writable())
	if len(s.Features) != len(prev.Features) {
		m.relayout()
	}
	m.scrollToCursor(v)
}

// feedEnded marks GPU i's loop as stopped; the TUI quits once every loop
// has (at once for a single GPU, as before).
func (m Model) feedEnded(i int) (tea.Model, tea.Cmd) {
	if i < 0 || i >= len(m.gpus) {
		return m, nil
	}
	m.gpus[i].ended = true
	if !slices.ContainsFunc(m.gpus, func(v gpuView) bool { return !v.ended }) {
		return m, tea.Quit
	}
	m.complain("GPU %s: its control loop stopped", m.gpuLabel(i))
	return m, nil
}

// selectGPU shows GPU i; its cursor, history and note state come with it.
func (m *Model) selectGPU(i int) {
	if i < 0 || i >= len(m.gpus) {
		m.complain("no GPU #%d: there are %d (tab cycles through them)", i+1, len(m.gpus))
		return
	}
	if i == m.sel {
		return
	}
	m.sel = i
	m.keys.setWritable(m.writable())
	m.relayout()
	m.say("showing GPU %s (%d/%d)", m.gpuLabel(i), i+1, len(m.gpus))
}

// gpuLabel is GPU i's name in the strip and messages.
func (m *Model) gpuLabel(i int) string {
	v := &m.gpus[i]
	switch {
	case v.feed.Label != "":
		return v.feed.Label
	case v.has:
		return strconv.Itoa(v.snap.GPU)
	}
	return "#" + strconv.Itoa(i+1)
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

func (m *Model) scrollToCursor(v *gpuView) {
	rows := m.armRows()
	if v.cursor < v.offset {
		v.offset = v.cursor
	}
	if v.cursor >= v.offset+rows {
		v.offset = v.cursor - rows + 1
	}
	v.offset = max(0, min(v.offset, len(v.snap.Arms)-rows))
}

func (m *Model) moveCursor(delta int) {
	v := m.cur()
	if len(v.snap.Arms) == 0 {
		return
	}
	v.cursor = max(0, min(v.cursor+delta, len(v.snap.Arms)-1))
	v.cursorArm = v.snap.Arms[v.cursor].Arm
	v.moved = true
	m.scrollToCursor(v)
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
	send := m.cur().feed.Send
	if send == nil {
		m.complain("no control loop to send %q to", what)
		return
	}
	send(c)
	if m.multi() {
		m.say("sent to GPU %s: %s", m.gpuLabel(m.sel), what)
		return
	}
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
	snap := &m.cur().snap
	switch {
	case key.Matches(msg, k.Quit):
		return m, tea.Quit
	case key.Matches(msg, k.NextGPU):
		m.selectGPU((m.sel + 1) % len(m.gpus))
	case key.Matches(msg, k.PrevGPU):
		m.selectGPU((m.sel + len(m.gpus) - 1) % len(m.gpus))
	case key.Matches(msg, k.PickGPU):
		m.selectGPU(int(msg.Runes[0] - '1'))
	case key.Matches(msg, k.Help):
		m.showHelp, m.helpOff = !m.showHelp, 0
	case msg.Type == tea.KeyEsc:
		m.showHelp = false
	case m.showHelp && m.scrollHelp(msg):
	case key.Matches(msg, k.Up):
		m.moveCursor(-1)
	case key.Matches(msg, k.Down):
		m.moveCursor(1)
	case key.Matches(msg, k.Pause):
		if snap.Actuation == control.ActPaused {
			m.send(control.Command{Kind: control.CmdResume}, "resume")
		} else {
			m.send(control.Command{Kind: control.CmdPause}, "pause")
		}
	case key.Matches(msg, k.Pin):
		c := m.cur().cursor
		if c >= len(snap.Arms) {
			m.complain("no arms to pin yet")
			break
		}
		mhz := snap.Arms[c].SMMHz
		m.send(control.Command{Kind: control.CmdPin, MHz: mhz}, fmt.Sprintf("pin %d MHz", mhz))
	case key.Matches(msg, k.PinMHz):
		m.mode, m.input = modePinInput, m.input[:0]
	case key.Matches(msg, k.Unpin):
		m.send(control.Command{Kind: control.CmdUnpin}, "unpin")
	case key.Matches(msg, k.SLOMode):
		next := bandit.SLOIgnore
		if snap.SLOMode == string(bandit.SLOIgnore) {
			next = bandit.SLOAware
		}
		m.send(control.Command{Kind: control.CmdSetSLOMode, SLOMode: next}, "slo mode "+string(next))
	case key.Matches(msg, k.Explore):
		n, span := m.opts.ExploreRounds, m.opts.ExploreSpanMHz
		m.send(control.Command{Kind: control.CmdForceExplore, Rounds: n, SpanMHz: span},
			fmt.Sprintf("explore %d decisions within ±%d MHz", n, span))
	case key.Matches(msg, k.Reset):
		m.mode = modeConfirmReset
	default:
		if m.isDisabledWrite(msg) {
			m.complain("read-only: key %q changes the GPU or the model and is off", msg.String())
		}
	}
	return m, nil
}

// scrollHelp scrolls the help screen and reports whether msg was a
// scrolling key.
func (m *Model) scrollHelp(msg tea.KeyMsg) bool {
	page := max(1, m.lay.Body.H-2)
	switch {
	case key.Matches(msg, m.keys.Up):
		m.helpOff--
	case key.Matches(msg, m.keys.Down):
		m.helpOff++
	case msg.Type == tea.KeyPgUp:
		m.helpOff -= page
	case msg.Type == tea.KeyPgDown, msg.Type == tea.KeySpace:
		m.helpOff += page
	case msg.Type == tea.KeyHome:
		m.helpOff = 0
	default:
		return false
	}
	total := len(m.helpLines(m.lay.Body.W))
	m.helpOff = max(0, min(m.helpOff, total-max(1, m.lay.Body.H-1)))
	return true
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
		mhz, err := checkPin(text, &m.cur().snap)
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
		m.send(control.Command{Kind: control.CmdResetModel, SpanMHz: m.opts.ExploreSpanMHz},
			fmt.Sprintf("reset model, relearn within ±%d MHz", m.opts.ExploreSpanMHz))
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
