package tui

import (
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/muesli/termenv"

	"github.com/gputune/gputune/bandit"
	"github.com/gputune/gputune/control"
)

var update = flag.Bool("update", false, "rewrite tui/testdata/*.golden from the current output")

var testStart = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// testSnapshot is a realistic snapshot of an H100 serving a model: 110 arms
// from 345 to 1980 MHz in 15 MHz steps, the lowest ten pruned, the next five
// unsafe, six context features, and values that move with the round so
// histories have shape.
func testSnapshot(round int) control.Snapshot {
	const n = 110
	phase := float64(round)
	freq := 1410
	s := control.Snapshot{
		Time:      testStart.Add(time.Duration(round) * 300 * time.Millisecond).Add(time.Hour + 2*time.Minute + 3*time.Second),
		StartedAt: testStart,
		Round:     round,
		GPU:       0,
		GPUUUID:   "GPU-5f1e0c33-7a2b-4c1d-9e8f-0123456789ab",
		GPUName:   "NVIDIA H100 80GB HBM3",
		Demo:      true,
		Mode:      control.ModeExploit,
		Actuation: control.ActAuto,
		Policy:    "linucb",
		SLOMode:   string(bandit.SLOAware),
		Objective: "edp",

		FreqMHz:      freq,
		SMClockMHz:   freq - 15*(round%2),
		PowerW:       280 + 25*math.Sin(phase/5),
		EnergyJ:      86.1,
		TotalEnergyJ: 1.234e6,
		Tokens:       1450,
		EDPPerToken:  0.0123 + 0.002*math.Sin(phase/7),

		TTFTLimitS: 0.5,
		TPOTLimitS: 0.05,
		TTFTTailS:  0.32 + 0.25*math.Sin(phase/6),
		TPOTTailS:  0.031 + 0.004*math.Cos(phase/4),
		SLOOK:      true,

		Reward:      -0.812,
		RewardValid: true,
		Alpha:       0.82,
		Decisions:   round,

		Features: []control.Feature{
			{Name: "running", Raw: 48 + 10*math.Sin(phase/3), Norm: 0.38 + 0.08*math.Sin(phase/3)},
			{Name: "waiting", Raw: 3, Norm: 0.02},
			{Name: "prefill_tps", Raw: 5123.4 + 400*math.Cos(phase/5), Norm: 0.51},
			{Name: "decode_tps", Raw: 1450.2, Norm: 0.61 + 0.1*math.Cos(phase/9)},
			{Name: "kv_cache_usage", Raw: 0.734, Norm: 0.73},
			{Name: "mean_prompt_tokens", Raw: 812, Norm: -0.12},
		},
		ClockMinMHz: 345,
		ClockMaxMHz: 1980,
		CyclePeriod: 300 * time.Millisecond,
		Message:     "",
	}
	for i := range n {
		mhz := 345 + 15*i
		x := float64(mhz-1300) / 700
		a := bandit.ArmScore{
			Arm:        bandit.Arm{SMMHz: mhz},
			Pred:       -0.8 - 0.6*x*x,
			Bonus:      0.4 / math.Sqrt(float64(1+i%17)),
			PredTTFT:   0.15 + 90/float64(mhz),
			PredTPOT:   0.018 + 18/float64(mhz),
			Pulls:      (i * 7) % 23,
			LastReward: -0.8 - 0.55*x*x,
			State:      bandit.StateOK,
		}
		a.UCB = a.Pred + a.Bonus
		// The steady-state model's held objective: data within ±150 MHz
		// of the exploit clock (1410), none elsewhere.
		a.Held = math.NaN()
		if d := float64(mhz-freq) / 15; math.Abs(d) <= 10 {
			a.Held = 0.0004 * d * d
		}
		a.TTFTUpper = a.PredTTFT * 1.3
		a.TPOTUpper = a.PredTPOT * 1.3
		switch {
		case i < 10:
			a.State = bandit.StatePruned
			a.Reason = fmt.Sprintf("TPOT upper %.0f ms over the 50 ms limit", a.TPOTUpper*1e3)
			a.Round = 40 + 2*i
			s.Pruned = append(s.Pruned, bandit.Pruned{Arm: a.Arm, Reason: a.Reason, Round: a.Round})
		case i < 15:
			a.State = bandit.StateUnsafe
			a.Reason = "TTFT upper bound over limit"
		}
		s.Arms = append(s.Arms, a)
		s.SupportedMHz = append(s.SupportedMHz, mhz)
	}
	return s
}

// testModel is a model at w×h that has seen rounds 1..n of testSnapshot,
// with every command it sends recorded in *sent.
func testModel(t testing.TB, w, h, rounds int, mutate func(o *Options)) (Model, *[]control.Command) {
	t.Helper()
	sent := &[]control.Command{}
	opts := Options{
		Send:    func(c control.Command) { *sent = append(*sent, c) },
		NoColor: true,
		Output:  discard{},
	}
	if mutate != nil {
		mutate(&opts)
	}
	m := NewModel(opts)
	m = step(t, m, tea.WindowSizeMsg{Width: w, Height: h})
	for r := 1; r <= rounds; r++ {
		m = step(t, m, snapshotMsg{snap: testSnapshot(r)})
	}
	return m, sent
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func step(t testing.TB, m Model, msg tea.Msg) Model {
	t.Helper()
	next, _ := m.Update(msg)
	return next.(Model)
}

func keyRunes(s string) tea.KeyMsg { return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)} }

func keys(t testing.TB, m Model, ks ...tea.KeyMsg) Model {
	t.Helper()
	for _, k := range ks {
		m = step(t, m, k)
	}
	return m
}

// requireGolden compares got with testdata/<name>.golden; -update rewrites it.
func requireGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatalf("write golden: %v", err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run with -update to create it): %v", err)
	}
	if got == string(want) {
		return
	}
	gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
	for i := 0; i < max(len(gl), len(wl)); i++ {
		var g, w string
		if i < len(gl) {
			g = gl[i]
		}
		if i < len(wl) {
			w = wl[i]
		}
		if g != w {
			t.Fatalf("%s differs at line %d (rerun with -update if intended):\n got: %q\nwant: %q", path, i+1, g, w)
		}
	}
}

// withProfile renders m with colour profile p, as a terminal of that kind
// would see it.
func withProfile(m Model, p termenv.Profile) Model {
	m.renderer.SetColorProfile(p)
	m.st = newStyles(m.renderer, defaultTheme())
	m.help.Styles = m.st.Help
	return m
}
