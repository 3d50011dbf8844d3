package nvgpu

import (
	"context"
	"os"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// The tests and benchmarks in this file read a real GPU through NVML. They
// run only where GPUTUNE_REAL_NVML names a GPU index (CI has no GPU), and
// they hold the device as a Reader alone, so they cannot change a clock,
// a power limit or a mode. Run them on a GPU machine with
//
//	GPUTUNE_REAL_NVML=0 go test ./nvgpu -run RealNVML -bench RealNVML -benchtime 2s

// openRealReader opens the GPU that GPUTUNE_REAL_NVML names, or skips.
func openRealReader(tb testing.TB) Reader {
	tb.Helper()
	v := os.Getenv("GPUTUNE_REAL_NVML")
	if v == "" {
		tb.Skip("set GPUTUNE_REAL_NVML=<GPU index> to read a real GPU")
	}
	idx, err := strconv.Atoi(v)
	if err != nil {
		tb.Fatalf("GPUTUNE_REAL_NVML=%q: want a GPU index such as 0", v)
	}
	d, err := OpenNVML(context.Background(), NewNVMLLib(), idx, nil)
	if err != nil {
		tb.Fatalf("open GPU %d: %v", idx, err)
	}
	tb.Cleanup(func() { _ = d.Close() })
	var r Reader = d
	return r
}

func TestRealNVMLReads(t *testing.T) {
	r := openRealReader(t)
	ctx := context.Background()
	f := r.Facts()
	t.Logf("facts: %s %s driver %s, %d core clocks %v…%v, memory clocks %v, power limit %.0f W",
		f.Name, f.UUID, f.Driver, len(f.CoreClocksMHz), f.CoreClocksMHz[:1], f.CoreClocksMHz[len(f.CoreClocksMHz)-1:], f.MemClocksMHz, f.PowerLimitW)
	if len(f.CoreClocksMHz) < 2 || !slices.IsSorted(f.CoreClocksMHz) {
		t.Errorf("core clocks %v: want an ascending list of at least two", f.CoreClocksMHz)
	}
	if !f.EnergyCounter || !f.InstantPower {
		t.Errorf("energy counter works %v, instant power works %v: gputune's meter needs both", f.EnergyCounter, f.InstantPower)
	}
	s, err := r.Sample(ctx)
	if err != nil {
		t.Fatalf("Sample: %v", err)
	}
	t.Logf("sample: %+v", s)
	if s.SMClockMHz < f.CoreClocksMHz[0]/2 || s.SMClockMHz > f.CoreClocksMHz[len(f.CoreClocksMHz)-1]+15 {
		t.Errorf("SM clock %d MHz outside the supported range", s.SMClockMHz)
	}
	p, err := r.InstantPower(ctx)
	if err != nil {
		t.Fatalf("InstantPower: %v", err)
	}
	if w := float64(p.MilliWatts) / 1000; w <= 0 || (f.PowerLimitW > 0 && w > 1.5*f.PowerLimitW) {
		t.Errorf("instant power %.1f W implausible (limit %.0f W)", w, f.PowerLimitW)
	}
	e0, err := r.EnergyCounter(ctx)
	if err != nil {
		t.Fatalf("EnergyCounter: %v", err)
	}
	time.Sleep(time.Second) // the counter steps every ~100 ms
	e1, err := r.EnergyCounter(ctx)
	if err != nil {
		t.Fatalf("EnergyCounter: %v", err)
	}
	if e1 <= e0 {
		t.Errorf("energy counter did not advance over 1 s: %d then %d mJ", e0, e1)
	}
	t.Logf("energy counter: %.1f J over ~1 s", float64(e1-e0)/1000)
}

// cpuNow is this process's user+system CPU time.
func cpuNow(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchRead reports CPU time per read beside wall time: a read that waits
// on the driver costs wall time, one that computes costs the host a core.
func benchRead(b *testing.B, read func(context.Context, Reader) error) {
	r := openRealReader(b)
	ctx := context.Background()
	b.ResetTimer()
	c0 := cpuNow(b)
	for b.Loop() {
		if err := read(ctx, r); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuNow(b)-c0)/float64(b.N), "cpu-ns/op")
}

func BenchmarkRealNVMLInstantPower(b *testing.B) {
	benchRead(b, func(ctx context.Context, r Reader) error { _, err := r.InstantPower(ctx); return err })
}

func BenchmarkRealNVMLSample(b *testing.B) {
	benchRead(b, func(ctx context.Context, r Reader) error { _, err := r.Sample(ctx); return err })
}

func BenchmarkRealNVMLEnergyCounter(b *testing.B) {
	benchRead(b, func(ctx context.Context, r Reader) error { _, err := r.EnergyCounter(ctx); return err })
}
