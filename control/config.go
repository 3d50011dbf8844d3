package control

import (
	"errors"
	"time"

	"github.com/gputune/gputune/bandit"
	"github.com/gputune/gputune/control/setting"
)

// ErrInvalid marks a Config the loop cannot run with (an idle clock outside
// the allowed range, a static clock the GPU does not offer): bad input for
// the operator to fix, not a failure of the run.
var ErrInvalid = errors.New("invalid configuration")

// Config is what the loop reads, typed: the application's configuration
// file and flags are turned into it by the assembly (internal/assembly),
// so the loop depends on no configuration format.
type Config struct {
	Policy    setting.Policy
	Objective Objective

	Period       time.Duration // one decision window
	SwitchSettle time.Duration // after a clock switch, the window is judged from here
	Watchdog     time.Duration // no cycle for this long: clocks given back
	SaveInterval time.Duration // how often the model is saved

	WarmupWindows         int     // windows of the reward baseline before learning
	IdleWindows           int     // idle windows before the idle clock
	EmergencyClearWindows int     // clear windows before leaving emergency
	BacklogWindows        int     // windows the backlog guard looks back
	BacklogCharge         float64 // weight of the carry-over charge (0: off)
	MinTokensPerWindow    float64 // fewer output tokens: the window is not judged
	DryRun                bool    // decide but never lock

	ScrapeTimeout time.Duration // one scrape's limit
	StaleAfter    time.Duration // no good scrape for this long: clocks given back

	SLO    SLO
	Clocks ClockBounds
}

// SLO is the latency limits and how they are checked.
type SLO struct {
	Mode       bandit.SLOMode
	TTFTLimitS float64
	TPOTLimitS float64
	TPOTSource setting.TPOTSource
}

// ClockBounds are the operator's limits on the clocks the loop may use.
type ClockBounds struct {
	MinMHz  int  // 0: the GPU's lowest
	MaxMHz  int  // 0: the GPU's highest
	StepMHz int  // 0: every supported clock
	IdleMHz int  // 0: the lowest allowed clock
	Memory  bool // tune the memory clock too
}
