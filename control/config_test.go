package control

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gputune/gputune/bandit"
	"github.com/gputune/gputune/control/setting"
	"github.com/gputune/gputune/internal/testkit"
)

// testConfig is a loop configuration for the tests to vary: the values of
// tuner.toml's defaults, written out here because control does not read
// the application's configuration.
func testConfig() Config {
	return Config{
		Policy:                setting.Policy{Kind: setting.PolicyGPUTune},
		Objective:             ObjEDP,
		Period:                300 * time.Millisecond,
		SwitchSettle:          50 * time.Millisecond,
		Watchdog:              3 * time.Second,
		SaveInterval:          30 * time.Second,
		WarmupWindows:         10,
		IdleWindows:           3,
		EmergencyClearWindows: 10,
		BacklogWindows:        5,
		BacklogCharge:         1,
		MinTokensPerWindow:    8,
		ScrapeTimeout:         250 * time.Millisecond,
		StaleAfter:            3 * time.Second,
		SLO:                   SLO{Mode: bandit.SLOAware, TTFTLimitS: 2, TPOTLimitS: 0.25, TPOTSource: setting.TPOTInterToken},
	}
}

// TestImportsNoApplicationConfig keeps the loop free of the application's
// configuration: it reads control.Config, which the assembly fills. The
// check follows control's own imports inside this module, transitively.
func TestImportsNoApplicationConfig(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	forbidden := []string{"internal/config", "internal/cli", "internal/bench", "internal/assembly", "sim"}
	deps := testkit.ModuleDeps(t, root, "control")
	if _, ok := deps["bandit"]; !ok {
		t.Fatalf("control's imports do not include bandit (%v): the check no longer reads them", deps)
	}
	for dep, chain := range deps {
		for _, f := range forbidden {
			if dep == f || strings.HasPrefix(dep, f+"/") {
				t.Errorf("control imports %s (%s)", dep, chain)
			}
		}
	}
}
