// Package nvgpu is the only code in gputune that talks to NVML. It exposes a
// narrow, split interface: a Reader that can only observe a GPU, and a
// Controller that can lock and reset its clocks. Read-only code paths (probe,
// --dry-run, --demo, bench) are handed a Reader alone, so they cannot lock.
package nvgpu

import (
	"context"
	"errors"
	"slices"
	"time"
)

// Errors that callers match with errors.Is.
var (
	// ErrNoDriver: NVML could not be loaded or initialised (no driver, no GPU).
	ErrNoDriver = errors.New("no NVIDIA driver or GPU found")
	// ErrNoPermission: setting clocks needs root or CAP_SYS_ADMIN.
	ErrNoPermission = errors.New("no permission to set clocks (run as root or with CAP_SYS_ADMIN)")
	// ErrNotSupported: the GPU or driver does not support the operation
	// (for example memory-clock locking on some H100 boards).
	ErrNotSupported = errors.New("not supported by this GPU or driver")
	// ErrUnsupportedClock: a requested clock is not in the supported list.
	ErrUnsupportedClock = errors.New("clock not in the GPU's supported list")
)

// Facts are what does not change while gputune runs.
type Facts struct {
	Index  int    `json:"index"`
	UUID   string `json:"uuid"`
	Name   string `json:"name"`
	Driver string `json:"driver"`
	// CoreClocksMHz lists the supported graphics (SM) clocks, ascending.
	CoreClocksMHz []int `json:"core_clocks_mhz"`
	// MemClocksMHz lists the supported memory clocks, ascending.
	MemClocksMHz []int `json:"mem_clocks_mhz"`
	// MemLockSupported is false where the driver refuses memory-clock locks.
	MemLockSupported bool `json:"mem_lock_supported"`
	// PowerLimitW is the enforced power limit; PowerMinW/PowerMaxW its range.
	PowerLimitW float64 `json:"power_limit_w"`
	PowerMinW   float64 `json:"power_min_w"`
	PowerMaxW   float64 `json:"power_max_w"`
	// EnergyCounter and InstantPower say whether those reads work.
	EnergyCounter bool `json:"energy_counter"`
	InstantPower  bool `json:"instant_power"`
	// Simulated is true for the simulator backend (shown as a DEMO badge).
	Simulated bool `json:"simulated"`
}

// Clone returns a copy that shares no slice with f, so a Reader can hand
// out its facts without callers editing its clock tables.
func (f Facts) Clone() Facts {
	f.CoreClocksMHz = slices.Clone(f.CoreClocksMHz)
	f.MemClocksMHz = slices.Clone(f.MemClocksMHz)
	return f
}

// Clock event (throttle) reason bits, as NVML defines them.
const (
	ReasonGPUIdle           uint64 = 0x1
	ReasonAppClocksSetting  uint64 = 0x2
	ReasonSWPowerCap        uint64 = 0x4
	ReasonHWSlowdown        uint64 = 0x8
	ReasonSyncBoost         uint64 = 0x10
	ReasonSWThermalSlowdown uint64 = 0x20
	ReasonHWThermalSlowdown uint64 = 0x40
	ReasonHWPowerBrake      uint64 = 0x80
	ReasonDisplayClock      uint64 = 0x100
)

// Sample is one cheap read of the GPU's state.
type Sample struct {
	SMClockMHz  int `json:"sm_clock_mhz"`
	MemClockMHz int `json:"mem_clock_mhz"`
	// PowerAvgW is NVML's GetPowerUsage: a ~1 s moving average on Hopper.
	// Never use it for a 0.3 s window; use the energy Meter.
	PowerAvgW   float64 `json:"power_avg_w"`
	TempC       float64 `json:"temp_c"`
	UtilGPU     float64 `json:"util_gpu"` // 0..1
	EventReason uint64  `json:"event_reasons"`
}

// PowerReading is one instant-power read (NVML field 186).
type PowerReading struct {
	// At is when the value was read (the driver's timestamp where it has one).
	At         time.Time
	MilliWatts uint32
}

// Reader observes one GPU. Implementations must be safe for concurrent use.
type Reader interface {
	Facts() Facts
	Sample(ctx context.Context) (Sample, error)
	// InstantPower is cheap (~6.5 µs on H100) and changes every ~100 ms.
	InstantPower(ctx context.Context) (PowerReading, error)
	// EnergyCounter is the total energy in mJ since driver load. It is
	// expensive (~3.9 ms of CPU on H100) and steps every ~100 ms.
	EnergyCounter(ctx context.Context) (uint64, error)
}

// Controller changes a GPU's clocks. Only control.Loop and the restore path
// (supervisor, `gputune reset`) ever hold one.
type Controller interface {
	// LockCoreClock locks the SM clock to exactly mhz (min = max = mhz).
	LockCoreClock(ctx context.Context, mhz int) error
	ResetCoreClock(ctx context.Context) error
	// LockMemClock locks the memory clock; ErrNotSupported where refused.
	LockMemClock(ctx context.Context, mhz int) error
	ResetMemClock(ctx context.Context) error
}
