package restore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func TestGroupPanicRestoresOnceCancelsAndReports(t *testing.T) {
	g, ctx := NewGroup(context.Background(), nil)
	var restores atomic.Int32
	g.OnPanic(func(ctx context.Context) error {
		if ctx.Err() != nil {
			t.Error("restore got a cancelled context")
		}
		restores.Add(1)
		return nil
	})
	g.Go("sibling", func(ctx context.Context) error {
		<-ctx.Done()
		return ctx.Err()
	})
	g.Go("first", func(context.Context) error { panic("boom") })
	g.Go("second", func(ctx context.Context) error {
		<-ctx.Done()
		panic("boom again")
	})
	err := g.Wait()
	var pe *PanicError
	if !errors.As(err, &pe) || pe.Goroutine != "first" || pe.Value != "boom" {
		t.Fatalf("Wait = %v, want the first panic", err)
	}
	if !strings.Contains(string(pe.Stack), "group_test.go") {
		t.Errorf("stack does not show the panicking code:\n%s", pe.Stack)
	}
	if n := restores.Load(); n != 1 {
		t.Fatalf("restore ran %d times, want 1", n)
	}
	if !errors.As(context.Cause(ctx), &pe) {
		t.Fatalf("group context cause = %v, want the panic", context.Cause(ctx))
	}
}

func TestGroupRestoreFailureJoinsThePanic(t *testing.T) {
	g, _ := NewGroup(context.Background(), nil)
	restoreErr := errors.New("reset failed")
	g.OnPanic(func(context.Context) error { return restoreErr })
	g.Go("p", func(context.Context) error { panic("boom") })
	err := g.Wait()
	var pe *PanicError
	if !errors.As(err, &pe) || !errors.Is(err, restoreErr) {
		t.Fatalf("Wait = %v, want panic joined with the restore error", err)
	}
}

func TestGroupErrorCancelsWithoutRestore(t *testing.T) {
	g, ctx := NewGroup(context.Background(), nil)
	g.OnPanic(func(context.Context) error { t.Error("restore ran without a panic"); return nil })
	failure := errors.New("scrape failed")
	g.Go("waiter", func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() })
	g.Go("failer", func(context.Context) error { return failure })
	if err := g.Wait(); !errors.Is(err, failure) {
		t.Fatalf("Wait = %v, want %v", err, failure)
	}
	if ctx.Err() == nil {
		t.Fatal("group context not cancelled by an error")
	}
}

func TestGuardTurnsAMainGoroutinePanicIntoAnError(t *testing.T) {
	g, _ := NewGroup(context.Background(), nil)
	var restored bool
	g.OnPanic(func(context.Context) error { restored = true; return nil })
	err := func() (err error) {
		defer g.Guard("main", &err)
		panic("main boom")
	}()
	var pe *PanicError
	if !errors.As(err, &pe) || pe.Goroutine != "main" || !restored {
		t.Fatalf("err = %v, restored = %v", err, restored)
	}
	if werr := g.Wait(); !errors.As(werr, &pe) {
		t.Fatalf("Wait = %v, want the main panic", werr)
	}
	// Without a panic Guard leaves the error alone.
	sentinel := errors.New("plain")
	err = func() (err error) {
		defer g.Guard("main", &err)
		return sentinel
	}()
	if err != sentinel {
		t.Fatalf("Guard changed a plain error: %v", err)
	}
}

func TestNotifyContextCancelsWithTheSignal(t *testing.T) {
	tests := []syscall.Signal{syscall.SIGHUP, syscall.SIGQUIT}
	for _, sig := range tests {
		t.Run(signalName(sig), func(t *testing.T) {
			ctx, stop := NotifyContext(context.Background())
			defer stop()
			if err := syscall.Kill(syscall.Getpid(), sig); err != nil {
				t.Fatal(err)
			}
			select {
			case <-ctx.Done():
			case <-time.After(5 * time.Second):
				t.Fatal("context not cancelled by the signal")
			}
			var se *SignalError
			if !errors.As(context.Cause(ctx), &se) || se.Signal != sig || se.ExitCode() != 128+int(sig) {
				t.Fatalf("cause = %v", context.Cause(ctx))
			}
		})
	}
}

// A SIGPIPE from any broken socket must not stop tuning: it is ignored, and
// a closed stdout is seen as EPIPE where stdout is written.
func TestNotifyContextIgnoresSIGPIPE(t *testing.T) {
	ctx, stop := NotifyContext(context.Background())
	defer stop()
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGPIPE); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
		t.Fatalf("SIGPIPE cancelled the context: %v", context.Cause(ctx))
	case <-time.After(200 * time.Millisecond):
	}
	if !BrokenPipe(fmt.Errorf("write: %w", syscall.EPIPE)) {
		t.Error("BrokenPipe does not recognise EPIPE")
	}
}
