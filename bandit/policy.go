// Package bandit holds gputune's clock-selection policies: pure maths with no
// I/O, no wall clock, and randomness only from an injected seeded source.
package bandit

// Arm is one clock setting. MemMHz is 0 when the memory clock is not tuned.
type Arm struct {
	SMMHz  int `json:"sm_mhz"`
	MemMHz int `json:"mem_mhz"`
}

// ArmState is what the TUI shows in an arm's state column.
type ArmState string

const (
	StateOK     ArmState = "ok"
	StateUnsafe ArmState = "unsafe" // latency upper bound over a limit
	StatePruned ArmState = "pruned"
)

// SLOMode selects whether latency limits constrain the choice.
type SLOMode string

const (
	SLOAware  SLOMode = "slo-aware"
	SLOIgnore SLOMode = "edp"
)

// ArmScore is one row of the per-arm score table, exactly what the TUI shows.
// Values that a policy does not model are NaN.
type ArmScore struct {
	Arm
	Pred  float64 `json:"pred"`  // predicted reward
	Bonus float64 `json:"bonus"` // exploration bonus
	UCB   float64 `json:"ucb"`
	// Held is what gputune's steady-state model predicts for holding the
	// arm, as its objective relative to the exploit arm's (0.004: 0.4 %
	// worse). NaN where that model does not choose the exploit arm (not
	// ready yet, the agft policy) or has no uncapped data near the arm.
	Held float64 `json:"held"`
	// HeldSE is the standard error of the steady-state model's predicted ln
	// objective for the arm (≈ a relative error of Held's objective): the
	// model chooses only among arms within 2× the smallest. HeldPowerW is
	// its predicted power when held, W (under a power limit, the power of
	// the clock the lock would really get is what Held reflects). Both
	// mean something only where Held is finite.
	HeldSE     float64 `json:"held_se"`
	HeldPowerW float64 `json:"held_power_w"`
	// Plan is the planner's cost for locking the arm for planHoldS and
	// the steady-state choice after it (energy + λ·request time over the
	// horizon, plus the terminal cost; plan.go) relative to the exploit
	// arm's: 0.004 is 0.4 % more. It is what chooses the
	// exploit arm where the server exports its queue; NaN where no plan
	// valued the arm.
	Plan       float64  `json:"plan"`
	PredTTFT   float64  `json:"pred_ttft_s"`
	TTFTUpper  float64  `json:"ttft_upper_s"`
	PredTPOT   float64  `json:"pred_tpot_s"`
	TPOTUpper  float64  `json:"tpot_upper_s"`
	Pulls      int      `json:"pulls"`
	LastReward float64  `json:"last_reward"`
	State      ArmState `json:"state"`
	Reason     string   `json:"reason,omitempty"` // why pruned or unsafe
	Round      int      `json:"round,omitempty"`  // round it was pruned
}

// Pruned records one pruned arm for display and logs.
type Pruned struct {
	Arm
	Reason string `json:"reason"`
	Round  int    `json:"round"`
}

// Observation is one window's outcome for the arm actually in effect.
// TTFT and TPOT are the window's observed latencies (s), NaN when unseen.
type Observation struct {
	Arm     Arm
	Context []float64
	Reward  float64
	TTFT    float64
	TPOT    float64
	// EDP is the window's energy-delay product, used by agft's sampler and
	// pruning; 0 or NaN when unknown (agft then derives it from Reward).
	EDP float64
	// Weight is how much this window counts relative to an average one
	// (the control loop passes its output tokens over the recent mean):
	// a window with little work is noisier and matters less to a
	// per-token objective over a run. 0, negative or non-finite means 1.
	// gputune fits its models by weighted least squares; agft ignores it,
	// as AGFT does.
	Weight float64
	// Steady is the window's operating point for gputune's steady-state
	// model (steady.go); the zero value leaves it out. agft ignores it.
	Steady Steady
}

// Decision is the result of Decide.
type Decision struct {
	Arm Arm
	// Explore is true when the arm was chosen for its bonus, not its mean.
	Explore bool
	// SLOSafe lists how many arms were SLO-safe; Violation is true when the
	// policy saw a latency violation in recent updates.
	SafeArms  int
	Violation bool
	// Alpha is the current exploration coefficient.
	Alpha float64
	// Held is the gputune steady-state model's choice, the clock the
	// planner returns to after a burst (plan.go); the zero Arm while that
	// model does not decide.
	Held Arm
}

// Policy chooses clocks. Implementations are not safe for concurrent use;
// the control loop owns them.
type Policy interface {
	Name() string
	// Decide chooses among allowed arms for the context x. It writes one
	// row per arm it knows into scores (reusing its capacity) and returns
	// the table; it must not allocate in steady state.
	Decide(x []float64, allowed []Arm, scores []ArmScore) (Decision, []ArmScore)
	// Update trains on one valid window.
	Update(obs Observation)
	// SetSLOMode switches modes without losing what was learned.
	SetSLOMode(m SLOMode)
	// SetLimits sets the latency limits (s) used for safety.
	SetLimits(ttft, tpot float64)
	// ForceExplore makes the next n decisions exploratory.
	ForceExplore(n int)
	// Pruned lists pruned arms.
	Pruned() []Pruned
	// Round is the number of updates so far.
	Round() int
	// Converged reports whether the policy considers itself converged and
	// since which round.
	Converged() (bool, int)
	// MarshalState / UnmarshalState persist the policy as versioned JSON.
	MarshalState() ([]byte, error)
	UnmarshalState(data []byte) error
	// Reset forgets everything learned.
	Reset()
}
