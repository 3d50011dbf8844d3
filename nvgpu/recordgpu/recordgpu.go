// Package recordgpu is a fake GPU backend for out-of-process tests of the
// clock-restore paths. Every lock and reset call is appended, one JSON line
// each, to a call log shared by every process that opens the same path, so a
// test can read what a process did after it died, SIGKILL included.
//
// The currently locked clocks are not kept in memory: they are replayed from
// the call log, so a supervisor that resets a clock its dead worker locked
// sees the same state, and Sample reads back the clock in effect.
//
// Testing hook: a real gputune binary uses this backend instead of NVML when
// the environment variable GPUTUNE_FAKE_GPU names a call-log path (see
// FromEnv). It never touches hardware.
package recordgpu

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/gputune/gputune/nvgpu"
)

// EnvVar names the call-log file; set, it selects this backend (testing only).
const EnvVar = "GPUTUNE_FAKE_GPU"

// Count is how many fake GPUs a call log offers (indices 0..Count-1).
const Count = 2

// Default clocks in effect when nothing is locked (H100 SXM boost maxima).
const (
	DefaultCoreMHz = 1980
	DefaultMemMHz  = 2619
)

// Operations recorded in the call log.
const (
	OpLockCore  = "lock_core"
	OpResetCore = "reset_core"
	OpLockMem   = "lock_mem"
	OpResetMem  = "reset_mem"
)

// FromEnv returns the call-log path from GPUTUNE_FAKE_GPU, if set.
func FromEnv() (path string, ok bool) {
	path = os.Getenv(EnvVar)
	return path, path != ""
}

// UUID is the fake GPU's UUID for an index; stable across processes.
func UUID(index int) string {
	return fmt.Sprintf("GPU-00000000-fake-0000-0000-%012d", index)
}

// Device is one fake GPU backed by a call log. It implements nvgpu.Reader
// and nvgpu.Controller and is safe for concurrent use.
type Device struct {
	path  string
	facts nvgpu.Facts
	// mu serialises this process's appends; O_APPEND keeps single-line
	// writes from different processes whole.
	mu sync.Mutex
}

var (
	_ nvgpu.Reader     = (*Device)(nil)
	_ nvgpu.Controller = (*Device)(nil)
)

// Open returns fake GPU index backed by the call log at path. The file is
// created if missing; its directory must exist.
func Open(path string, index int) (*Device, error) {
	if path == "" {
		return nil, fmt.Errorf("recordgpu: empty call-log path (set %s to a file path)", EnvVar)
	}
	if index < 0 || index >= Count {
		return nil, fmt.Errorf("recordgpu: GPU index %d out of range: the fake offers GPUs 0..%d", index, Count-1)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("recordgpu: open call log: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("recordgpu: open call log: %w", err)
	}
	return &Device{path: path, facts: fakeFacts(index)}, nil
}

// OpenUUID opens the fake GPU with the given UUID.
func OpenUUID(path, uuid string) (*Device, error) {
	for i := range Count {
		if UUID(i) == uuid {
			return Open(path, i)
		}
	}
	return nil, fmt.Errorf("recordgpu: no fake GPU with UUID %q", uuid)
}

func fakeFacts(index int) nvgpu.Facts {
	var core []int
	for mhz := 345; mhz <= 1980; mhz += 15 {
		core = append(core, mhz)
	}
	return nvgpu.Facts{
		Index:            index,
		UUID:             UUID(index),
		Name:             "NVIDIA H100 80GB HBM3 (recordgpu fake)",
		Driver:           "recordgpu",
		CoreClocksMHz:    core,
		MemClocksMHz:     []int{1593, DefaultMemMHz},
		MemLockSupported: true,
		PowerLimitW:      700,
		PowerMinW:        200,
		PowerMaxW:        700,
		EnergyCounter:    true,
		InstantPower:     true,
	}
}

// Path is the call-log file.
func (d *Device) Path() string { return d.path }

// Facts implements nvgpu.Reader.
func (d *Device) Facts() nvgpu.Facts {
	return d.facts.Clone()
}

// Sample implements nvgpu.Reader; the clocks are the ones in effect
// according to the call log.
func (d *Device) Sample(ctx context.Context) (nvgpu.Sample, error) {
	if err := ctx.Err(); err != nil {
		return nvgpu.Sample{}, err
	}
	calls, err := ReadCalls(d.path)
	if err != nil {
		return nvgpu.Sample{}, err
	}
	st := Replay(calls)[d.facts.UUID]
	s := nvgpu.Sample{SMClockMHz: DefaultCoreMHz, MemClockMHz: DefaultMemMHz, TempC: 40, UtilGPU: 0}
	if st.CoreMHz != 0 {
		s.SMClockMHz = st.CoreMHz
	}
	if st.MemMHz != 0 {
		s.MemClockMHz = st.MemMHz
	}
	s.PowerAvgW = fakePowerW(s.SMClockMHz)
	return s, nil
}

// InstantPower implements nvgpu.Reader with a constant idle-like draw.
func (d *Device) InstantPower(ctx context.Context) (nvgpu.PowerReading, error) {
	if err := ctx.Err(); err != nil {
		return nvgpu.PowerReading{}, err
	}
	return nvgpu.PowerReading{At: time.Now(), MilliWatts: 100_000}, nil
}

// EnergyCounter implements nvgpu.Reader: a monotonic count at 100 W.
func (d *Device) EnergyCounter(ctx context.Context) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return uint64(time.Now().UnixMilli()) * 100, nil
}

func fakePowerW(coreMHz int) float64 { return 70 + 0.2*float64(coreMHz) }

// LockCoreClock implements nvgpu.Controller.
func (d *Device) LockCoreClock(ctx context.Context, mhz int) error {
	var refused error
	if !slices.Contains(d.facts.CoreClocksMHz, mhz) {
		refused = fmt.Errorf("core clock %d MHz: %w", mhz, nvgpu.ErrUnsupportedClock)
	}
	return d.record(ctx, OpLockCore, mhz, refused)
}

// ResetCoreClock implements nvgpu.Controller.
func (d *Device) ResetCoreClock(ctx context.Context) error {
	return d.record(ctx, OpResetCore, 0, nil)
}

// LockMemClock implements nvgpu.Controller.
func (d *Device) LockMemClock(ctx context.Context, mhz int) error {
	var refused error
	if !slices.Contains(d.facts.MemClocksMHz, mhz) {
		refused = fmt.Errorf("memory clock %d MHz: %w", mhz, nvgpu.ErrUnsupportedClock)
	}
	return d.record(ctx, OpLockMem, mhz, refused)
}

// ResetMemClock implements nvgpu.Controller.
func (d *Device) ResetMemClock(ctx context.Context) error {
	return d.record(ctx, OpResetMem, 0, nil)
}

// record appends one call, refused or not, and returns refused.
func (d *Device) record(ctx context.Context, op string, mhz int, refused error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c := Call{Time: time.Now().UTC(), PID: os.Getpid(), UUID: d.facts.UUID, Index: d.facts.Index, Op: op, MHz: mhz}
	if refused != nil {
		c.Err = refused.Error()
	}
	line, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("recordgpu: encode call: %w", err)
	}
	line = append(line, '\n')

	d.mu.Lock()
	defer d.mu.Unlock()
	f, err := os.OpenFile(d.path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("recordgpu: record %s: %w", op, err)
	}
	// One write per line: O_APPEND makes it atomic against other processes.
	_, werr := f.Write(line)
	cerr := f.Close()
	if werr != nil {
		return fmt.Errorf("recordgpu: record %s: %w", op, werr)
	}
	if cerr != nil {
		return fmt.Errorf("recordgpu: record %s: %w", op, cerr)
	}
	return refused
}
