package control

import (
	"encoding/json"
	"math"
	"time"
)

// JSONLine is the headless schema: one object per decision (README,
// "Headless output"). Numbers that could not be measured are null.
type JSONLine struct {
	Time      time.Time `json:"time"`
	Round     int       `json:"round"`
	GPU       int       `json:"gpu"`
	GPUUUID   string    `json:"gpu_uuid"`
	Mode      Mode      `json:"mode"`
	Actuation Actuation `json:"actuation"`
	FreqMHz   int       `json:"freq_mhz"` // for the next window; 0: the default governor
	// HeldMHz is the steady-state model's choice, the clock the plan
	// returns to after a burst; null when the policy has none.
	HeldMHz *int `json:"held_mhz"`
	// RanFreqMHz and RanMode are what the window just ended ran at.
	RanFreqMHz  int      `json:"ran_freq_mhz"`
	RanMode     Mode     `json:"ran_mode"`
	SMClockMHz  *int     `json:"sm_clock_mhz"`
	MemClockMHz *int     `json:"mem_clock_mhz"`
	PowerW      *float64 `json:"power_w"`
	EnergyJ     *float64 `json:"energy_j"`
	Tokens      *float64 `json:"tokens"`
	// The configured percentile (slo.percentile), under the key the
	// README documents.
	TTFTTailS *float64           `json:"ttft_p90_s"`
	TPOTTailS *float64           `json:"tpot_p90_s"`
	SLOOK     bool               `json:"slo_ok"`
	Reward    *float64           `json:"reward"`
	Features  map[string]float64 `json:"features"`
	Arms      []jsonArm          `json:"arms"`
	Pruned    []jsonPruned       `json:"pruned"`
	// CycleJitterS is how far this cycle started from its schedule.
	CycleJitterS float64 `json:"cycle_jitter_s"`
	Message      string  `json:"message,omitempty"`
	// Error is the condition in force (metrics unreachable, a lock that
	// failed), absent when none.
	Error string `json:"error,omitempty"`
}

type jsonArm struct {
	SMMHz  int      `json:"sm_mhz"`
	MemMHz int      `json:"mem_mhz"`
	Pred   *float64 `json:"pred"`
	Bonus  *float64 `json:"bonus"`
	UCB    *float64 `json:"ucb"`
	// Held is the steady-state model's objective for holding this clock
	// relative to the exploit clock's, as a fraction: +0.004 is 0.4 %
	// worse. Negative means the model rates the clock better than the
	// exploit clock when held, but too uncertain to choose yet (too little
	// data near it) or not the planner's choice for the queue now.
	Held       *float64 `json:"held"`
	HeldSE     *float64 `json:"held_se"`
	HeldPowerW *float64 `json:"held_power_w"`
	// Plan is the planner's cost for locking this clock for the next 10 s
	// (and the steady-state choice after) relative to the exploit clock's
	// (bandit/plan.go): the number that chose the exploit clock where the
	// server exports its queue.
	Plan       *float64 `json:"plan"`
	Pulls      int      `json:"pulls"`
	LastReward *float64 `json:"last_reward"`
	State      string   `json:"state"`
}

type jsonPruned struct {
	SMMHz  int    `json:"sm_mhz"`
	MemMHz int    `json:"mem_mhz"`
	Reason string `json:"reason"`
	Round  int    `json:"round"`
}

// clock is a clock in MHz, nil for none (0 MHz is never a reading or a
// choice).
func clock(mhz int) *int {
	if mhz <= 0 {
		return nil
	}
	return &mhz
}

func num(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// ToJSONLine converts a snapshot to the headless schema.
func ToJSONLine(s Snapshot) JSONLine {
	j := JSONLine{
		Time: s.Time.UTC(), Round: s.Round, GPU: s.GPU, GPUUUID: s.GPUUUID,
		Mode: s.Mode, Actuation: s.Actuation, FreqMHz: s.FreqMHz, HeldMHz: clock(s.Held.SMMHz), RanFreqMHz: s.Ran.FreqMHz, RanMode: s.Ran.Mode,
		SMClockMHz: clock(s.SMClockMHz), MemClockMHz: clock(s.MemClockMHz),
		PowerW: num(s.PowerW), EnergyJ: num(s.EnergyJ), Tokens: num(s.Tokens),
		TTFTTailS: num(s.TTFTTailS), TPOTTailS: num(s.TPOTTailS), SLOOK: s.SLOOK,
		Reward:       num(s.Reward),
		Features:     make(map[string]float64, len(s.Features)),
		Arms:         make([]jsonArm, len(s.Arms)),
		Pruned:       make([]jsonPruned, len(s.Pruned)),
		Message:      s.Message,
		CycleJitterS: s.CycleJitter.Seconds(),
		Error:        s.Err,
	}
	for _, f := range s.Features {
		j.Features[f.Name] = finiteOr(f.Raw, 0)
	}
	for i, a := range s.Arms {
		// The held model's error and power mean something only where it
		// values the arm (agft's rows leave them zero).
		heldSE, heldP := num(a.HeldSE), num(a.HeldPowerW)
		if math.IsNaN(a.Held) {
			heldSE, heldP = nil, nil
		}
		j.Arms[i] = jsonArm{SMMHz: a.SMMHz, MemMHz: a.MemMHz, Pred: num(a.Pred), Bonus: num(a.Bonus),
			UCB: num(a.UCB), Held: num(a.Held), HeldSE: heldSE, HeldPowerW: heldP, Plan: num(a.Plan), Pulls: a.Pulls, LastReward: num(a.LastReward), State: string(a.State)}
	}
	for i, p := range s.Pruned {
		j.Pruned[i] = jsonPruned{SMMHz: p.SMMHz, MemMHz: p.MemMHz, Reason: p.Reason, Round: p.Round}
	}
	return j
}

// MarshalJSONLine encodes s as one line of the headless schema, newline
// included. The caller encodes each snapshot once and writes the bytes to
// every sink (stdout and the decision log): with ~110 arms a line is ~16 KB,
// and encoding it was a tenth of gputune's CPU on a real H100.
func MarshalJSONLine(s Snapshot) ([]byte, error) {
	b, err := json.Marshal(ToJSONLine(s))
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
