package nvgpu

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// ClockStepMHz is the graphics clock step of A100/H100-class parts; the
// ladder fallback uses it when nvidia-smi cannot list the clocks.
const ClockStepMHz = 15

// execRunner runs a real program with a time limit: nvidia-smi can hang on
// a wedged driver, and start-up must not.
func execRunner(ctx context.Context, name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return exec.CommandContext(ctx, name, args...).Output()
}

// supportedClocks lists core and memory clocks. go-nvml v0.13.4-1 cannot
// (its GetSupported*Clocks bindings pass a one-element buffer and get
// ERROR_INSUFFICIENT_SIZE), so ask nvidia-smi first and fall back to a
// ladder between NVML's P0 minimum and maximum.
func supportedClocks(ctx context.Context, dev nvml.Device, uuid string, run CommandRunner, log *slog.Logger) (core, mem []int, err error) {
	if run != nil {
		out, runErr := run(ctx, "nvidia-smi", "--query-supported-clocks=gr,mem", "--format=csv,noheader,nounits", "-i", uuid)
		if runErr == nil {
			core, mem, err = ParseSupportedClocks(out)
			if err == nil {
				log.Debug("supported clocks from nvidia-smi", "core", len(core), "mem", mem)
				return core, mem, nil
			}
			log.Warn("could not parse nvidia-smi's supported clocks; using NVML's min/max", "err", err)
		} else {
			log.Warn("nvidia-smi could not list supported clocks; using NVML's min/max", "err", runErr)
		}
	}
	return ladderClocks(dev)
}

// ParseSupportedClocks reads `nvidia-smi --query-supported-clocks=gr,mem
// --format=csv,noheader,nounits` output ("1980, 2619" per line). Core
// clocks are the union over memory clocks, ascending.
func ParseSupportedClocks(out []byte) (core, mem []int, err error) {
	sc := bufio.NewScanner(bytes.NewReader(out))
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		parts := strings.Split(text, ",")
		if len(parts) != 2 {
			return nil, nil, fmt.Errorf("nvidia-smi supported clocks line %d %q: want \"graphics, memory\"", line, text)
		}
		gr, err1 := strconv.Atoi(strings.TrimSpace(parts[0]))
		mc, err2 := strconv.Atoi(strings.TrimSpace(parts[1]))
		if err1 != nil || err2 != nil || gr <= 0 || mc <= 0 {
			return nil, nil, fmt.Errorf("nvidia-smi supported clocks line %d %q: want two positive MHz numbers", line, text)
		}
		core = append(core, gr)
		mem = append(mem, mc)
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("reading nvidia-smi supported clocks: %w", err)
	}
	if len(core) == 0 {
		return nil, nil, fmt.Errorf("nvidia-smi listed no supported clocks")
	}
	slices.Sort(core)
	slices.Sort(mem)
	return slices.Compact(core), slices.Compact(mem), nil
}

// ladderClocks builds the core list from NVML's P0 range in ClockStepMHz
// steps, anchored at the maximum (the boost clock is always valid).
func ladderClocks(dev nvml.Device) (core, mem []int, err error) {
	lo, hi, ret := dev.GetMinMaxClockOfPState(nvml.CLOCK_GRAPHICS, nvml.PSTATE_0)
	if ret != nvml.SUCCESS || hi == 0 {
		maxGr, ret2 := dev.GetMaxClockInfo(nvml.CLOCK_GRAPHICS)
		if ret2 != nvml.SUCCESS {
			return nil, nil, fmt.Errorf("no way to learn the supported clocks: nvidia-smi failed and %w", nvmlErr("GetMaxClockInfo(GRAPHICS)", ret2))
		}
		lo, hi = 0, maxGr
	}
	if lo == 0 || lo > hi {
		lo = hi / 2 // unknown floor: keep to the upper half, which is safe to lock
	}
	for f := int(hi); f >= int(lo); f -= ClockStepMHz {
		core = append(core, f)
	}
	slices.Sort(core)
	mlo, mhi, ret := dev.GetMinMaxClockOfPState(nvml.CLOCK_MEM, nvml.PSTATE_0)
	if ret != nvml.SUCCESS || mhi == 0 {
		m, ret2 := dev.GetMaxClockInfo(nvml.CLOCK_MEM)
		if ret2 != nvml.SUCCESS {
			return nil, nil, nvmlErr("GetMaxClockInfo(MEM)", ret2)
		}
		mlo, mhi = m, m
	}
	mem = slices.Compact([]int{int(mlo), int(mhi)})
	return core, mem, nil
}

// Snap returns the supported clock nearest to mhz (the lower one on a tie,
// which saves energy). supported must be ascending; an empty list returns
// mhz unchanged.
func Snap(supported []int, mhz int) int {
	if len(supported) == 0 {
		return mhz
	}
	i, found := slices.BinarySearch(supported, mhz)
	switch {
	case found:
		return mhz
	case i == 0:
		return supported[0]
	case i == len(supported):
		return supported[len(supported)-1]
	case mhz-supported[i-1] <= supported[i]-mhz:
		return supported[i-1]
	default:
		return supported[i]
	}
}

// LockAndReadBack snaps mhz to the supported list, locks the core clock and
// returns the SM clock actually in effect (lower than the lock under a
// power or thermal cap).
func LockAndReadBack(ctx context.Context, c Controller, r Reader, mhz int) (lockedMHz, effectiveMHz int, err error) {
	lockedMHz = Snap(r.Facts().CoreClocksMHz, mhz)
	if err := c.LockCoreClock(ctx, lockedMHz); err != nil {
		return lockedMHz, 0, err
	}
	s, err := r.Sample(ctx)
	if err != nil {
		return lockedMHz, 0, fmt.Errorf("reading back the clock after locking %d MHz: %w", lockedMHz, err)
	}
	return lockedMHz, s.SMClockMHz, nil
}
