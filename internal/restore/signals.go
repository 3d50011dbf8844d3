package restore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
)

// shutdownSignals all mean "restore the clocks and stop": SIGHUP is a
// dropped SSH session, SIGQUIT would otherwise dump goroutines and exit
// without restoring. SIGPIPE is not among them: once a program asks for
// SIGPIPE, Go delivers it for a broken write to ANY pipe or socket (a scrape
// peer hanging up, an exporter client leaving), which must not stop tuning.
// NotifyContext ignores it instead, so a closed stdout (`gputune --no-tui |
// head`) shows up as EPIPE where stdout is written (BrokenPipe), and that
// writer stops the run in order.
func shutdownSignals() []os.Signal {
	return []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT}
}

// BrokenPipe reports whether err is a write to a closed pipe: the caller
// should stop in order, with cause &SignalError{Signal: syscall.SIGPIPE}.
func BrokenPipe(err error) bool { return errors.Is(err, syscall.EPIPE) }

// SignalError is the cancellation cause of a NotifyContext context.
type SignalError struct {
	Signal syscall.Signal
}

func (e *SignalError) Error() string { return "received " + signalName(e.Signal) }

// ExitCode is the shell convention for a death by this signal, 128+n; an
// orderly exit after the restore reports the same status.
func (e *SignalError) ExitCode() int { return 128 + int(e.Signal) }

// ErrSupervisorGone: the worker's supervisor died before the worker could
// arm its parent-death signal, so nobody would restore after a crash.
var ErrSupervisorGone = errors.New("gputune supervisor process is gone")

func signalName(s syscall.Signal) string {
	switch s {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGHUP:
		return "SIGHUP"
	case syscall.SIGQUIT:
		return "SIGQUIT"
	case syscall.SIGPIPE:
		return "SIGPIPE"
	case syscall.SIGKILL:
		return "SIGKILL"
	}
	return "signal " + strconv.Itoa(int(s))
}

// NotifyContext returns a context cancelled, with a *SignalError cause
// (context.Cause), on SIGINT, SIGTERM, SIGHUP or SIGQUIT. While it is
// active SIGPIPE is ignored: a write to a closed stdout returns EPIPE
// (BrokenPipe) instead of killing the process. Later signals are swallowed: the first already started the
// restore. In a worker whose supervisor is already gone, the context starts
// cancelled with ErrSupervisorGone.
//
// Defer stop so that it runs after the restore: it restores the default
// signal behaviour.
func NotifyContext(parent context.Context) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(parent)
	ch := make(chan os.Signal, 8)
	signal.Notify(ch, shutdownSignals()...)
	signal.Ignore(syscall.SIGPIPE)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-ch:
				sig, _ := s.(syscall.Signal)
				cancel(&SignalError{Signal: sig})
			case <-done:
				return
			}
		}
	}()
	if err := supervisorGone(); err != nil {
		cancel(err)
	}
	var once sync.Once
	return ctx, func() {
		once.Do(func() {
			signal.Stop(ch)
			signal.Reset(syscall.SIGPIPE)
			close(done)
			cancel(context.Canceled)
		})
	}
}

// supervisorGone catches the window between fork and the kernel arming
// Pdeathsig: if the supervisor died in it, we were reparented already.
func supervisorGone() error {
	if !IsWorker() {
		return nil
	}
	want, err := strconv.Atoi(os.Getenv(supervisorPIDEnv))
	if err != nil {
		return nil // started by hand with the marker: nothing to compare
	}
	if got := os.Getppid(); got != want {
		return fmt.Errorf("%w (parent is pid %d, expected %d)", ErrSupervisorGone, got, want)
	}
	return nil
}
