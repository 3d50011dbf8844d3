package assembly

import (
	"errors"
	"testing"
	"time"

	"github.com/gputune/gputune/bandit"
	"github.com/gputune/gputune/control"
	"github.com/gputune/gputune/control/setting"
	"github.com/gputune/gputune/internal/config"
	"github.com/gputune/gputune/nvgpu/fakegpu"
)

func TestLoopConfigCarriesEveryField(t *testing.T) {
	cfg := config.Default()
	cfg.Control.Policy = "static:1410"
	cfg.Control.DryRun = true
	cfg.SLO.TPOTSignal = "per-request"
	cfg.SLO.Mode = "edp"
	cfg.GPU = config.GPU{ClockMinMHz: 900, ClockMaxMHz: 1500, ClockStepMHz: 30, IdleClockMHz: 900, MemoryClocks: true}
	got, err := LoopConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := control.Config{
		Policy: setting.StaticPolicy(1410), Objective: control.ObjEDP,
		Period: 300 * time.Millisecond, SwitchSettle: 50 * time.Millisecond, Watchdog: 3 * time.Second, SaveInterval: 30 * time.Second,
		WarmupWindows: 10, IdleWindows: 3, EmergencyClearWindows: 10, BacklogWindows: 5, BacklogCharge: 1, MinTokensPerWindow: 8,
		DryRun: true, ScrapeTimeout: 250 * time.Millisecond, StaleAfter: 3 * time.Second,
		SLO:    control.SLO{Mode: bandit.SLOIgnore, TTFTLimitS: 2, TPOTLimitS: 0.25, TPOTSource: setting.TPOTPerRequest},
		Clocks: control.ClockBounds{MinMHz: 900, MaxMHz: 1500, StepMHz: 30, IdleMHz: 900, Memory: true},
	}
	if got != want {
		t.Errorf("LoopConfig =\n%+v\nwant\n%+v", got, want)
	}
}

func TestLoopConfigRejectsBadText(t *testing.T) {
	for _, tt := range []struct{ name, policy, tpot string }{
		{"policy", "static:fast", "inter-token"},
		{"tpot source", "gputune", "per-token"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.Control.Policy, cfg.SLO.TPOTSignal = tt.policy, tt.tpot
			if _, err := LoopConfig(cfg); !errors.Is(err, config.ErrInvalid) {
				t.Errorf("err = %v, want config.ErrInvalid", err)
			}
		})
	}
}

// The learning kinds are passed to bandit.New by name: the two lists of
// names must agree.
func TestLearningKindsAreBanditPolicies(t *testing.T) {
	for kind, name := range map[setting.PolicyKind]string{
		setting.PolicyGPUTune: bandit.PolicyGPUTune,
		setting.PolicyAGFT:    bandit.PolicyAGFT,
	} {
		if string(kind) != name || !kind.Learns() {
			t.Errorf("kind %q: bandit names it %q, Learns() = %v", kind, name, kind.Learns())
		}
	}
}

// TestPolicySpacesItsDesignByTheGPU: the learning policy learns the GPU's
// whole supported range from its facts, not from the clocks the operator
// allows, so that bounds hold the cold-start design inside them without
// squeezing it: within 900–1,500 MHz on an H100 (345–1,980) its first
// pass reaches both bounds, as 120 MHz rungs around 1,200 do; rungs scaled
// to the bounded range (44 MHz) would stay within 1,020–1,380.
func TestPolicySpacesItsDesignByTheGPU(t *testing.T) {
	facts := fakegpu.New(fakegpu.Config{}).Facts() // the H100's 345–1,980 MHz
	cfg := config.Default()
	cfg.GPU.ClockMinMHz, cfg.GPU.ClockMaxMHz = 900, 1500
	cfg.SLO.Mode = "edp"
	arms, err := Arms(cfg, facts)
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPolicy(cfg, facts, arms)
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float64, control.NumFeatures)
	x[len(x)-1] = 1
	var scores []bandit.ArmScore
	lo, hi := 10000, 0
	for range 40 {
		var dec bandit.Decision
		dec, scores = p.Decide(x, nil, scores)
		lo, hi = min(lo, dec.Arm.SMMHz), max(hi, dec.Arm.SMMHz)
	}
	if lo != 900 || hi != 1500 {
		t.Errorf("the design's first pass played %d–%d MHz, want both bounds, 900–1500", lo, hi)
	}
}
