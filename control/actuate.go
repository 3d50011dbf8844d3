package control

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gputune/gputune/bandit"
	"github.com/gputune/gputune/nvgpu"
)

// actuator owns what is locked on the GPU. The cycle applies arms; the
// watchdog and Close release them, possibly from another goroutine.
type actuator struct {
	ctl     nvgpu.Controller
	log     *slog.Logger
	memArms bool

	mu        sync.Mutex
	commanded bandit.Arm // zero: default governor
	coreHeld  bool
	memHeld   bool
	memDenied bool
	// switchedAt is when the commanded clocks last changed.
	switchedAt time.Time
	// released is set by the watchdog so the next apply locks again.
	released atomic.Bool
}

// errReadOnly is returned when no controller is held.
var errReadOnly = errors.New("read-only: no permission to set clocks")

// apply locks arm (SMMHz 0: give the clocks back to the governor) at now.
func (a *actuator) apply(ctx context.Context, arm bandit.Arm, now time.Time) error {
	if a.ctl == nil {
		return errReadOnly
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.released.Swap(false) {
		a.coreHeld, a.memHeld = false, false
		a.commanded = bandit.Arm{}
	}
	before := a.commanded
	defer func() {
		if a.commanded != before {
			a.switchedAt = now
		}
	}()
	if arm.SMMHz == 0 {
		return a.releaseLocked(ctx)
	}
	if arm.SMMHz != a.commanded.SMMHz || !a.coreHeld {
		if err := a.ctl.LockCoreClock(ctx, arm.SMMHz); err != nil {
			return fmt.Errorf("locking core clock %d MHz: %w", arm.SMMHz, err)
		}
		a.coreHeld = true
		a.commanded.SMMHz = arm.SMMHz
	}
	if a.memArms && !a.memDenied && arm.MemMHz != 0 && (arm.MemMHz != a.commanded.MemMHz || !a.memHeld) {
		err := a.ctl.LockMemClock(ctx, arm.MemMHz)
		switch {
		case errors.Is(err, nvgpu.ErrNotSupported):
			a.memDenied = true
			a.log.Warn("the GPU refuses memory-clock locks; tuning the core clock only")
		case err != nil:
			return fmt.Errorf("locking memory clock %d MHz: %w", arm.MemMHz, err)
		default:
			a.memHeld = true
			a.commanded.MemMHz = arm.MemMHz
		}
	}
	return nil
}

func (a *actuator) lastSwitch() time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.switchedAt
}

// current is the arm last applied (zero: governor).
func (a *actuator) current() bandit.Arm {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.released.Load() {
		return bandit.Arm{}
	}
	return a.commanded
}

func (a *actuator) release(ctx context.Context) error {
	if a.ctl == nil {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.releaseLocked(ctx)
}

func (a *actuator) releaseLocked(ctx context.Context) error {
	var errs []error
	if a.coreHeld {
		if err := a.ctl.ResetCoreClock(ctx); err != nil {
			errs = append(errs, fmt.Errorf("resetting core clock: %w", err))
		} else {
			a.coreHeld = false
		}
	}
	if a.memHeld {
		if err := a.ctl.ResetMemClock(ctx); err != nil {
			errs = append(errs, fmt.Errorf("resetting memory clock: %w", err))
		} else {
			a.memHeld = false
		}
	}
	if len(errs) == 0 {
		if a.commanded != (bandit.Arm{}) {
			a.log.Info("clocks given back to the default governor")
		}
		a.commanded = bandit.Arm{}
	}
	return errors.Join(errs...)
}

// releaseFromWatchdog resets the clocks without waiting for the cycle, which
// may be stuck holding a.mu inside a hung call. It reports whether anything
// was released.
func (a *actuator) releaseFromWatchdog(ctx context.Context) bool {
	if a.ctl == nil || a.released.Load() {
		return false
	}
	if a.mu.TryLock() {
		held := a.coreHeld || a.memHeld
		a.mu.Unlock()
		if !held {
			return false
		}
	}
	a.released.Store(true)
	_ = a.ctl.ResetCoreClock(ctx)
	if a.memArms {
		_ = a.ctl.ResetMemClock(ctx)
	}
	return true
}
