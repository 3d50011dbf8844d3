package nvgpu

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sync/atomic"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// NewNVMLLib returns the real NVML library. Nothing is loaded until Init,
// so this is safe to call on a machine without a driver.
func NewNVMLLib() nvml.Interface { return nvml.New() }

// noDriverHint tells a user without a GPU what to do instead.
const noDriverHint = "gputune needs an NVIDIA driver (libnvidia-ml.so.1) to tune a GPU; to try it without one, run `gputune --demo`"

// initNVML initialises lib. After a failed Init no other NVML function may
// be called: with no library loaded the next call kills the process.
func initNVML(lib nvml.Interface) error {
	if lib == nil {
		return fmt.Errorf("%w: no NVML library given", ErrNoDriver)
	}
	if ret := lib.Init(); ret != nvml.SUCCESS {
		return fmt.Errorf("%w: NVML init failed (%s); %s", ErrNoDriver, returnName(ret), noDriverHint)
	}
	return nil
}

// returnName names an NVML return code without calling into the library,
// which may not be loaded.
func returnName(ret nvml.Return) string {
	names := map[nvml.Return]string{
		nvml.ERROR_UNINITIALIZED: "ERROR_UNINITIALIZED", nvml.ERROR_INVALID_ARGUMENT: "ERROR_INVALID_ARGUMENT",
		nvml.ERROR_NOT_SUPPORTED: "ERROR_NOT_SUPPORTED", nvml.ERROR_NO_PERMISSION: "ERROR_NO_PERMISSION",
		nvml.ERROR_NOT_FOUND: "ERROR_NOT_FOUND", nvml.ERROR_INSUFFICIENT_SIZE: "ERROR_INSUFFICIENT_SIZE",
		nvml.ERROR_DRIVER_NOT_LOADED: "ERROR_DRIVER_NOT_LOADED", nvml.ERROR_LIBRARY_NOT_FOUND: "ERROR_LIBRARY_NOT_FOUND",
		nvml.ERROR_FUNCTION_NOT_FOUND: "ERROR_FUNCTION_NOT_FOUND", nvml.ERROR_GPU_IS_LOST: "ERROR_GPU_IS_LOST",
		nvml.ERROR_FREQ_NOT_SUPPORTED: "ERROR_FREQ_NOT_SUPPORTED", nvml.ERROR_UNKNOWN: "ERROR_UNKNOWN",
	}
	if n, ok := names[ret]; ok {
		return n
	}
	return fmt.Sprintf("NVML return %d", int32(ret))
}

// nvmlErr maps an NVML return to the package's errors.
func nvmlErr(call string, ret nvml.Return) error {
	switch ret {
	case nvml.SUCCESS:
		return nil
	case nvml.ERROR_NO_PERMISSION:
		return fmt.Errorf("%s: %w", call, ErrNoPermission)
	case nvml.ERROR_NOT_SUPPORTED:
		return fmt.Errorf("%s: %w", call, ErrNotSupported)
	case nvml.ERROR_LIBRARY_NOT_FOUND, nvml.ERROR_DRIVER_NOT_LOADED, nvml.ERROR_UNINITIALIZED:
		return fmt.Errorf("%s: %s: %w", call, returnName(ret), ErrNoDriver)
	default:
		return fmt.Errorf("%s: %s", call, returnName(ret))
	}
}

// CountNVML initialises NVML, counts the GPUs (for `--gpu all`) and shuts
// NVML down again.
func CountNVML(lib nvml.Interface) (int, error) {
	if err := initNVML(lib); err != nil {
		return 0, err
	}
	defer lib.Shutdown()
	n, ret := lib.DeviceGetCount()
	if err := nvmlErr("DeviceGetCount", ret); err != nil {
		return 0, err
	}
	return n, nil
}

// CommandRunner runs a program and returns its standard output; injected so
// the nvidia-smi route is tested on fixture text.
type CommandRunner func(ctx context.Context, name string, args ...string) ([]byte, error)

// NVMLOption configures OpenNVML.
type NVMLOption func(*nvmlOptions)

type nvmlOptions struct{ run CommandRunner }

// WithCommandRunner replaces how nvidia-smi is run (tests); nil disables
// the nvidia-smi route, leaving the min/max ladder.
func WithCommandRunner(run CommandRunner) NVMLOption {
	return func(o *nvmlOptions) { o.run = run }
}

// NVMLDevice is one GPU through NVML. It implements Reader and Controller;
// hand only the Reader side to read-only code.
type NVMLDevice struct {
	lib   nvml.Interface
	dev   nvml.Device
	facts Facts
	log   *slog.Logger
	// memLockRefused flips once the driver refuses a memory-clock lock.
	memLockRefused atomic.Bool
	closed         atomic.Bool
}

// OpenNVML initialises NVML and opens GPU index. Close releases it. With no
// driver it returns ErrNoDriver and calls nothing else in NVML.
func OpenNVML(ctx context.Context, lib nvml.Interface, index int, logger *slog.Logger, opts ...NVMLOption) (*NVMLDevice, error) {
	o := nvmlOptions{run: execRunner}
	for _, opt := range opts {
		opt(&o)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := initNVML(lib); err != nil {
		return nil, err
	}
	d, err := openIndex(ctx, lib, index, logger, o)
	if err != nil {
		lib.Shutdown()
		return nil, err
	}
	return d, nil
}

func openIndex(ctx context.Context, lib nvml.Interface, index int, logger *slog.Logger, o nvmlOptions) (*NVMLDevice, error) {
	n, ret := lib.DeviceGetCount()
	if err := nvmlErr("DeviceGetCount", ret); err != nil {
		return nil, err
	}
	if index < 0 || index >= n {
		return nil, fmt.Errorf("GPU index %d out of range: this machine has %d GPU(s), indices 0..%d", index, n, n-1)
	}
	dev, ret := lib.DeviceGetHandleByIndex(index)
	if err := nvmlErr(fmt.Sprintf("DeviceGetHandleByIndex(%d)", index), ret); err != nil {
		return nil, err
	}
	d := &NVMLDevice{lib: lib, dev: dev, log: logger.With("gpu", index)}
	f := Facts{Index: index}
	var err error
	if f.Name, ret = dev.GetName(); ret != nvml.SUCCESS {
		return nil, nvmlErr("GetName", ret)
	}
	if f.UUID, ret = dev.GetUUID(); ret != nvml.SUCCESS {
		return nil, nvmlErr("GetUUID", ret)
	}
	if f.Driver, ret = lib.SystemGetDriverVersion(); ret != nvml.SUCCESS {
		f.Driver = "unknown"
	}
	if mw, ret := dev.GetEnforcedPowerLimit(); ret == nvml.SUCCESS {
		f.PowerLimitW = float64(mw) / 1000
	}
	if lo, hi, ret := dev.GetPowerManagementLimitConstraints(); ret == nvml.SUCCESS {
		f.PowerMinW, f.PowerMaxW = float64(lo)/1000, float64(hi)/1000
	}
	_, ret = dev.GetTotalEnergyConsumption()
	f.EnergyCounter = ret == nvml.SUCCESS
	_, err = d.readInstant()
	f.InstantPower = err == nil
	f.CoreClocksMHz, f.MemClocksMHz, err = supportedClocks(ctx, dev, f.UUID, o.run, d.log)
	if err != nil {
		return nil, err
	}
	f.MemLockSupported = len(f.MemClocksMHz) > 1
	d.facts = f
	return d, nil
}

// Close shuts NVML down once. It does not reset clocks: that is the
// restore path's job, which must also run when Close never does.
func (d *NVMLDevice) Close() error {
	if d.closed.Swap(true) {
		return nil
	}
	return nvmlErr("Shutdown", d.lib.Shutdown())
}

// Facts implements Reader.
func (d *NVMLDevice) Facts() Facts {
	f := d.facts.Clone()
	f.MemLockSupported = f.MemLockSupported && !d.memLockRefused.Load()
	return f
}

// Sample implements Reader. Only the SM clock is required; the other
// fields stay zero where this GPU does not report them.
func (d *NVMLDevice) Sample(ctx context.Context) (Sample, error) {
	if err := ctx.Err(); err != nil {
		return Sample{}, err
	}
	var s Sample
	sm, ret := d.dev.GetClockInfo(nvml.CLOCK_SM)
	if err := nvmlErr("GetClockInfo(SM)", ret); err != nil {
		return Sample{}, err
	}
	s.SMClockMHz = int(sm)
	if v, ret := d.dev.GetClockInfo(nvml.CLOCK_MEM); ret == nvml.SUCCESS {
		s.MemClockMHz = int(v)
	}
	if v, ret := d.dev.GetPowerUsage(); ret == nvml.SUCCESS {
		s.PowerAvgW = float64(v) / 1000
	}
	if v, ret := d.dev.GetTemperature(nvml.TEMPERATURE_GPU); ret == nvml.SUCCESS {
		s.TempC = float64(v)
	}
	if u, ret := d.dev.GetUtilizationRates(); ret == nvml.SUCCESS {
		s.UtilGPU = float64(u.Gpu) / 100
	}
	if v, ret := d.dev.GetCurrentClocksEventReasons(); ret == nvml.SUCCESS {
		s.EventReason = v
	}
	return s, nil
}

// InstantPower implements Reader through field 186 (FI_DEV_POWER_INSTANT).
func (d *NVMLDevice) InstantPower(ctx context.Context) (PowerReading, error) {
	if err := ctx.Err(); err != nil {
		return PowerReading{}, err
	}
	return d.readInstant()
}

func (d *NVMLDevice) readInstant() (PowerReading, error) {
	fv := []nvml.FieldValue{{FieldId: nvml.FI_DEV_POWER_INSTANT}}
	if err := nvmlErr("GetFieldValues(POWER_INSTANT)", d.dev.GetFieldValues(fv)); err != nil {
		return PowerReading{}, err
	}
	// Stamp with our clock, not the driver's: the meter's lag was fitted
	// on read times, and Sampler stamps counter reads the same way.
	at := time.Now()
	if err := nvmlErr("field POWER_INSTANT", nvml.Return(fv[0].NvmlReturn)); err != nil {
		return PowerReading{}, err
	}
	mw, err := fieldUint(fv[0])
	if err != nil {
		return PowerReading{}, err
	}
	if mw > math.MaxUint32 {
		return PowerReading{}, fmt.Errorf("field POWER_INSTANT: implausible %d mW", mw)
	}
	return PowerReading{At: at, MilliWatts: uint32(mw)}, nil
}

// fieldUint decodes an unsigned field value by its declared type.
func fieldUint(v nvml.FieldValue) (uint64, error) {
	switch nvml.ValueType(v.ValueType) {
	case nvml.VALUE_TYPE_UNSIGNED_INT:
		return uint64(binary.LittleEndian.Uint32(v.Value[:4])), nil
	case nvml.VALUE_TYPE_UNSIGNED_LONG, nvml.VALUE_TYPE_UNSIGNED_LONG_LONG:
		return binary.LittleEndian.Uint64(v.Value[:]), nil
	case nvml.VALUE_TYPE_DOUBLE:
		f := math.Float64frombits(binary.LittleEndian.Uint64(v.Value[:]))
		if f < 0 || math.IsNaN(f) {
			return 0, fmt.Errorf("field %d: bad value %v", v.FieldId, f)
		}
		return uint64(f), nil
	default:
		return 0, fmt.Errorf("field %d: unexpected value type %d", v.FieldId, v.ValueType)
	}
}

// EnergyCounter implements Reader (mJ since driver load; ~3.9 ms of CPU).
func (d *NVMLDevice) EnergyCounter(ctx context.Context) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	mJ, ret := d.dev.GetTotalEnergyConsumption()
	if err := nvmlErr("GetTotalEnergyConsumption", ret); err != nil {
		return 0, err
	}
	return mJ, nil
}

// LockCoreClock implements Controller. mhz must be a supported clock (use
// Snap); the clock in effect may still be lower under a power or thermal
// cap, so read it back with Sample (or use LockAndReadBack).
func (d *NVMLDevice) LockCoreClock(ctx context.Context, mhz int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !slices.Contains(d.facts.CoreClocksMHz, mhz) {
		return fmt.Errorf("lock core clock %d MHz: %w (snap it to one of %d supported clocks first)", mhz, ErrUnsupportedClock, len(d.facts.CoreClocksMHz))
	}
	return nvmlErr(fmt.Sprintf("SetGpuLockedClocks(%d, %d)", mhz, mhz), d.dev.SetGpuLockedClocks(uint32(mhz), uint32(mhz)))
}

// ResetCoreClock implements Controller.
func (d *NVMLDevice) ResetCoreClock(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return nvmlErr("ResetGpuLockedClocks", d.dev.ResetGpuLockedClocks())
}

// LockMemClock implements Controller. A refusal returns ErrNotSupported
// and is remembered in Facts().MemLockSupported so callers go core-only.
func (d *NVMLDevice) LockMemClock(ctx context.Context, mhz int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d.memLockRefused.Load() {
		return fmt.Errorf("lock memory clock: %w (refused earlier by this GPU)", ErrNotSupported)
	}
	if !slices.Contains(d.facts.MemClocksMHz, mhz) {
		return fmt.Errorf("lock memory clock %d MHz: %w (supported %v)", mhz, ErrUnsupportedClock, d.facts.MemClocksMHz)
	}
	err := nvmlErr(fmt.Sprintf("SetMemoryLockedClocks(%d, %d)", mhz, mhz), d.dev.SetMemoryLockedClocks(uint32(mhz), uint32(mhz)))
	if errors.Is(err, ErrNotSupported) {
		d.memLockRefused.Store(true)
		d.log.Warn("memory clock locking refused by this GPU; tuning the core clock only", "err", err)
	}
	return err
}

// ResetMemClock implements Controller.
func (d *NVMLDevice) ResetMemClock(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return nvmlErr("ResetMemoryLockedClocks", d.dev.ResetMemoryLockedClocks())
}

var (
	_ Reader     = (*NVMLDevice)(nil)
	_ Controller = (*NVMLDevice)(nil)
)
