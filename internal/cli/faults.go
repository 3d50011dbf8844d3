package cli

import (
	"context"

	"github.com/gputune/gputune/control"
	"github.com/gputune/gputune/internal/restore"
)

// faultEnv injects a panic once the first clock is locked, so the
// out-of-process tests can prove that a panic in each kind of goroutine
// still gives the clocks back. It is read only by a binary built with the
// gputune_testhooks build tag (faultWanted), as the out-of-process tests
// build it (testkit.BuildGputune), and there only together with the fake
// GPU; a release build ignores it:
//
//	group  a goroutine started through restore.Group
//	raw    a goroutine started without it (the process dies; the
//	       supervisor restores)
//	main   the session's own goroutine
const faultEnv = "GPUTUNE_TEST_PANIC"

// awaitFirstLock blocks until the loop has locked a clock (or stops).
func awaitFirstLock(ctx context.Context, loop *control.Loop) bool {
	sub := loop.Subscribe(8)
	for {
		select {
		case <-ctx.Done():
			return false
		case s, ok := <-sub:
			if !ok {
				return false
			}
			if s.FreqMHz != 0 && s.Actuation == control.ActAuto {
				return true
			}
		}
	}
}

// injectFault starts the injected fault, if any; "main" is returned for the
// caller to raise in its own goroutine.
func injectFault(ctx context.Context, fault string, loop *control.Loop, group *restore.Group) {
	switch fault {
	case "group":
		group.Go("injected-fault", func(ctx context.Context) error {
			if awaitFirstLock(ctx, loop) {
				panic("injected panic in a group goroutine (" + faultEnv + ")")
			}
			return nil
		})
	case "raw":
		go func() {
			if awaitFirstLock(ctx, loop) {
				panic("injected panic in a raw goroutine (" + faultEnv + ")")
			}
		}()
	}
}
