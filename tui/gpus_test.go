package tui

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"

	"github.com/gputune/gputune/bandit"
	"github.com/gputune/gputune/control"
)

var (
	tab      = tea.KeyMsg{Type: tea.KeyTab}
	shiftTab = tea.KeyMsg{Type: tea.KeyShiftTab}
)

// sentTo is a command and the position of the GPU whose Send got it.
type sentTo struct {
	gpu int
	cmd control.Command
}

// gpuSnapshot is testSnapshot(round) as GPU index idx reports it: each GPU
// at its own mode, actuation, clock and power, so a test can tell which
// one is on screen.
func gpuSnapshot(idx, round int) control.Snapshot {
	s := testSnapshot(round)
	s.GPU = idx
	s.GPUUUID = fmt.Sprintf("GPU-sim-%d", idx)
	s.PowerW += float64(10 * idx)
	switch idx {
	case 1:
		s.Mode = control.ModeExplore
		s.FreqMHz, s.SMClockMHz = 1305, 1305
	case 2:
		s.Actuation, s.PinnedMHz, s.FreqMHz, s.SMClockMHz = control.ActPinned, 1500, 1500, 1500
		s.Message = "pinned 1500 MHz"
	case 3:
		s.Mode = control.ModeWarmup
		s.FreqMHz, s.SMClockMHz = 0, 1980
		s.SLOMode = string(bandit.SLOIgnore)
		s.SLOOK = false
	}
	return s
}

// multiModel is a model with n GPU feeds at w×h that has seen rounds 1..r
// of every GPU (labels "0".."n-1"), recording which GPU each command went
// to.
func multiModel(t testing.TB, w, h, n, rounds int, mutate func(o *Options)) (Model, *[]sentTo) {
	t.Helper()
	sent := &[]sentTo{}
	opts := Options{NoColor: true, Output: discard{}}
	for i := range n {
		opts.GPUs = append(opts.GPUs, GPUFeed{
			Label: fmt.Sprint(i),
			Send:  func(c control.Command) { *sent = append(*sent, sentTo{i, c}) },
		})
	}
	if mutate != nil {
		mutate(&opts)
	}
	m := NewModel(opts)
	m = step(t, m, tea.WindowSizeMsg{Width: w, Height: h})
	for r := 1; r <= rounds; r++ {
		for i := range n {
			m = step(t, m, snapshotMsg{gpu: i, snap: gpuSnapshot(i, r)})
		}
	}
	return m, sent
}

func TestGPUSelectorSwitches(t *testing.T) {
	tests := []struct {
		name    string
		keys    []tea.KeyMsg
		want    int
		heading string
	}{
		{"starts on the first", nil, 0, "GPU 0 (1/4)"},
		{"tab goes to the next", []tea.KeyMsg{tab}, 1, "GPU 1 (2/4)"},
		{"tab wraps around", repeat(tab, 5), 1, "GPU 1 (2/4)"},
		{"shift+tab wraps backwards", []tea.KeyMsg{shiftTab}, 3, "GPU 3 (4/4)"},
		{"digits pick by position", []tea.KeyMsg{keyRunes("3")}, 2, "GPU 2 (3/4)"},
		{"digit past the last changes nothing", []tea.KeyMsg{keyRunes("2"), keyRunes("9")}, 1, "GPU 1 (2/4)"},
		{"typed burst", []tea.KeyMsg{keyRunes("43")}, 2, "GPU 2 (3/4)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, sent := multiModel(t, 120, 40, 4, 5, nil)
			m = keys(t, m, tt.keys...)
			if m.sel != tt.want {
				t.Fatalf("selected %d, want %d", m.sel, tt.want)
			}
			v := m.View()
			if first := strings.SplitN(v, "\n", 2)[0]; !strings.Contains(first, tt.heading) {
				t.Fatalf("header %q lacks %q", first, tt.heading)
			}
			if got := m.cur().snap.GPU; got != tt.want {
				t.Fatalf("shows GPU %d's snapshot, want %d's", got, tt.want)
			}
			if len(*sent) != 0 {
				t.Fatalf("switching sent %+v", *sent)
			}
		})
	}
}

func TestGPUSelectorDigitPastLastSaysSo(t *testing.T) {
	m, _ := multiModel(t, 120, 40, 2, 1, nil)
	m = keys(t, m, keyRunes("5"))
	if v := m.View(); !strings.Contains(v, "no GPU #5: there are 2") {
		t.Fatalf("no message for a GPU past the last:\n%s", v)
	}
}

func TestCommandsReachSelectedGPU(t *testing.T) {
	tests := []struct {
		name string
		keys []tea.KeyMsg
		want []sentTo
	}{
		{"pause goes to the first", []tea.KeyMsg{keyRunes("p")}, []sentTo{{0, control.Command{Kind: control.CmdPause}}}},
		{"tab then pause", []tea.KeyMsg{tab, keyRunes("p")}, []sentTo{{1, control.Command{Kind: control.CmdPause}}}},
		{"enter pins the selected GPU's chosen arm", []tea.KeyMsg{keyRunes("2"), enter},
			[]sentTo{{1, control.Command{Kind: control.CmdPin, MHz: 1305}}}},
		{"f pin to the third", []tea.KeyMsg{keyRunes("3"), keyRunes("f1500"), enter},
			[]sentTo{{2, control.Command{Kind: control.CmdPin, MHz: 1500}}}},
		{"u to the third", []tea.KeyMsg{keyRunes("3u")}, []sentTo{{2, control.Command{Kind: control.CmdUnpin}}}},
		// GPU 3 runs with SLOs ignored, so m switches it back to slo-aware.
		{"m reads the selected GPU's SLO mode", []tea.KeyMsg{shiftTab, keyRunes("m")},
			[]sentTo{{3, control.Command{Kind: control.CmdSetSLOMode, SLOMode: bandit.SLOAware}}}},
		{"x then switch then r y", []tea.KeyMsg{keyRunes("x"), tab, keyRunes("r"), keyRunes("y")}, []sentTo{
			{0, control.Command{Kind: control.CmdForceExplore, Rounds: 20, SpanMHz: 150}},
			{1, control.Command{Kind: control.CmdResetModel, SpanMHz: 150}},
		}},
		{"digits in the pin prompt are the clock", []tea.KeyMsg{keyRunes("f"), keyRunes("1"), keyRunes("410"), enter},
			[]sentTo{{0, control.Command{Kind: control.CmdPin, MHz: 1410}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, sent := multiModel(t, 120, 40, 4, 5, nil)
			m = keys(t, m, tt.keys...)
			if fmt.Sprint(*sent) != fmt.Sprint(tt.want) {
				t.Fatalf("sent %+v, want %+v", *sent, tt.want)
			}
			if len(tt.want) > 0 {
				last := tt.want[len(tt.want)-1]
				if v := m.View(); !strings.Contains(v, fmt.Sprintf("sent to GPU %d:", last.gpu)) {
					t.Fatalf("footer does not say which GPU got it:\n%s", v)
				}
			}
		})
	}
}

// TestEachGPUKeepsItsOwnState checks that histories and cursors are per
// GPU: moving the cursor on one GPU and switching away and back keeps it,
// and the other GPU's sparklines come from its own power series.
func TestEachGPUKeepsItsOwnState(t *testing.T) {
	m, sent := multiModel(t, 120, 40, 2, 30, nil)
	m = keys(t, m, down, down, down) // GPU 0: 1410 → 1455
	m = keys(t, m, tab)
	if m.cur().cursor != chosenIndex(&m.cur().snap) {
		t.Fatalf("GPU 1's cursor moved with GPU 0's")
	}
	m = keys(t, m, tab, enter)
	want := []sentTo{{0, control.Command{Kind: control.CmdPin, MHz: 1455}}}
	if fmt.Sprint(*sent) != fmt.Sprint(want) {
		t.Fatalf("sent %+v, want %+v", *sent, want)
	}
	h0, h1 := m.gpus[0].hist, m.gpus[1].hist
	if h0 == h1 {
		t.Fatal("the GPUs share one history")
	}
	if p0, p1 := h0.power.at(h0.power.len()-1), h1.power.at(h1.power.len()-1); p1-p0 != 10 {
		t.Fatalf("last power %v and %v: want GPU 1's own series, 10 W above GPU 0's", p0, p1)
	}
	// A snapshot of a GPU not shown changes its history, not the screen.
	before := m.View()
	s := gpuSnapshot(1, 31)
	s.Message = "from GPU 1"
	m = step(t, m, snapshotMsg{gpu: 1, snap: s})
	if m.gpus[1].snap.Round != 31 || m.gpus[0].snap.Round != 30 {
		t.Fatalf("rounds %d and %d after GPU 1's snapshot", m.gpus[0].snap.Round, m.gpus[1].snap.Round)
	}
	if after := m.View(); strings.Contains(after, "from GPU 1") || strings.Count(after, "\n") != strings.Count(before, "\n") {
		t.Fatalf("GPU 1's message shows while GPU 0 is selected:\n%s", after)
	}
}

func TestSingleGPUHasNoSelector(t *testing.T) {
	m, sent := testModel(t, 120, 40, 5, nil)
	for _, k := range []tea.KeyMsg{tab, shiftTab, keyRunes("2")} {
		m = keys(t, m, k)
	}
	if m.sel != 0 || len(*sent) != 0 {
		t.Fatalf("selector keys acted on one GPU: sel %d, sent %+v", m.sel, *sent)
	}
	v := m.View()
	if strings.Contains(v, "next GPU") || strings.Contains(v, "(1/1)") {
		t.Fatalf("one GPU shows the selector:\n%s", v)
	}
	help := keys(t, m, keyRunes("?")).View()
	if strings.Contains(help, "next GPU") {
		t.Fatalf("one GPU's help lists the selector:\n%s", help)
	}
}

func TestMultiGPUHelpListsSelector(t *testing.T) {
	m, _ := multiModel(t, 120, 40, 4, 2, nil)
	help := keys(t, m, keyRunes("?")).View()
	for _, want := range []string{"tab", "next GPU", "shift+tab", "previous GPU", "1-9", "position in the strip"} {
		if !strings.Contains(help, want) {
			t.Errorf("help lacks %q:\n%s", want, help)
		}
	}
}

func TestGPUStripListsEveryGPU(t *testing.T) {
	m, _ := multiModel(t, 120, 40, 4, 5, nil)
	strip := strings.Split(m.View(), "\n")[2]
	for _, want := range []string{">GPU 0 EXPLOIT", "GPU 1 EXPLORE 1305 MHz", "GPU 2 EXPLOIT PIN 1500 MHz", "GPU 3 WARMUP! 1980 MHz"} {
		if !strings.Contains(strip, want) {
			t.Errorf("strip %q lacks %q", strip, want)
		}
	}
}

// TestGPUStripNarrowKeepsSelected checks that on a narrow terminal with
// many GPUs the selected one stays in the strip, with `…` for the rest.
func TestGPUStripNarrowKeepsSelected(t *testing.T) {
	m, _ := multiModel(t, 60, 20, 16, 2, func(o *Options) {
		for i := range o.GPUs {
			o.GPUs[i].Label = fmt.Sprint(i + 100)
		}
	})
	for _, sel := range []int{0, 7, 15} {
		mm := keys(t, m, repeat(tab, sel)...)
		strip := mm.gpuStrip(60)
		if w := ansi.StringWidth(strip); w > 60 {
			t.Fatalf("strip is %d cells: %q", w, strip)
		}
		if !strings.Contains(strip, fmt.Sprintf(">%d ", sel+100)) {
			t.Errorf("selected GPU %d missing from %q", sel+100, strip)
		}
		if sel > 0 && !strings.HasPrefix(strip, "…") || sel < 15 && !strings.HasSuffix(strip, "…") {
			t.Errorf("hidden GPUs not marked in %q", strip)
		}
	}
}

func TestFeedEndingQuitsOnlyWhenAllEnd(t *testing.T) {
	m, _ := multiModel(t, 120, 40, 2, 1, nil)
	next, cmd := m.Update(feedEndedMsg{gpu: 1})
	m = next.(Model)
	if cmd != nil {
		t.Fatal("one of two feeds ending quit the TUI")
	}
	if v := m.View(); !strings.Contains(v, "GPU 1: its control loop stopped") || !strings.Contains(v, "stopped") {
		t.Fatalf("no word that GPU 1 stopped:\n%s", v)
	}
	if _, cmd = m.Update(feedEndedMsg{gpu: 0}); cmd == nil {
		t.Fatal("the last feed ending did not quit")
	}
}

func TestMultiGPUGolden(t *testing.T) {
	m, _ := multiModel(t, 120, 40, 4, 60, nil)
	got := m.View()
	checkFits(t, got, 120, 40)
	requireGolden(t, "gpus4_120x40", got)
	got = keys(t, m, keyRunes("3")).View()
	checkFits(t, got, 120, 40)
	requireGolden(t, "gpus4_selected3_120x40", got)
}

// TestMultiGPUViewFitsEverySize is TestViewFitsEverySize with four GPUs:
// header, strip and footer must fit at every size too.
func TestMultiGPUViewFitsEverySize(t *testing.T) {
	m, _ := multiModel(t, 120, 40, 4, 30, func(o *Options) { o.NoColor = false })
	m = withProfile(m, termenv.ANSI256)
	m = keys(t, m, tab)
	hStep := 1
	if raceEnabled {
		hStep = 9
	}
	for w := 20; w <= 240; w++ {
		for h := 5; h <= 80; h += hStep {
			mm := step(t, m, tea.WindowSizeMsg{Width: w, Height: h})
			v := mm.View()
			plain := ansi.Strip(v)
			checkFits(t, v, w, h)
			if h >= tinyMaxH && w >= tinyMaxW && !strings.Contains(plain, ">GPU 1 ") && !strings.Contains(plain, ">1 ") {
				t.Fatalf("%dx%d: the strip does not mark the selected GPU:\n%s", w, h, v)
			}
		}
	}
}

// target: 2ms
func BenchmarkViewFourGPUs(b *testing.B) {
	m, _ := multiModel(b, 200, 60, 4, historyLen, func(o *Options) { o.NoColor = false })
	m = withProfile(m, termenv.ANSI256)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		_ = m.View()
	}
}

// TestRunWithSeveralFeeds runs the program on two feeds: tab then p
// pauses the second GPU's loop only, and the program returns once both
// feeds have closed.
func TestRunWithSeveralFeeds(t *testing.T) {
	snaps := []chan control.Snapshot{make(chan control.Snapshot, 1), make(chan control.Snapshot, 1)}
	logs := []*commandLog{{got: make(chan struct{}, 1)}, {got: make(chan struct{}, 1)}}
	inR, inW := io.Pipe()
	defer inW.Close()
	opts := Options{Input: inR, Output: &lockedBuffer{}, NoAltScreen: true, NoColor: true}
	for i := range snaps {
		opts.GPUs = append(opts.GPUs, GPUFeed{Label: fmt.Sprint(i), Snapshots: snaps[i], Send: logs[i].send})
	}
	done := runAsync(context.Background(), opts)
	snaps[0] <- gpuSnapshot(0, 1)
	snaps[1] <- gpuSnapshot(1, 1)
	if _, err := inW.Write([]byte("\tp")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-logs[1].got:
	case <-time.After(5 * time.Second):
		t.Fatal("no command reached GPU 1 after tab p")
	}
	close(snaps[0])
	close(snaps[1])
	waitRun(t, done)
	for i, want := range [][]control.Command{nil, {{Kind: control.CmdPause}}} {
		logs[i].mu.Lock()
		got := logs[i].cmds
		logs[i].mu.Unlock()
		if !equalCommands(got, want) {
			t.Errorf("GPU %d got %+v, want %+v", i, got, want)
		}
	}
}
