package probe

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/gputune/gputune/nvgpu"
)

// ClockRange summarises a supported-clock list.
type ClockRange struct {
	MinMHz  int  `json:"min_mhz"`
	MaxMHz  int  `json:"max_mhz"`
	StepMHz int  `json:"step_mhz"` // the most common gap between clocks
	Count   int  `json:"count"`
	Uniform bool `json:"uniform"` // every gap equals StepMHz
}

// Check is the outcome of one trial read.
type Check struct {
	Works bool   `json:"works"`
	Value Value  `json:"value"`
	Unit  string `json:"unit"`
	Error string `json:"error,omitempty"`
}

// GPUReport is the GPU part of the probe.
type GPUReport struct {
	Available bool   `json:"available"`
	Error     string `json:"error,omitempty"`

	Index     int    `json:"index"`
	Name      string `json:"name"`
	UUID      string `json:"uuid"`
	Driver    string `json:"driver"`
	Simulated bool   `json:"simulated"`

	CoreClocks       ClockRange `json:"core_clocks"`
	MemClocks        ClockRange `json:"mem_clocks"`
	MemLockSupported bool       `json:"mem_lock_supported"`

	PowerLimitW Value `json:"power_limit_w"`
	PowerMinW   Value `json:"power_min_w"`
	PowerMaxW   Value `json:"power_max_w"`

	EnergyCounter Check `json:"energy_counter"`
	InstantPower  Check `json:"instant_power"`

	SMClockMHz   int      `json:"sm_clock_mhz"`
	MemClockMHz  int      `json:"mem_clock_mhz"`
	PowerAvgW    Value    `json:"power_avg_w"`
	TempC        Value    `json:"temp_c"`
	EventReasons []string `json:"clock_event_reasons"`

	Lock            string `json:"lock"`
	CanSetClocks    string `json:"can_set_clocks"` // yes, no or unknown
	CanSetClocksWhy string `json:"can_set_clocks_why"`
}

// OK is true when a GPU answered a sample read and at least one way of
// measuring energy (the tuner's objective) works.
func (g GPUReport) OK() bool {
	return g.Available && g.Error == "" && (g.EnergyCounter.Works || g.InstantPower.Works)
}

func probeGPU(ctx context.Context, r nvgpu.Reader, readerErr error, lock string,
	privilege func() (int, []byte, error)) GPUReport {
	rep := GPUReport{Lock: lock}
	if rep.Lock == "" {
		rep.Lock = "unknown"
	}
	euid, status, statusErr := privilege()
	rep.CanSetClocks, rep.CanSetClocksWhy = setClockPrivilege(euid, status, statusErr)
	if r == nil {
		// Privilege alone sets no clock: without a GPU the answer is no.
		rep.CanSetClocks, rep.CanSetClocksWhy = "no", "no GPU found; privilege: "+rep.CanSetClocksWhy
		rep.Error = "no GPU"
		if readerErr != nil {
			rep.Error = "no GPU: " + readerErr.Error()
		}
		return rep
	}
	rep.Available = true
	f := r.Facts()
	rep.Index, rep.Name, rep.UUID, rep.Driver, rep.Simulated = f.Index, f.Name, f.UUID, f.Driver, f.Simulated
	rep.CoreClocks = clockRange(f.CoreClocksMHz)
	rep.MemClocks = clockRange(f.MemClocksMHz)
	rep.MemLockSupported = f.MemLockSupported
	rep.PowerLimitW, rep.PowerMinW, rep.PowerMaxW = Value(f.PowerLimitW), Value(f.PowerMinW), Value(f.PowerMaxW)

	if mj, err := r.EnergyCounter(ctx); err != nil {
		rep.EnergyCounter = Check{Unit: "mJ", Error: err.Error()}
	} else {
		rep.EnergyCounter = Check{Works: true, Value: Value(mj), Unit: "mJ"}
	}
	if p, err := r.InstantPower(ctx); err != nil {
		rep.InstantPower = Check{Unit: "W", Error: err.Error()}
	} else {
		rep.InstantPower = Check{Works: true, Value: Value(float64(p.MilliWatts) / 1000), Unit: "W"}
	}
	s, err := r.Sample(ctx)
	if err != nil {
		rep.Error = "reading the GPU's state failed: " + err.Error()
		return rep
	}
	rep.SMClockMHz, rep.MemClockMHz = s.SMClockMHz, s.MemClockMHz
	rep.PowerAvgW, rep.TempC = Value(s.PowerAvgW), Value(s.TempC)
	rep.EventReasons = EventReasons(s.EventReason)
	return rep
}

func clockRange(clocks []int) ClockRange {
	if len(clocks) == 0 {
		return ClockRange{}
	}
	c := slices.Clone(clocks)
	slices.Sort(c)
	c = slices.Compact(c)
	cr := ClockRange{MinMHz: c[0], MaxMHz: c[len(c)-1], Count: len(c), Uniform: true}
	gaps := map[int]int{}
	for i := 1; i < len(c); i++ {
		gaps[c[i]-c[i-1]]++
	}
	best := 0
	for gap, n := range gaps {
		if n > best || n == best && gap < cr.StepMHz {
			cr.StepMHz, best = gap, n
		}
	}
	cr.Uniform = len(gaps) <= 1
	return cr
}

// EventReasons decodes NVML clock event reason bits into words; "none"
// when no bit is set.
func EventReasons(bits uint64) []string {
	names := []struct {
		bit  uint64
		name string
	}{
		{nvgpu.ReasonGPUIdle, "GPU idle"},
		{nvgpu.ReasonAppClocksSetting, "application clocks setting"},
		{nvgpu.ReasonSWPowerCap, "software power cap"},
		{nvgpu.ReasonHWSlowdown, "hardware slowdown"},
		{nvgpu.ReasonSyncBoost, "sync boost"},
		{nvgpu.ReasonSWThermalSlowdown, "software thermal slowdown"},
		{nvgpu.ReasonHWThermalSlowdown, "hardware thermal slowdown"},
		{nvgpu.ReasonHWPowerBrake, "hardware power brake"},
		{nvgpu.ReasonDisplayClock, "display clock setting"},
	}
	if bits == 0 {
		return []string{"none"}
	}
	var out []string
	for _, n := range names {
		if bits&n.bit != 0 {
			out = append(out, n.name)
			bits &^= n.bit
		}
	}
	if bits != 0 {
		out = append(out, fmt.Sprintf("unknown bits %#x", bits))
	}
	return out
}

// capSysAdmin is CAP_SYS_ADMIN's bit in the capability masks.
const capSysAdmin = 21

// setClockPrivilege answers "could this process lock clocks?" from its
// effective uid and /proc/self/status, without trying. CAP_SYS_ADMIN is
// what the driver checks; in a container root may lack it.
func setClockPrivilege(euid int, procStatus []byte, statusErr error) (answer, why string) {
	if statusErr == nil {
		for _, line := range bytes.Split(procStatus, []byte("\n")) {
			rest, ok := bytes.CutPrefix(line, []byte("CapEff:"))
			if !ok {
				continue
			}
			mask, err := strconv.ParseUint(strings.TrimSpace(string(rest)), 16, 64)
			if err != nil {
				break
			}
			if mask&(1<<capSysAdmin) != 0 {
				return "yes", "the process has CAP_SYS_ADMIN"
			}
			if euid == 0 {
				return "no", "running as root but without CAP_SYS_ADMIN (a container?); grant it with --cap-add SYS_ADMIN"
			}
			return "no", "not root and no CAP_SYS_ADMIN: run as root or grant CAP_SYS_ADMIN"
		}
	}
	switch {
	case euid == 0:
		return "yes", "running as root (capabilities unreadable)"
	case euid > 0:
		return "no", "not root (capabilities unreadable): run as root"
	}
	return "unknown", "neither the user id nor the capabilities could be read"
}
