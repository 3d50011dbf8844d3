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
	Name string
	Raw  float64
	Norm float64
}

// RanAt is what a window ran at: the clocks in force over it (0: the
// default governor) and the mode of the decision that set them.
type RanAt struct {
	// Since is when the window began (the previous cycle); zero on a
	// loop's first cycle, which ends no window.
	Since      time.Time
	FreqMHz    int
	MemFreqMHz int
	Mode       Mode
}

// Snapshot is everything one cycle published. It is plain data: readers may
// keep it; the loop never mutates a published snapshot. Its one encoding is
// the headless JSON line (JSONLine).
type Snapshot struct {
	Time      time.Time
	StartedAt time.Time
	Round     int

	GPU     int
	GPUUUID string
	GPUName string
	Demo    bool

	// Mode, FreqMHz and MemFreqMHz are what comes next: the mode of this
	// cycle's decision and the clocks it left in force for the next
	// window. Ran is what the window that ended at Time ran at.
	Mode      Mode
	Actuation Actuation
	PinnedMHz int
	Ran       RanAt

	Policy    string
	SLOMode   string
	Objective string

	FreqMHz      int // core clock for the next window (0: default governor)
	MemFreqMHz   int // memory clock for the next window (0: not locked)
	SMClockMHz   int // measured
	MemClockMHz  int
	PowerW       float64 // mean power over the window
	EnergyJ      float64 // window energy
	EnergyErrJ   float64 // bound on the window energy error
	TotalEnergyJ float64
	Tokens       float64 // window output tokens
	EDPPerToken  float64

	TTFTLimitS float64
	TPOTLimitS float64
	// TTFTTailS and TPOTTailS are the configured percentile
	// (slo.percentile, 0.9 by default) over the sliding tail window (the
	// JSON line's ttft_p90_s and tpot_p90_s).
	TTFTTailS     float64
	TPOTTailS     float64
	SLOOK         bool
	SLOViolations int

	Reward      float64
	RewardValid bool
	Alpha       float64
	Decisions   int
	// Held is the policy's steady-state choice (bandit.Decision.Held),
	// the clock its plan returns to; the zero Arm when it has none.
	Held bandit.Arm

	Features []Feature
	Arms     []bandit.ArmScore
	Pruned   []bandit.Pruned

	// SupportedMHz and the operator bounds, for checking typed pins.
	SupportedMHz []int
	ClockMinMHz  int
	ClockMaxMHz  int

	CyclePeriod time.Duration
	CycleJitter time.Duration // |actual − configured| of the last cycle

	// Message acknowledges the last command or states the last error.
	Message string
	Err     string
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
