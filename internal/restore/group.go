package restore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
)

// PanicError is how Group reports a recovered panic, after the restore ran.
// main matches it with errors.As and exits non-zero.
type PanicError struct {
	Goroutine string
	Value     any
	Stack     []byte
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("panic in goroutine %q: %v", e.Goroutine, e.Value)
}

// Group runs the worker's goroutines. Every goroutine must be started through
// Go: a panic in any of them is recovered, its stack logged, the registered
// restores (Claim.Release) run at once, the group's context cancelled, and
// Wait returns a *PanicError. Nothing here exits the process; main does.
type Group struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	log    *slog.Logger
	wg     sync.WaitGroup

	mu       sync.Mutex
	err      error
	panicked bool
	restores []func(context.Context) error

	restoreOnce sync.Once
	restoreErr  error
}

// NewGroup returns a group and the context its goroutines get, cancelled
// when ctx is, when a goroutine returns an error, or when one panics.
func NewGroup(ctx context.Context, log *slog.Logger) (*Group, context.Context) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	gctx, cancel := context.WithCancelCause(ctx)
	return &Group{ctx: gctx, cancel: cancel, log: log}, gctx
}

// OnPanic registers a restore to run once, right after the first panic, on a
// context that outlives the group's cancellation (typically Claim.Release).
func (g *Group) OnPanic(restore func(context.Context) error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.restores = append(g.restores, restore)
}

// Go starts fn under the group's protection. A non-nil error from fn, other
// than the group's own cancellation, cancels the group and is returned by
// Wait (the first one wins; a panic wins over any error).
func (g *Group) Go(name string, fn func(ctx context.Context) error) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		var err error
		defer g.Guard(name, &err)
		err = fn(g.ctx)
		if err != nil && !(errors.Is(err, context.Canceled) && g.ctx.Err() != nil) {
			g.fail(err)
		}
	}()
}

// Guard turns a panic in the calling goroutine into the group's panic
// handling. Defer it directly at the top of main's worker function:
//
//	defer g.Guard("main", &err)
//
// On a panic it sets *errp to the *PanicError (joined with any restore
// failure). Without a panic it does nothing.
func (g *Group) Guard(name string, errp *error) {
	r := recover()
	if r == nil {
		return
	}
	perr := g.handlePanic(name, r)
	if errp != nil {
		*errp = perr
	}
}

func (g *Group) handlePanic(name string, value any) error {
	pe := &PanicError{Goroutine: name, Value: value, Stack: debug.Stack()}
	g.log.Error("panic; restoring the clocks and stopping", "goroutine", name, "panic", fmt.Sprint(value), "stack", string(pe.Stack))
	g.restoreOnce.Do(func() {
		g.mu.Lock()
		restores := append([]func(context.Context) error(nil), g.restores...)
		g.mu.Unlock()
		rctx, cancel := resetContext(g.ctx, defaultResetTimeout)
		defer cancel()
		var errs []error
		for _, restore := range restores {
			errs = append(errs, restore(rctx))
		}
		g.restoreErr = errors.Join(errs...)
		if g.restoreErr != nil {
			g.log.Error("restore after panic failed", "err", g.restoreErr)
		}
	})
	err := errors.Join(pe, g.restoreErr)
	g.mu.Lock()
	if !g.panicked {
		g.panicked = true
		g.err = err
	}
	g.mu.Unlock()
	g.cancel(pe)
	return err
}

func (g *Group) fail(err error) {
	g.mu.Lock()
	if g.err == nil {
		g.err = err
	}
	g.mu.Unlock()
	g.cancel(err)
}

// Wait waits for every goroutine started with Go and returns the first
// panic (as an error wrapping *PanicError) or else the first error.
func (g *Group) Wait() error {
	g.wg.Wait()
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.err
}
