package assembly

import (
	"errors"
	"testing"
	"time"

	"github.com/gputune/gputune/bandit"
	"github.com/gputune/gputune/control"
	"github.com/gputune/gputune/control/setting"
	"github.com/gputune/gputune/internal/config"
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
