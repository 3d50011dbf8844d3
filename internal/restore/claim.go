package restore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/gputune/gputune/nvgpu"
)

// ErrBusy: another live gputune owns the GPU. Match with errors.Is; the
// concrete *BusyError names the owner.
var ErrBusy = errors.New("GPU is in use by another gputune")

// ErrReleased: the claim was already released; no more locks through it.
var ErrReleased = errors.New("GPU claim already released")

// ErrNotRecorded: a lock was not attempted because the state file could not
// name it first (disk full, run directory unwritable). The clock stays as
// it was; the caller should give it back to the default governor rather
// than keep an older lock.
var ErrNotRecorded = errors.New("the clock lock could not be recorded in the state file, so it was not made")

// BusyError says who owns the GPU.
type BusyError struct {
	GPU GPUID
	// PID is the owner's pid from its state file; 0 when unknown.
	PID  int
	Hint string
}

func (e *BusyError) Error() string {
	owner := "another process"
	if e.PID != 0 {
		owner = "gputune pid " + strconv.Itoa(e.PID)
	}
	msg := fmt.Sprintf("%s is already tuned by %s", e.GPU, owner)
	if e.Hint != "" {
		msg += "; " + e.Hint
	}
	return msg
}

func (e *BusyError) Is(target error) bool { return target == ErrBusy }

// AcquireOptions tune Acquire; the zero value refuses a busy GPU.
type AcquireOptions struct {
	// Takeover asks a live owner to stop (SIGTERM: it restores its clocks
	// and exits) and waits for it, instead of refusing.
	Takeover bool
	// TakeoverTimeout bounds that wait; default 10 s.
	TakeoverTimeout time.Duration
	// SettleTimeout bounds the wait for a lock whose holder is not a live
	// owner (a supervisor restoring after its worker died); default 3 s.
	SettleTimeout time.Duration
	// ResetTimeout bounds each reset, also on a cancelled context; default 10 s.
	ResetTimeout time.Duration
	Log          *slog.Logger
}

func (o AcquireOptions) withDefaults() AcquireOptions {
	if o.TakeoverTimeout <= 0 {
		o.TakeoverTimeout = 10 * time.Second
	}
	if o.SettleTimeout <= 0 {
		o.SettleTimeout = 3 * time.Second
	}
	if o.ResetTimeout <= 0 {
		o.ResetTimeout = defaultResetTimeout
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return o
}

const defaultResetTimeout = 10 * time.Second

// Claim is this process's ownership of one GPU. It is the only
// nvgpu.Controller the control loop should hold: every lock goes through it,
// so the state file always names the clocks to give back before the driver
// is asked to lock them. Safe for concurrent use.
type Claim struct {
	ctl          nvgpu.Controller
	log          *slog.Logger
	path         string
	lock         *fileLock
	resetTimeout time.Duration
	// write stores the state file; tests inject a full disk here.
	write func(path string, st State) error

	mu       sync.Mutex
	state    State
	released bool
}

var _ nvgpu.Controller = (*Claim)(nil)

// Acquire claims gpu for this process: it takes the GPU's flock in dir,
// resets and reports the clocks a dead earlier owner left locked, and writes
// the state file before any lock. A GPU owned by a live gputune gives a
// *BusyError naming its pid, unless opts.Takeover.
func Acquire(ctx context.Context, dir string, gpu GPUID, ctl nvgpu.Controller, opts AcquireOptions) (*Claim, error) {
	if ctl == nil {
		return nil, errors.New("restore: Acquire needs a controller")
	}
	if err := validUUID(gpu.UUID); err != nil {
		return nil, err
	}
	if err := ensureDir(dir); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	log := opts.Log.With("gpu", gpu.Index, "uuid", gpu.UUID)

	lk, err := waitLock(ctx, dir, gpu, opts, log)
	if err != nil {
		return nil, err
	}
	spath := statePath(dir, gpu.UUID)
	stale, found, err := readState(spath)
	if err != nil {
		lk.release(false)
		return nil, err
	}
	if found {
		log.Warn("found clocks left locked by a gputune that is gone; resetting them first",
			"dead_pid", stale.PID, "core_locked_mhz", stale.CoreLockedMHz, "mem_locked_mhz", stale.MemLockedMHz)
		rctx, cancel := resetContext(ctx, opts.ResetTimeout)
		err := resetRecorded(rctx, ctl, stale)
		cancel()
		if err != nil {
			lk.release(false)
			return nil, fmt.Errorf("restore: reset clocks left by pid %d on %s (run `gputune reset --gpu %d`): %w", stale.PID, gpu, gpu.Index, err)
		}
		log.Info("stale clocks reset", "dead_pid", stale.PID)
	}
	now := time.Now().UTC()
	st := State{PID: os.Getpid(), GPUIndex: gpu.Index, GPUUUID: gpu.UUID, Started: now, Updated: now}
	if IsWorker() {
		st.SupervisorPID = os.Getppid()
	}
	stampOwner(&st)
	if err := writeState(spath, st); err != nil {
		lk.release(false)
		return nil, err
	}
	return &Claim{ctl: ctl, log: log, path: spath, lock: lk, resetTimeout: opts.ResetTimeout, state: st, write: writeState}, nil
}

// waitLock takes the GPU's flock, refusing, taking over or waiting out a
// holder as opts say.
func waitLock(ctx context.Context, dir string, gpu GPUID, opts AcquireOptions, log *slog.Logger) (*fileLock, error) {
	lpath, spath := lockPath(dir, gpu.UUID), statePath(dir, gpu.UUID)
	var settleDeadline, takeoverDeadline time.Time
	signalled := 0
	for {
		lk, err := tryLock(lpath)
		if err == nil {
			return lk, nil
		}
		if !errors.Is(err, errLockHeld) {
			return nil, err
		}
		owner, _, _ := readState(spath) // a torn or missing file just means "unknown owner"
		now := time.Now()
		switch {
		case owner.PID == os.Getpid():
			return nil, &BusyError{GPU: gpu, PID: owner.PID, Hint: "this process already holds a claim on it"}
		case pidAlive(owner.PID) && !opts.Takeover:
			return nil, &BusyError{GPU: gpu, PID: owner.PID,
				Hint: "stop it (it gives the clocks back on exit) or start with --takeover"}
		case pidAlive(owner.PID):
			if signalled != owner.PID {
				if err := verifyOwner(owner); err != nil {
					return nil, &BusyError{GPU: gpu, PID: owner.PID,
						Hint: fmt.Sprintf("--takeover refused, nothing was signalled (%v); stop that process by hand if it is a gputune", err)}
				}
				log.Warn("taking over the GPU: asking its owner to restore its clocks and stop", "owner_pid", owner.PID)
				if err := syscall.Kill(owner.PID, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
					return nil, fmt.Errorf("restore: take over %s from pid %d: %w", gpu, owner.PID, err)
				}
				signalled = owner.PID
				takeoverDeadline = now.Add(opts.TakeoverTimeout)
			}
			if now.After(takeoverDeadline) {
				return nil, &BusyError{GPU: gpu, PID: owner.PID,
					Hint: fmt.Sprintf("it did not stop within %s of SIGTERM; stop it by hand", opts.TakeoverTimeout)}
			}
		default:
			// The holder is not a live owner: a supervisor resetting after
			// its worker died, a starter that has not written its state yet,
			// or an Inspect probe. All finish quickly.
			if settleDeadline.IsZero() {
				settleDeadline = now.Add(opts.SettleTimeout)
			}
			if now.After(settleDeadline) {
				return nil, &BusyError{GPU: gpu, PID: owner.PID,
					Hint: "its lock " + lpath + " stayed held; check for a stuck gputune"}
			}
		}
		if err := sleepCtx(ctx, pollInterval); err != nil {
			return nil, fmt.Errorf("restore: waiting for %s: %w", gpu, err)
		}
	}
}

// resetContext survives the caller's cancellation: a restore triggered by a
// signal must still run, but not forever.
func resetContext(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), timeout)
}

// resetRecorded resets the clocks st says may be locked. A memory reset the
// driver does not support means memory was never locked.
func resetRecorded(ctx context.Context, ctl nvgpu.Controller, st State) error {
	var errs []error
	if st.CoreLockedMHz != 0 {
		if err := ctl.ResetCoreClock(ctx); err != nil {
			errs = append(errs, fmt.Errorf("reset core clock: %w", err))
		}
	}
	if st.MemLockedMHz != 0 {
		if err := ctl.ResetMemClock(ctx); err != nil && !errors.Is(err, nvgpu.ErrNotSupported) {
			errs = append(errs, fmt.Errorf("reset memory clock: %w", err))
		}
	}
	return errors.Join(errs...)
}

// GPU is the claimed GPU.
func (c *Claim) GPU() GPUID {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state.GPU()
}

// State is the current content of the state file.
func (c *Claim) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// LockCoreClock records mhz in the state file, then locks the core clock.
func (c *Claim) LockCoreClock(ctx context.Context, mhz int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.record(func(s *State) { s.CoreLockedMHz = mhz }); err != nil {
		return err
	}
	return c.ctl.LockCoreClock(ctx, mhz)
}

// LockMemClock records mhz in the state file, then locks the memory clock.
func (c *Claim) LockMemClock(ctx context.Context, mhz int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.record(func(s *State) { s.MemLockedMHz = mhz }); err != nil {
		return err
	}
	return c.ctl.LockMemClock(ctx, mhz)
}

// ResetCoreClock resets the core clock, then clears it from the state file.
func (c *Claim) ResetCoreClock(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.released {
		return nil // Release already reset every clock: nothing is locked
	}
	if err := c.ctl.ResetCoreClock(ctx); err != nil {
		return err
	}
	c.recordReset(func(s *State) { s.CoreLockedMHz = 0 })
	return nil
}

// ResetMemClock resets the memory clock, then clears it from the state file.
func (c *Claim) ResetMemClock(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.released {
		return nil // Release already reset every clock: nothing is locked
	}
	if err := c.ctl.ResetMemClock(ctx); err != nil {
		return err
	}
	c.recordReset(func(s *State) { s.MemLockedMHz = 0 })
	return nil
}

// recordReset clears a reset clock from the state file. The clock is given
// back whether or not that write succeeds: a file that still names it only
// costs a redundant reset later, so a failure is logged, not returned.
// Caller holds c.mu.
func (c *Claim) recordReset(change func(*State)) {
	if err := c.record(change); err != nil {
		c.log.Warn("clock given back, but the state file still names it (it is reset again at exit)", "err", err)
	}
}

// record applies change and writes the state file if anything changed.
// Caller holds c.mu.
func (c *Claim) record(change func(*State)) error {
	if c.released {
		return ErrReleased
	}
	next := c.state
	change(&next)
	if next == c.state {
		return nil
	}
	next.Updated = time.Now().UTC()
	if err := c.write(c.path, next); err != nil {
		return fmt.Errorf("%w: %w", ErrNotRecorded, err)
	}
	c.state = next
	return nil
}

// Release resets every clock the claim may have locked, then removes the
// state file and drops the lock. It runs even when ctx is cancelled (bounded
// by the reset timeout) and is idempotent. If a reset fails the state file
// stays, so the next start or `gputune reset` retries it.
func (c *Claim) Release(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.released {
		return nil
	}
	c.released = true
	rctx, cancel := resetContext(ctx, c.resetTimeout)
	defer cancel()
	if err := resetRecorded(rctx, c.ctl, c.state); err != nil {
		c.lock.release(false)
		c.log.Error("could not give the clocks back; the state file stays for the next start or `gputune reset`",
			"state_file", c.path, "err", err)
		return fmt.Errorf("restore: release %s: %w", c.state.GPU(), err)
	}
	if c.state.Locked() {
		c.log.Info("clocks given back", "core_was_mhz", c.state.CoreLockedMHz, "mem_was_mhz", c.state.MemLockedMHz)
	}
	// The clocks are back: a state file that cannot be removed only costs
	// a redundant reset at the next start, so it is no failure to report.
	if rmErr := os.Remove(c.path); rmErr != nil && !errors.Is(rmErr, os.ErrNotExist) {
		c.log.Warn("clocks given back, but the state file stays (the next start resets again)", "state_file", c.path, "err", rmErr)
	}
	c.lock.release(true)
	return nil
}
