package nvgpu

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock"
)

// h100ClocksCSV is what `nvidia-smi --query-supported-clocks=gr,mem
// --format=csv,noheader,nounits` prints on the probed H100; generated from
// its `-q -d SUPPORTED_CLOCKS` output (shared/data/h100-nvml-probe).
func h100ClocksCSV(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/h100_supported_clocks.csv")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func runnerReturning(out []byte, err error) CommandRunner {
	return func(ctx context.Context, name string, args ...string) ([]byte, error) { return out, err }
}

// h100Mock is a mock H100 with the values the probe read (info.json).
func h100Mock() (*mock.Interface, *mock.Device) {
	dev := &mock.Device{
		GetNameFunc:                            func() (string, nvml.Return) { return "NVIDIA H100 80GB HBM3", nvml.SUCCESS },
		GetUUIDFunc:                            func() (string, nvml.Return) { return "GPU-1234", nvml.SUCCESS },
		GetEnforcedPowerLimitFunc:              func() (uint32, nvml.Return) { return 700000, nvml.SUCCESS },
		GetPowerManagementLimitConstraintsFunc: func() (uint32, uint32, nvml.Return) { return 200000, 700000, nvml.SUCCESS },
		GetTotalEnergyConsumptionFunc:          func() (uint64, nvml.Return) { return 2349439, nvml.SUCCESS },
		GetFieldValuesFunc: func(fv []nvml.FieldValue) nvml.Return {
			for i := range fv {
				fv[i].ValueType = uint32(nvml.VALUE_TYPE_UNSIGNED_INT)
				binary.LittleEndian.PutUint32(fv[i].Value[:4], 77556)
			}
			return nvml.SUCCESS
		},
		GetMinMaxClockOfPStateFunc: func(ct nvml.ClockType, _ nvml.Pstates) (uint32, uint32, nvml.Return) {
			if ct == nvml.CLOCK_MEM {
				return 2619, 2619, nvml.SUCCESS
			}
			return 345, 1980, nvml.SUCCESS
		},
		GetMaxClockInfoFunc: func(ct nvml.ClockType) (uint32, nvml.Return) {
			if ct == nvml.CLOCK_MEM {
				return 2619, nvml.SUCCESS
			}
			return 1980, nvml.SUCCESS
		},
		GetClockInfoFunc: func(ct nvml.ClockType) (uint32, nvml.Return) {
			if ct == nvml.CLOCK_MEM {
				return 2619, nvml.SUCCESS
			}
			return 1425, nvml.SUCCESS
		},
		GetPowerUsageFunc:                func() (uint32, nvml.Return) { return 446000, nvml.SUCCESS },
		GetTemperatureFunc:               func(nvml.TemperatureSensors) (uint32, nvml.Return) { return 47, nvml.SUCCESS },
		GetUtilizationRatesFunc:          func() (nvml.Utilization, nvml.Return) { return nvml.Utilization{Gpu: 87}, nvml.SUCCESS },
		GetCurrentClocksEventReasonsFunc: func() (uint64, nvml.Return) { return ReasonSWPowerCap, nvml.SUCCESS },
		SetGpuLockedClocksFunc:           func(uint32, uint32) nvml.Return { return nvml.SUCCESS },
		ResetGpuLockedClocksFunc:         func() nvml.Return { return nvml.SUCCESS },
		SetMemoryLockedClocksFunc:        func(uint32, uint32) nvml.Return { return nvml.SUCCESS },
		ResetMemoryLockedClocksFunc:      func() nvml.Return { return nvml.SUCCESS },
	}
	lib := &mock.Interface{
		InitFunc:                   func() nvml.Return { return nvml.SUCCESS },
		ShutdownFunc:               func() nvml.Return { return nvml.SUCCESS },
		DeviceGetCountFunc:         func() (int, nvml.Return) { return 1, nvml.SUCCESS },
		DeviceGetHandleByIndexFunc: func(int) (nvml.Device, nvml.Return) { return dev, nvml.SUCCESS },
		SystemGetDriverVersionFunc: func() (string, nvml.Return) { return "580.159.04", nvml.SUCCESS },
	}
	return lib, dev
}

func openMock(t *testing.T, lib nvml.Interface, run CommandRunner) *NVMLDevice {
	t.Helper()
	d, err := OpenNVML(context.Background(), lib, 0, nil, WithCommandRunner(run))
	if err != nil {
		t.Fatalf("OpenNVML: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func TestOpenNVMLInitFailureCallsNothingElse(t *testing.T) {
	for _, ret := range []nvml.Return{nvml.ERROR_LIBRARY_NOT_FOUND, nvml.ERROR_DRIVER_NOT_LOADED, nvml.ERROR_UNKNOWN} {
		t.Run(returnName(ret), func(t *testing.T) {
			// Only Init is set: any other call panics in the mock, which
			// is what the real library does to the whole process.
			lib := &mock.Interface{InitFunc: func() nvml.Return { return ret }}
			var err error
			func() {
				defer func() {
					if p := recover(); p != nil {
						t.Fatalf("an NVML call followed a failed Init: %v", p)
					}
				}()
				_, err = OpenNVML(context.Background(), lib, 0, nil)
			}()
			if !errors.Is(err, ErrNoDriver) {
				t.Fatalf("err = %v, want ErrNoDriver", err)
			}
			if !strings.Contains(err.Error(), "gputune --demo") {
				t.Errorf("error %q does not say how to try gputune without a GPU", err)
			}
			if n := len(lib.InitCalls()); n != 1 {
				t.Errorf("Init called %d times, want 1", n)
			}
			if n := len(lib.ShutdownCalls()) + len(lib.DeviceGetCountCalls()) + len(lib.DeviceGetHandleByIndexCalls()); n != 0 {
				t.Errorf("%d NVML calls after a failed Init", n)
			}
			if _, err := CountNVML(lib); !errors.Is(err, ErrNoDriver) {
				t.Errorf("CountNVML err = %v, want ErrNoDriver", err)
			}
		})
	}
}

func TestOpenNVMLFacts(t *testing.T) {
	lib, _ := h100Mock()
	d := openMock(t, lib, runnerReturning(h100ClocksCSV(t), nil))
	f := d.Facts()
	if f.Name != "NVIDIA H100 80GB HBM3" || f.UUID != "GPU-1234" || f.Driver != "580.159.04" {
		t.Errorf("identity = %q %q %q", f.Name, f.UUID, f.Driver)
	}
	if f.PowerLimitW != 700 || f.PowerMinW != 200 || f.PowerMaxW != 700 {
		t.Errorf("power = %v [%v, %v]", f.PowerLimitW, f.PowerMinW, f.PowerMaxW)
	}
	if !f.EnergyCounter || !f.InstantPower || f.Simulated {
		t.Errorf("capabilities = %+v", f)
	}
	if len(f.CoreClocksMHz) != 110 || f.CoreClocksMHz[0] != 345 || f.CoreClocksMHz[109] != 1980 {
		t.Errorf("core clocks: %d from %v", len(f.CoreClocksMHz), f.CoreClocksMHz[:3])
	}
	if !slices.Equal(f.MemClocksMHz, []int{1593, 2619}) || !f.MemLockSupported {
		t.Errorf("mem clocks %v, lock supported %v", f.MemClocksMHz, f.MemLockSupported)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	d.Close()
	if n := len(lib.ShutdownCalls()); n != 1 {
		t.Errorf("Shutdown called %d times, want once", n)
	}
}

func TestOpenNVMLBadIndex(t *testing.T) {
	lib, _ := h100Mock()
	_, err := OpenNVML(context.Background(), lib, 3, nil, WithCommandRunner(nil))
	if err == nil || !strings.Contains(err.Error(), "has 1 GPU") {
		t.Fatalf("err = %v", err)
	}
	if len(lib.ShutdownCalls()) != 1 {
		t.Errorf("a failed open must shut NVML down again")
	}
}

func TestSupportedClockRoutes(t *testing.T) {
	ladder := func() []int {
		var l []int
		for f := 345; f <= 1980; f += 15 {
			l = append(l, f)
		}
		return l
	}()
	cases := []struct {
		name      string
		run       CommandRunner
		breakPMin bool
		wantCore  []int
		wantMem   []int
	}{
		{"nvidia-smi", runnerReturning(h100ClocksCSV(t), nil), false, ladder, []int{1593, 2619}},
		{"nvidia-smi missing", runnerReturning(nil, errors.New("exec: \"nvidia-smi\": executable file not found")), false, ladder, []int{2619}},
		{"nvidia-smi garbage", runnerReturning([]byte("Failed to initialize NVML\n"), nil), false, ladder, []int{2619}},
		{"route disabled", nil, false, ladder, []int{2619}},
		{"no P0 range: max clock only", nil, true, ladderFrom(990, 1980), []int{2619}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			lib, dev := h100Mock()
			if tc.breakPMin {
				dev.GetMinMaxClockOfPStateFunc = func(nvml.ClockType, nvml.Pstates) (uint32, uint32, nvml.Return) {
					return 0, 0, nvml.ERROR_NOT_SUPPORTED
				}
			}
			f := openMock(t, lib, tc.run).Facts()
			if !slices.Equal(f.CoreClocksMHz, tc.wantCore) {
				t.Errorf("core = %v", f.CoreClocksMHz)
			}
			if !slices.Equal(f.MemClocksMHz, tc.wantMem) {
				t.Errorf("mem = %v, want %v", f.MemClocksMHz, tc.wantMem)
			}
			if f.MemLockSupported != (len(tc.wantMem) > 1) {
				t.Errorf("MemLockSupported = %v with mem clocks %v", f.MemLockSupported, f.MemClocksMHz)
			}
		})
	}
}

func ladderFrom(lo, hi int) []int {
	var l []int
	for f := hi; f >= lo; f -= ClockStepMHz {
		l = append([]int{f}, l...)
	}
	return l
}

func TestParseSupportedClocks(t *testing.T) {
	cases := []struct {
		name, in  string
		core, mem []int
		wantErr   string
	}{
		{"two memory clocks", "1980, 2619\n345, 2619\n1980, 1593\n1005, 1593\n", []int{345, 1005, 1980}, []int{1593, 2619}, ""},
		{"blank lines and spaces", "\n  1410 ,1215 \n\n", []int{1410}, []int{1215}, ""},
		{"empty", "", nil, nil, "no supported clocks"},
		{"one column", "1980\n", nil, nil, "line 1"},
		{"not a number", "1980, [N/A]\n", nil, nil, "positive MHz"},
		{"negative", "-15, 2619\n", nil, nil, "positive MHz"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			core, mem, err := ParseSupportedClocks([]byte(tc.in))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(core, tc.core) || !slices.Equal(mem, tc.mem) {
				t.Fatalf("= %v %v %v", core, mem, err)
			}
		})
	}
}

func TestSnap(t *testing.T) {
	h100 := ladderFrom(345, 1980)
	cases := []struct {
		name      string
		supported []int
		in, want  int
	}{
		{"exact", h100, 1410, 1410},
		{"between, nearer up", h100, 1424, 1425},
		{"between, nearer down", h100, 1416, 1410},
		{"tie goes down", []int{1400, 1410}, 1405, 1400},
		{"below the range", h100, 100, 345},
		{"above the range", h100, 2500, 1980},
		{"empty list", nil, 1234, 1234},
		{"single", []int{1500}, 10, 1500},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Snap(tc.supported, tc.in); got != tc.want {
				t.Errorf("Snap(%d) = %d, want %d", tc.in, got, tc.want)
			}
		})
	}
}

func TestLockErrors(t *testing.T) {
	cases := []struct {
		name    string
		ret     nvml.Return
		mhz     int
		wantErr error
		calls   int
	}{
		{"ok", nvml.SUCCESS, 1410, nil, 1},
		{"no permission", nvml.ERROR_NO_PERMISSION, 1410, ErrNoPermission, 1},
		{"not supported", nvml.ERROR_NOT_SUPPORTED, 1410, ErrNotSupported, 1},
		{"gpu lost", nvml.ERROR_GPU_IS_LOST, 1410, nil, 1},
		{"unsupported clock never reaches NVML", nvml.SUCCESS, 1411, ErrUnsupportedClock, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			lib, dev := h100Mock()
			dev.SetGpuLockedClocksFunc = func(lo, hi uint32) nvml.Return {
				if lo != uint32(tc.mhz) || hi != uint32(tc.mhz) {
					t.Errorf("SetGpuLockedClocks(%d, %d), want min = max = %d", lo, hi, tc.mhz)
				}
				return tc.ret
			}
			d := openMock(t, lib, runnerReturning(h100ClocksCSV(t), nil))
			err := d.LockCoreClock(context.Background(), tc.mhz)
			switch {
			case tc.ret == nvml.ERROR_GPU_IS_LOST:
				if err == nil || !strings.Contains(err.Error(), "ERROR_GPU_IS_LOST") {
					t.Errorf("err = %v", err)
				}
			case tc.wantErr == nil && err != nil:
				t.Errorf("err = %v", err)
			case !errors.Is(err, tc.wantErr):
				t.Errorf("err = %v, want %v", err, tc.wantErr)
			}
			if n := len(dev.SetGpuLockedClocksCalls()); n != tc.calls {
				t.Errorf("%d SetGpuLockedClocks calls, want %d", n, tc.calls)
			}
		})
	}
	t.Run("reset without permission", func(t *testing.T) {
		lib, dev := h100Mock()
		dev.ResetGpuLockedClocksFunc = func() nvml.Return { return nvml.ERROR_NO_PERMISSION }
		dev.ResetMemoryLockedClocksFunc = func() nvml.Return { return nvml.ERROR_NO_PERMISSION }
		d := openMock(t, lib, nil)
		if err := d.ResetCoreClock(context.Background()); !errors.Is(err, ErrNoPermission) || !strings.Contains(err.Error(), "CAP_SYS_ADMIN") {
			t.Errorf("core reset err = %v", err)
		}
		if err := d.ResetMemClock(context.Background()); !errors.Is(err, ErrNoPermission) {
			t.Errorf("mem reset err = %v", err)
		}
	})
}

func TestMemLockRefusedFallsBackToCore(t *testing.T) {
	lib, dev := h100Mock()
	dev.SetMemoryLockedClocksFunc = func(uint32, uint32) nvml.Return { return nvml.ERROR_NOT_SUPPORTED }
	d := openMock(t, lib, runnerReturning(h100ClocksCSV(t), nil))
	ctx := context.Background()
	if !d.Facts().MemLockSupported {
		t.Fatal("two memory clocks listed: memory locking should be tried")
	}
	if err := d.LockMemClock(ctx, 1593); !errors.Is(err, ErrNotSupported) {
		t.Fatalf("err = %v, want ErrNotSupported", err)
	}
	if d.Facts().MemLockSupported {
		t.Error("Facts still claims memory locking after a refusal")
	}
	if err := d.LockMemClock(ctx, 1593); !errors.Is(err, ErrNotSupported) {
		t.Fatalf("second err = %v", err)
	}
	if n := len(dev.SetMemoryLockedClocksCalls()); n != 1 {
		t.Errorf("%d SetMemoryLockedClocks calls, want 1 (refusal remembered)", n)
	}
	if err := d.LockCoreClock(ctx, 1410); err != nil {
		t.Errorf("core lock after memory refusal: %v", err)
	}
	if err := d.LockMemClock(ctx, 2000); !errors.Is(err, ErrNotSupported) {
		t.Errorf("err = %v", err)
	}
}

func TestReadsAndReadBack(t *testing.T) {
	lib, dev := h100Mock()
	d := openMock(t, lib, runnerReturning(h100ClocksCSV(t), nil))
	ctx := context.Background()
	s, err := d.Sample(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := Sample{SMClockMHz: 1425, MemClockMHz: 2619, PowerAvgW: 446, TempC: 47, UtilGPU: 0.87, EventReason: ReasonSWPowerCap}
	if s != want {
		t.Errorf("Sample = %+v, want %+v", s, want)
	}
	p, err := d.InstantPower(ctx)
	if err != nil || p.MilliWatts != 77556 || p.At.IsZero() {
		t.Errorf("InstantPower = %+v, %v", p, err)
	}
	if e, err := d.EnergyCounter(ctx); err != nil || e != 2349439 {
		t.Errorf("EnergyCounter = %d, %v", e, err)
	}
	// Locked 1500, but the card is power capped at 1425: report that.
	locked, eff, err := LockAndReadBack(ctx, d, d, 1503)
	if err != nil || locked != 1500 || eff != 1425 {
		t.Errorf("LockAndReadBack = %d, %d, %v; want 1500, 1425", locked, eff, err)
	}
	dev.GetFieldValuesFunc = func(fv []nvml.FieldValue) nvml.Return {
		fv[0].NvmlReturn = uint32(nvml.ERROR_NOT_SUPPORTED)
		return nvml.SUCCESS
	}
	if _, err := d.InstantPower(ctx); !errors.Is(err, ErrNotSupported) {
		t.Errorf("field error = %v, want ErrNotSupported", err)
	}
	dev.GetClockInfoFunc = func(nvml.ClockType) (uint32, nvml.Return) { return 0, nvml.ERROR_GPU_IS_LOST }
	if _, err := d.Sample(ctx); err == nil {
		t.Error("Sample hid a lost GPU")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := d.LockCoreClock(cctx, 1410); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled lock err = %v", err)
	}
}

func TestFieldUintDecoding(t *testing.T) {
	var v nvml.FieldValue
	v.ValueType = uint32(nvml.VALUE_TYPE_UNSIGNED_LONG_LONG)
	binary.LittleEndian.PutUint64(v.Value[:], 1<<40)
	if got, err := fieldUint(v); err != nil || got != 1<<40 {
		t.Errorf("u64 = %d, %v", got, err)
	}
	v.ValueType = uint32(nvml.VALUE_TYPE_SIGNED_INT)
	if _, err := fieldUint(v); err == nil {
		t.Error("signed type accepted")
	}
}

func TestCountNVML(t *testing.T) {
	lib, _ := h100Mock()
	lib.DeviceGetCountFunc = func() (int, nvml.Return) { return 8, nvml.SUCCESS }
	n, err := CountNVML(lib)
	if err != nil || n != 8 {
		t.Fatalf("CountNVML = %d, %v", n, err)
	}
	if len(lib.ShutdownCalls()) != 1 {
		t.Error("CountNVML must shut NVML down")
	}
}
