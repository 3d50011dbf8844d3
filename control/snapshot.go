// Package control runs gputune's decision loop. It is the only writer of GPU
// clocks. Each cycle it publishes a plain-data Snapshot that the TUI, the
// headless JSON writer and the exporter read and never modify.
package control

import (
	"time"

	"github.com/gputune/gputune/bandit"
)

// Mode is what the loop is doing, independent of Actuation.
type Mode string

const (
	ModeWarmup    Mode = "warmup"    // measuring the reward baseline
	ModeExplore   Mode = "explore"   // the policy chose for its bonus
	ModeExploit   Mode = "exploit"   // the policy chose its best estimate
	ModeEmergency Mode = "emergency" // a latency limit is broken: max clock
	ModeIdle      Mode = "idle"      // nothing running or waiting: idle clock
	ModeNoData    Mode = "nodata"    // metrics unreachable, stale or garbage
)

// Actuation is whether and how the loop's decisions reach the GPU.
type Actuation string

const (
	ActAuto     Actuation = "auto"
	ActPinned   Actuation = "pinned"
	ActPaused   Actuation = "paused"
	ActReadOnly Actuation = "readonly"
)

// Feature is one context feature as the policy saw it.
type Feature struct {
	Name string  `json:"name"`
	Raw  float64 `json:"raw"`
	Norm float64 `json:"norm"`
}

// Snapshot is everything one cycle published. It is plain data: readers may
// keep it; the loop never mutates a published snapshot.
type Snapshot struct {
	Time      time.Time `json:"time"`
	StartedAt time.Time `json:"started_at"`
	Round     int       `json:"round"`

	GPU     int    `json:"gpu"`
	GPUUUID string `json:"gpu_uuid"`
	GPUName string `json:"gpu_name"`
	Demo    bool   `json:"demo"`

	Mode      Mode      `json:"mode"`
	Actuation Actuation `json:"actuation"`
	PinnedMHz int       `json:"pinned_mhz,omitempty"`

	Policy    string `json:"policy"`
	SLOMode   string `json:"slo_mode"`
	Objective string `json:"objective"`

	FreqMHz      int     `json:"freq_mhz"`     // commanded core clock (0: default governor)
	MemFreqMHz   int     `json:"mem_freq_mhz"` // commanded memory clock (0: not locked)
	SMClockMHz   int     `json:"sm_clock_mhz"` // measured
	MemClockMHz  int     `json:"mem_clock_mhz"`
	PowerW       float64 `json:"power_w"`      // mean power over the window
	EnergyJ      float64 `json:"energy_j"`     // window energy
	EnergyErrJ   float64 `json:"energy_err_j"` // bound on the window energy error
	TotalEnergyJ float64 `json:"total_energy_j"`
	Tokens       float64 `json:"tokens"` // window output tokens
	EDPPerToken  float64 `json:"edp_per_token"`

	TTFTLimitS float64 `json:"ttft_limit_s"`
	TPOTLimitS float64 `json:"tpot_limit_s"`
	// TTFTTailS and TPOTTailS are the configured percentile
	// (slo.percentile, 0.9 by default) over the sliding tail window; the
	// JSON keys keep the names the README documents.
	TTFTTailS     float64 `json:"ttft_p90_s"`
	TPOTTailS     float64 `json:"tpot_p90_s"`
	SLOOK         bool    `json:"slo_ok"`
	SLOViolations int     `json:"slo_violations"`

	Reward      float64 `json:"reward"`
	RewardValid bool    `json:"reward_valid"`
	Alpha       float64 `json:"alpha"`
	Decisions   int     `json:"decisions"`

	Features []Feature         `json:"features"`
	Arms     []bandit.ArmScore `json:"arms"`
	Pruned   []bandit.Pruned   `json:"pruned"`

	// SupportedMHz and the operator bounds, for checking typed pins.
	SupportedMHz []int `json:"-"`
	ClockMinMHz  int   `json:"-"`
	ClockMaxMHz  int   `json:"-"`

	CyclePeriod time.Duration `json:"-"`
	CycleJitter time.Duration `json:"-"` // |actual − configured| of the last cycle

	// Message acknowledges the last command or states the last error.
	Message string `json:"message,omitempty"`
	Err     string `json:"error,omitempty"`
}

// CommandKind names an operator command.
type CommandKind string

const (
	CmdPause        CommandKind = "pause"
	CmdResume       CommandKind = "resume"
	CmdPin          CommandKind = "pin"
	CmdUnpin        CommandKind = "unpin"
	CmdSetSLOMode   CommandKind = "slo-mode"
	CmdForceExplore CommandKind = "explore"
	CmdResetModel   CommandKind = "reset-model"
)

// Command is sent to the loop without blocking; the next snapshot's Message
// acknowledges it (or says why it was refused).
type Command struct {
	Kind    CommandKind
	MHz     int            // CmdPin
	SLOMode bandit.SLOMode // CmdSetSLOMode
	// Rounds is how many decisions CmdForceExplore explores for (and a
	// CmdResetModel relearns near the clock in effect); 0: the default.
	Rounds int
	// SpanMHz bounds CmdForceExplore and the relearning after
	// CmdResetModel to clocks within this many MHz of the clock in
	// effect; 0: DefaultExploreSpanMHz.
	SpanMHz int
}
