package tui

import (
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/gputune/gputune/bandit"
	"github.com/gputune/gputune/control"
)

var (
	enter = tea.KeyMsg{Type: tea.KeyEnter}
	down  = tea.KeyMsg{Type: tea.KeyDown}
	up    = tea.KeyMsg{Type: tea.KeyUp}
	esc   = tea.KeyMsg{Type: tea.KeyEsc}
	space = tea.KeyMsg{Type: tea.KeySpace, Runes: []rune{' '}}
)

func TestKeysSendCommands(t *testing.T) {
	paused := func(s *control.Snapshot) { s.Actuation = control.ActPaused }
	edp := func(s *control.Snapshot) { s.SLOMode = string(bandit.SLOIgnore) }
	tests := []struct {
		name   string
		snap   func(*control.Snapshot)
		keys   []tea.KeyMsg
		want   []control.Command
		footer string
	}{
		{name: "p pauses", keys: []tea.KeyMsg{keyRunes("p")},
			want: []control.Command{{Kind: control.CmdPause}}, footer: "sent: pause"},
		{name: "space pauses", keys: []tea.KeyMsg{space}, want: []control.Command{{Kind: control.CmdPause}}},
		{name: "p resumes when paused", snap: paused, keys: []tea.KeyMsg{keyRunes("p")},
			want: []control.Command{{Kind: control.CmdResume}}, footer: "sent: resume"},
		{name: "enter pins the chosen row first", keys: []tea.KeyMsg{enter},
			want: []control.Command{{Kind: control.CmdPin, MHz: 1410}}, footer: "sent: pin 1410 MHz"},
		{name: "cursor moves then enter pins", keys: []tea.KeyMsg{down, down, keyRunes("j"), up, enter},
			want: []control.Command{{Kind: control.CmdPin, MHz: 1440}}},
		{name: "k moves up", keys: []tea.KeyMsg{keyRunes("k"), keyRunes("k"), enter},
			want: []control.Command{{Kind: control.CmdPin, MHz: 1380}}},
		{name: "cursor stops at the top", keys: append(repeat(up, 200), enter),
			want: []control.Command{{Kind: control.CmdPin, MHz: 345}}},
		{name: "cursor stops at the bottom", keys: append(repeat(down, 200), enter),
			want: []control.Command{{Kind: control.CmdPin, MHz: 1980}}},
		{name: "f pins a typed clock", keys: []tea.KeyMsg{keyRunes("f"), keyRunes("1"), keyRunes("5"), keyRunes("00"), enter},
			want: []control.Command{{Kind: control.CmdPin, MHz: 1500}}, footer: "sent: pin 1500 MHz"},
		{name: "f backspace edits", keys: []tea.KeyMsg{keyRunes("f"), keyRunes("15009"), {Type: tea.KeyBackspace}, enter},
			want: []control.Command{{Kind: control.CmdPin, MHz: 1500}}},
		{name: "f esc cancels", keys: []tea.KeyMsg{keyRunes("f"), keyRunes("1500"), esc},
			want: nil, footer: "pin cancelled"},
		{name: "f in prompt q is text not quit", keys: []tea.KeyMsg{keyRunes("f"), keyRunes("q"), enter},
			want: nil, footer: `"q" is not a clock in MHz`},
		{name: "u unpins", keys: []tea.KeyMsg{keyRunes("u")}, want: []control.Command{{Kind: control.CmdUnpin}}},
		{name: "m switches to edp", keys: []tea.KeyMsg{keyRunes("m")},
			want: []control.Command{{Kind: control.CmdSetSLOMode, SLOMode: bandit.SLOIgnore}}, footer: "sent: slo mode edp"},
		{name: "m switches back to slo-aware", snap: edp, keys: []tea.KeyMsg{keyRunes("m")},
			want: []control.Command{{Kind: control.CmdSetSLOMode, SLOMode: bandit.SLOAware}}},
		{name: "x forces exploration", keys: []tea.KeyMsg{keyRunes("x")},
			want: []control.Command{{Kind: control.CmdForceExplore, Rounds: 20, SpanMHz: 150}}},
		{name: "r then y resets", keys: []tea.KeyMsg{keyRunes("r"), keyRunes("y")},
			want: []control.Command{{Kind: control.CmdResetModel, SpanMHz: 150}}, footer: "sent: reset model, relearn within ±150 MHz"},
		{name: "r then n does not reset", keys: []tea.KeyMsg{keyRunes("r"), keyRunes("n")},
			want: nil, footer: "reset cancelled"},
		{name: "r then other key does not reset", keys: []tea.KeyMsg{keyRunes("r"), keyRunes("p")},
			want: nil, footer: "reset cancelled"},
		{name: "help and esc send nothing", keys: []tea.KeyMsg{keyRunes("?"), esc, keyRunes("?"), keyRunes("?")}, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, sent := testModel(t, 120, 40, 5, nil)
			if tt.snap != nil {
				s := testSnapshot(6)
				tt.snap(&s)
				m = step(t, m, snapshotMsg{snap: s})
			}
			m = keys(t, m, tt.keys...)
			if !equalCommands(*sent, tt.want) {
				t.Fatalf("sent %+v, want %+v", *sent, tt.want)
			}
			if tt.footer != "" && !strings.Contains(m.View(), tt.footer) {
				t.Fatalf("footer lacks %q:\n%s", tt.footer, m.View())
			}
		})
	}
}

func repeat(k tea.KeyMsg, n int) []tea.KeyMsg {
	out := make([]tea.KeyMsg, n)
	for i := range out {
		out[i] = k
	}
	return out
}

func equalCommands(a, b []control.Command) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestBadPinSendsNothing(t *testing.T) {
	tests := []struct {
		typed string
		want  string
	}{
		{"", "no clock typed"},
		{"abc", `"abc" is not a clock in MHz`},
		{"-5", `"-5" is not a clock in MHz`},
		{"1501", "1501 MHz is not a supported clock: nearest are 1500 and 1515 MHz"},
		{"100", "100 MHz is outside the operator bounds 345–1980 MHz"},
		{"2100", "2100 MHz is outside the operator bounds 345–1980 MHz"},
	}
	for _, tt := range tests {
		t.Run(tt.typed, func(t *testing.T) {
			m, sent := testModel(t, 120, 40, 3, nil)
			m = keys(t, m, keyRunes("f"))
			if tt.typed != "" {
				m = keys(t, m, keyRunes(tt.typed))
			}
			m = keys(t, m, enter)
			if len(*sent) != 0 {
				t.Fatalf("a bad value sent %+v", *sent)
			}
			if v := m.View(); !strings.Contains(v, tt.want) {
				t.Fatalf("no message %q in:\n%s", tt.want, v)
			}
			if m.mode != modeNormal {
				t.Fatalf("still in the prompt after enter")
			}
		})
	}
}

func TestCheckPinWithoutSupportedListUsesArms(t *testing.T) {
	s := testSnapshot(1)
	s.SupportedMHz, s.ClockMinMHz, s.ClockMaxMHz = nil, 0, 0
	if got, err := checkPin("1980", &s); err != nil || got != 1980 {
		t.Fatalf("checkPin(1980) = %d, %v", got, err)
	}
	if _, err := checkPin("1981", &s); err == nil || !strings.Contains(err.Error(), "nearest is 1980 MHz") {
		t.Fatalf("checkPin(1981) error = %v", err)
	}
	empty := control.Snapshot{}
	if _, err := checkPin("1410", &empty); err == nil {
		t.Fatal("checkPin without any clock list accepted 1410")
	}
}

func TestReadOnlyHidesAndDisablesWrites(t *testing.T) {
	for _, how := range []string{"option", "snapshot"} {
		t.Run(how, func(t *testing.T) {
			m, sent := testModel(t, 120, 40, 3, func(o *Options) { o.ReadOnly = how == "option" })
			if how == "snapshot" {
				s := testSnapshot(4)
				s.Actuation = control.ActReadOnly
				m = step(t, m, snapshotMsg{snap: s})
			}
			for _, k := range []tea.KeyMsg{keyRunes("p"), space, enter, keyRunes("f"), keyRunes("1500"), enter,
				keyRunes("u"), keyRunes("m"), keyRunes("x"), keyRunes("r"), keyRunes("y")} {
				m = keys(t, m, k)
			}
			if len(*sent) != 0 {
				t.Fatalf("read-only sent %+v", *sent)
			}
			if !strings.Contains(m.View(), "read-only") {
				t.Fatalf("no read-only message:\n%s", m.View())
			}
			help := keys(t, m, keyRunes("?")).View()
			for _, hidden := range []string{"pause: hold", "pin the clock under", "type a clock", "unpin:", "switch between slo-aware", "explore for", "forget what the model learned"} {
				if strings.Contains(help, hidden) {
					t.Errorf("read-only help shows %q", hidden)
				}
			}
			if !strings.Contains(help, "quit") {
				t.Errorf("read-only help lacks quit")
			}
		})
	}
}

func TestNoSendMeansReadOnly(t *testing.T) {
	m := NewModel(Options{NoColor: true, Output: discard{}})
	m = step(t, m, tea.WindowSizeMsg{Width: 100, Height: 30})
	m = step(t, m, snapshotMsg{snap: testSnapshot(1)})
	m = keys(t, m, keyRunes("p"))
	if !strings.Contains(m.View(), "read-only") {
		t.Fatalf("nil Send did not make the TUI read-only:\n%s", m.View())
	}
}

func TestQuitKeys(t *testing.T) {
	for _, k := range []tea.KeyMsg{keyRunes("q"), {Type: tea.KeyCtrlC}} {
		m, _ := testModel(t, 80, 24, 1, nil)
		_, cmd := m.Update(k)
		if cmd == nil {
			t.Fatalf("%s: no command", k)
		}
		if _, ok := cmd().(tea.QuitMsg); !ok {
			t.Fatalf("%s did not quit", k)
		}
	}
	// ctrl+c quits from the prompt and the confirmation too.
	for _, first := range []string{"f", "r"} {
		m, _ := testModel(t, 80, 24, 1, nil)
		m = keys(t, m, keyRunes(first))
		_, cmd := m.Update(tea.KeyMsg{Type: tea.KeyCtrlC})
		if cmd == nil {
			t.Fatalf("ctrl+c after %s: no command", first)
		}
		if _, ok := cmd().(tea.QuitMsg); !ok {
			t.Fatalf("ctrl+c after %s did not quit", first)
		}
	}
}

func TestLoopMessageReplacesOwnNote(t *testing.T) {
	m, _ := testModel(t, 120, 40, 3, nil)
	m = keys(t, m, keyRunes("p"))
	if !strings.Contains(m.View(), "sent: pause") {
		t.Fatal("no acknowledgement of the sent command")
	}
	s := testSnapshot(4)
	s.Actuation, s.Message = control.ActPaused, "paused by operator"
	v := step(t, m, snapshotMsg{snap: s}).View()
	if !strings.Contains(v, "paused by operator") || strings.Contains(v, "sent: pause") || !strings.Contains(v, "PAUSED") {
		t.Fatalf("the loop's acknowledgement did not replace the note:\n%s", v)
	}
	s = testSnapshot(5)
	s.Err = "nvml: lock clocks: insufficient permissions"
	if v := step(t, m, snapshotMsg{snap: s}).View(); !strings.Contains(v, "error: nvml: lock clocks") {
		t.Fatalf("the loop's error is not shown:\n%s", v)
	}
}

func TestCursorFollowsArmWhenRowsReorder(t *testing.T) {
	m, sent := testModel(t, 120, 40, 2, nil)
	m = keys(t, m, down) // 1425
	s := testSnapshot(3)
	// Reverse the table: the cursor must stay on 1425, not on row index.
	for i, j := 0, len(s.Arms)-1; i < j; i, j = i+1, j-1 {
		s.Arms[i], s.Arms[j] = s.Arms[j], s.Arms[i]
	}
	m = step(t, m, snapshotMsg{snap: s})
	m = keys(t, m, enter)
	if want := []control.Command{{Kind: control.CmdPin, MHz: 1425}}; !equalCommands(*sent, want) {
		t.Fatalf("sent %+v, want %+v", *sent, want)
	}
}

func TestCursorStaysVisibleWhileScrolling(t *testing.T) {
	m, _ := testModel(t, 100, 30, 3, nil)
	for i := range 120 {
		m = keys(t, m, down)
		if !strings.Contains(m.View(), "\n> ") {
			t.Fatalf("after %d downs the cursor row is off screen", i+1)
		}
	}
	for i := range 120 {
		m = keys(t, m, up)
		if !strings.Contains(m.View(), "\n> ") {
			t.Fatalf("after %d ups the cursor row is off screen", i+1)
		}
	}
}

func TestStateColumn(t *testing.T) {
	s := testSnapshot(1)
	s.Actuation, s.PinnedMHz = control.ActPinned, 1500
	tests := []struct {
		mhz  int
		want string
	}{{1500, "pinned"}, {1410, "chosen"}, {345, "pruned"}, {495, "unsafe"}, {1200, ""}}
	for _, tt := range tests {
		i := armIndex(s.Arms, bandit.Arm{SMMHz: tt.mhz})
		if got := armState(&s, s.Arms[i]); got != tt.want {
			t.Errorf("%d MHz: state %q, want %q", tt.mhz, got, tt.want)
		}
	}
}

// TestRuneBurstIsSplit: Bubble Tea delivers runes read together as one
// message, as tmux send-keys or fast typing produce them.
func TestRuneBurstIsSplit(t *testing.T) {
	m, sent := testModel(t, 120, 40, 3, nil)
	m = keys(t, m, keyRunes("f1500"), enter, keyRunes("ux"))
	want := []control.Command{{Kind: control.CmdPin, MHz: 1500}, {Kind: control.CmdUnpin}, {Kind: control.CmdForceExplore, Rounds: 20, SpanMHz: 150}}
	if !equalCommands(*sent, want) {
		t.Fatalf("sent %+v, want %+v", *sent, want)
	}
	_, cmd := m.Update(keyRunes("jq"))
	if cmd == nil {
		t.Fatal("q inside a burst did not quit")
	}
}

// TestCursorFollowsChosenArmUntilMoved: the real loop's first snapshots
// (warm-up) carry no arms and no chosen clock; once one is named the cursor
// follows the arm in effect, so `enter` pins what is running, until the user
// moves it.
func TestCursorFollowsChosenArmUntilMoved(t *testing.T) {
	m, sent := testModel(t, 120, 40, 0, nil)
	warmup := testSnapshot(0)
	warmup.Arms, warmup.FreqMHz = nil, 0
	m = step(t, m, snapshotMsg{snap: warmup})
	noChoice := testSnapshot(1)
	noChoice.FreqMHz = 0
	m = step(t, m, snapshotMsg{snap: noChoice})
	m = step(t, m, snapshotMsg{snap: testSnapshot(2)}) // 1410 chosen
	later := testSnapshot(3)
	later.FreqMHz = 1800
	m = step(t, m, snapshotMsg{snap: later})
	if !strings.Contains(m.View(), ">  1800") {
		t.Fatalf("the cursor row 1800 (the arm in effect) is not on screen:\n%s", m.View())
	}
	m = keys(t, m, enter)
	m = keys(t, m, up)                                 // the user takes the cursor: 1785
	m = step(t, m, snapshotMsg{snap: testSnapshot(4)}) // the loop goes back to 1410
	m = keys(t, m, enter)
	want := []control.Command{{Kind: control.CmdPin, MHz: 1800}, {Kind: control.CmdPin, MHz: 1785}}
	if !equalCommands(*sent, want) {
		t.Fatalf("sent %+v, want %+v", *sent, want)
	}
}
