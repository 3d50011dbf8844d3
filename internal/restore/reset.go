package restore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"

	"github.com/gputune/gputune/nvgpu"
)

// Opener gives the restore paths (supervisor, `gputune reset`) a controller
// for one GPU. If the controller is also an io.Closer it is closed after use.
type Opener func(ctx context.Context, gpu GPUID) (nvgpu.Controller, error)

// ResetResult is what ResetAll did for one GPU.
type ResetResult struct {
	GPU GPUID
	// Found is true when a stale state file existed; Previous is its content.
	Found    bool
	Previous State
	Err      error
}

// ResetAll implements `gputune reset`: for each GPU it resets the core and
// memory clocks (whether or not gputune locked them, since the user asked)
// and clears its stale state file. A GPU owned by a live gputune is refused
// with a *BusyError: stopping that gputune restores it. The error joins
// every GPU's failure; the results say what happened to each.
func ResetAll(ctx context.Context, dir string, gpus []GPUID, open Opener, log *slog.Logger) ([]ResetResult, error) {
	if open == nil {
		return nil, errors.New("restore: ResetAll needs an opener")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := ensureDir(dir); err != nil {
		return nil, err
	}
	results := make([]ResetResult, 0, len(gpus))
	var errs []error
	for _, gpu := range gpus {
		r := resetOne(ctx, dir, gpu, open, log.With("gpu", gpu.Index, "uuid", gpu.UUID))
		if r.Err != nil {
			errs = append(errs, r.Err)
		}
		results = append(results, r)
	}
	// State files of GPUs not asked about (or no longer present) are left
	// alone but named, so nothing locked goes unnoticed.
	uuids, err := listStates(dir)
	if err != nil {
		errs = append(errs, err)
	}
	for _, uuid := range uuids {
		if !slices.ContainsFunc(gpus, func(g GPUID) bool { return g.UUID == uuid }) {
			log.Warn("state file for a GPU not reset here; use --gpu all or its index", "uuid", uuid, "file", statePath(dir, uuid))
		}
	}
	return results, errors.Join(errs...)
}

func resetOne(ctx context.Context, dir string, gpu GPUID, open Opener, log *slog.Logger) ResetResult {
	r := ResetResult{GPU: gpu}
	if err := validUUID(gpu.UUID); err != nil {
		r.Err = err
		return r
	}
	lk, err := waitLock(ctx, dir, gpu, AcquireOptions{}.withDefaults(), log)
	var busy *BusyError
	if errors.As(err, &busy) {
		busy.Hint = "stop that gputune instead: it gives the clocks back on exit"
	}
	if err != nil {
		r.Err = err
		return r
	}
	spath := statePath(dir, gpu.UUID)
	r.Previous, r.Found, err = readState(spath)
	if err != nil {
		// A corrupt file still means "maybe locked": reset both and clear it.
		log.Warn("unreadable state file; resetting both clocks anyway", "err", err)
	}
	if r.Found {
		log.Info("clearing stale state", "dead_pid", r.Previous.PID,
			"core_locked_mhz", r.Previous.CoreLockedMHz, "mem_locked_mhz", r.Previous.MemLockedMHz)
	}
	everything := State{CoreLockedMHz: -1, MemLockedMHz: -1}
	if err := withController(ctx, open, gpu, func(ctx context.Context, ctl nvgpu.Controller) error {
		return resetRecorded(ctx, ctl, everything)
	}); err != nil {
		lk.release(false)
		r.Err = fmt.Errorf("restore: reset %s: %w", gpu, err)
		return r
	}
	if err := os.Remove(spath); err != nil && !errors.Is(err, os.ErrNotExist) {
		r.Err = fmt.Errorf("restore: remove state file: %w", err)
	}
	lk.release(true)
	log.Info("clocks reset")
	return r
}

// withController opens gpu's controller, runs fn with a reset context that
// outlives ctx's cancellation, and closes the controller.
func withController(ctx context.Context, open Opener, gpu GPUID, fn func(context.Context, nvgpu.Controller) error) error {
	rctx, cancel := resetContext(ctx, defaultResetTimeout)
	defer cancel()
	ctl, err := open(rctx, gpu)
	if err != nil {
		return fmt.Errorf("open controller: %w", err)
	}
	if c, ok := ctl.(io.Closer); ok {
		defer c.Close()
	}
	return fn(rctx, ctl)
}

// restoreAfter is the supervisor's half: after worker workerPID died, reset
// the clocks of every state file it left. A file whose lock someone else now
// holds, or that names another pid, was already handled by a newer gputune
// (Acquire resets stale clocks) and is left alone.
func restoreAfter(ctx context.Context, dir string, workerPID int, open Opener, log *slog.Logger) ([]State, error) {
	uuids, err := listStates(dir)
	if err != nil {
		return nil, err
	}
	var restored []State
	var errs []error
	for _, uuid := range uuids {
		st, ok, err := readState(statePath(dir, uuid))
		if err != nil || !ok || st.PID != workerPID {
			continue // not ours, or gone meanwhile; a corrupt file is `gputune reset`'s job
		}
		lk, err := tryLock(lockPath(dir, uuid))
		if errors.Is(err, errLockHeld) {
			log.Info("a newer gputune already holds the GPU the worker left; it resets stale clocks itself", "uuid", uuid)
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		st, ok, err = readState(statePath(dir, uuid))
		if err != nil || !ok || st.PID != workerPID {
			lk.release(false)
			continue
		}
		gpu := st.GPU()
		if err := withController(ctx, open, gpu, func(ctx context.Context, ctl nvgpu.Controller) error {
			return resetRecorded(ctx, ctl, st)
		}); err != nil {
			lk.release(false)
			errs = append(errs, fmt.Errorf("restore: reset %s after worker pid %d died (run `gputune reset --gpu %d`): %w", gpu, workerPID, gpu.Index, err))
			continue
		}
		if err := os.Remove(statePath(dir, uuid)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("restore: remove state file: %w", err))
		}
		lk.release(true)
		log.Warn("worker died without giving its clocks back; supervisor reset them",
			"gpu", gpu.Index, "uuid", gpu.UUID, "worker_pid", workerPID,
			"core_was_mhz", st.CoreLockedMHz, "mem_was_mhz", st.MemLockedMHz)
		restored = append(restored, st)
	}
	return restored, errors.Join(errs...)
}
