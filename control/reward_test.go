package control

import (
	"math"
	"testing"
	"time"

	"github.com/gputune/gputune/bandit"
	"github.com/gputune/gputune/nvgpu"
	"github.com/gputune/gputune/scrape"
)

func TestObjectiveValue(t *testing.T) {
	const dur = 300 * time.Millisecond
	tests := []struct {
		name   string
		obj    Objective
		e      float64
		w      scrape.Window
		want   float64
		wantOK bool
	}{
		// 100 tokens: 2 first tokens at 0.5 s TTFT, 98 gaps of 20 ms:
		// D = (1.0 + 1.96)/100 = 0.0296 s; E/N = 1.2 J.
		{"edp from histogram sums", ObjEDP, 120,
			scrape.Window{GenTokens: 100, TTFTMean: 0.5, TTFTObs: 2, ITLMean: 0.02, ITLObs: 98}, 1.2 * 0.0296, true},
		{"energy", ObjEnergy, 120, scrape.Window{GenTokens: 100}, 1.2, true},
		{"per-request TPOT fallback", ObjEDP, 120, scrape.Window{GenTokens: 100, TPOTMean: 0.03, TPOTObs: 4}, 1.2 * 0.03, true},
		{"end-to-end fallback", ObjEDP, 120, scrape.Window{GenTokens: 100, E2EMean: 2, E2EObs: 1}, 1.2 * 0.02, true},
		{"no latency signal: T/N", ObjEDP, 120, scrape.Window{GenTokens: 100}, 1.2 * 0.003, true},
		{"too few tokens", ObjEDP, 120, scrape.Window{GenTokens: 3}, math.NaN(), false},
		{"no energy", ObjEDP, math.NaN(), scrape.Window{GenTokens: 100}, math.NaN(), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := objectiveValue(tt.obj, tt.e, tt.w, dur, 8)
			if ok != tt.wantOK || (ok && math.Abs(got-tt.want) > 1e-12) {
				t.Errorf("objectiveValue = %v, %v; want %v, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestReward(t *testing.T) {
	b := bandit.RewardBaseline{Target: 2, Factor: 0.9}
	if _, ok := reward(bandit.PolicyGPUTune, b, 1); ok {
		t.Fatal("reward before the baseline is ready")
	}
	b.Add(2)
	b.Add(2)
	if r, ok := reward(bandit.PolicyGPUTune, b, 1); !ok || math.Abs(r-math.Ln2) > 1e-12 {
		t.Errorf("gputune reward at half the baseline = %v, want ln 2", r)
	}
	if r, ok := reward(bandit.PolicyGPUTune, b, 2); !ok || r != 0 {
		t.Errorf("gputune reward at the baseline = %v, want 0", r)
	}
	// AGFT: 2·(1 − min(2, obj/(0.9·baseline))).
	if r, ok := reward(bandit.PolicyAGFT, b, 1.8); !ok || math.Abs(r-0) > 1e-12 {
		t.Errorf("agft reward at 0.9·baseline = %v, want 0", r)
	}
}

func TestWindowWeight(t *testing.T) {
	l := &Loop{}
	if w := l.windowWeight(0); w != 0 {
		t.Errorf("no tokens: weight %v, want 0", w)
	}
	if w := l.windowWeight(100); w != 1 {
		t.Errorf("first window: weight %v, want 1", w)
	}
	// A window with twice the recent mean counts about twice.
	if w := l.windowWeight(200); !(w > 1.9 && w < 2) {
		t.Errorf("double window: weight %v, want just under 2", w)
	}
	if w := l.windowWeight(math.Inf(1)); w != 0 {
		t.Errorf("infinite tokens: weight %v, want 0", w)
	}
}

func TestSteadyPoint(t *testing.T) {
	win := scrape.Window{Running: 12, PromptTokPerS: 3000, GenTokPerS: 900, ITLMean: 0.011, ITLObs: 250}
	secs := (300 * time.Millisecond).Seconds()
	queued := scrape.Window{Running: 12, Waiting: 2, GenTokPerS: 900, Finished: 3, Dur: 300 * time.Millisecond}
	reset := queued
	reset.Reset = true
	tests := []struct {
		name     string
		prev     float64
		havePrev bool
		win      scrape.Window
		switched bool
		gs       nvgpu.Sample
		want     bandit.Steady
	}{
		{"mean of the batch at both ends", 8, true, win, false, nvgpu.Sample{TempC: 61},
			bandit.Steady{Batch: 10, PrefillTokS: 3000, GenTokS: 900, PowerW: 400, StepS: 0.011}},
		{"no batch before: the end's", 0, false, win, true, nvgpu.Sample{},
			bandit.Steady{Batch: 12, PrefillTokS: 3000, GenTokS: 900, PowerW: 400, StepS: 0.011, Switched: true}},
		{"power cap", 12, true, win, false, nvgpu.Sample{EventReason: nvgpu.ReasonSWPowerCap | nvgpu.ReasonAppClocksSetting},
			bandit.Steady{Batch: 12, PrefillTokS: 3000, GenTokS: 900, PowerW: 400, StepS: 0.011, Capped: true}},
		{"a lock alone is not a cap", 12, true, win, false, nvgpu.Sample{EventReason: nvgpu.ReasonAppClocksSetting},
			bandit.Steady{Batch: 12, PrefillTokS: 3000, GenTokS: 900, PowerW: 400, StepS: 0.011}},
		{"no inter-token latency: no step time", 12, true, scrape.Window{Running: 12, GenTokPerS: 900}, false, nvgpu.Sample{},
			bandit.Steady{Batch: 12, GenTokS: 900, PowerW: 400}},
		// 10 in the server before, 12 running and 2 waiting after, 3
		// finished: 7 arrived.
		{"arrivals and completions", 12, true, queued, false, nvgpu.Sample{},
			bandit.Steady{Batch: 12, GenTokS: 900, PowerW: 400, Waiting: 2, ArrivedPerS: 7 / secs, FinishedPerS: 3 / secs}},
		{"a counter reset: no queue", 12, true, reset, false, nvgpu.Sample{},
			bandit.Steady{Batch: 12, GenTokS: 900, PowerW: 400, Waiting: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := &Loop{}
			l.st.prevRunning, l.st.havePrevRunning = tt.prev, tt.havePrev
			l.st.prevInServer, l.st.havePrevInServer = 10, tt.havePrev
			if got := l.steadyPoint(tt.win, 400, tt.switched, tt.gs); got != tt.want {
				t.Errorf("steadyPoint = %+v, want %+v", got, tt.want)
			}
		})
	}
}
