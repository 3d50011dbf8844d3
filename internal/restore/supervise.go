package restore

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"syscall"
	"time"
)

// WorkerEnv marks the worker child; Supervise sets it to "1".
const WorkerEnv = "GPUTUNE_WORKER"

// supervisorPIDEnv lets the worker notice a supervisor that died before
// Pdeathsig was armed.
const supervisorPIDEnv = "GPUTUNE_SUPERVISOR_PID"

// IsWorker reports whether this process is a supervised worker.
func IsWorker() bool { return os.Getenv(WorkerEnv) == "1" }

// Options configure Supervise.
type Options struct {
	// Opener gives the supervisor a controller to reset a dead worker's
	// clocks. Required.
	Opener Opener
	// RunDir holds the state files; default DefaultDir(). It is passed to
	// the worker in GPUTUNE_RUN_DIR.
	RunDir string
	Log    *slog.Logger
	// Path and Args start the worker; default this executable and
	// os.Args[1:], so the worker sees exactly the user's command line.
	Path string
	Args []string
	// Env is added to this process's environment for the worker.
	Env []string
	// ForceAfter is how many shutdown signals the supervisor forwards before
	// it gives up on an orderly stop, kills the worker and restores itself;
	// default 3 (so a third Ctrl-C always gets the terminal back).
	ForceAfter int
	// StoppedLimit is how long the worker may stay stopped (SIGSTOP, a
	// job-control stop of the worker alone) before the supervisor kills it
	// and gives its clocks back; default 30 s. A stopped worker cannot
	// reset anything, and its locked clock would stay for as long as it
	// sleeps.
	StoppedLimit time.Duration
}

// Supervise runs the worker as a child process of the same binary and waits
// for it. The child inherits stdin, stdout and stderr (and the terminal's
// process group, so a TUI keeps working). Shutdown signals are forwarded to
// the child and do not stop the supervisor, which keeps waiting for the
// child's orderly exit. Whatever ends the child (SIGKILL, the OOM killer, a
// runtime fatal error, os.Exit, a panic), the supervisor then resets every
// clock the child's state files still list and returns the child's exit
// status (128+n for death by signal n) for main to exit with. A failed reset
// returns 3: clocks may still be locked.
func Supervise(ctx context.Context, opts Options) int {
	// Before anything can write to stderr: a write to a closed stderr
	// must return EPIPE here, not kill the supervisor with SIGPIPE.
	fatal := make(chan os.Signal, 8)
	signal.Notify(fatal, fatalByDefault()...)
	defer signal.Stop(fatal)
	go func() {
		for range fatal { // caught and dropped: none of them may stop the reset
		}
	}()
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// The supervisor's own logging can never hold up a reset.
	alog := newAsyncLog(64)
	defer alog.flush(time.Second)
	log = alog.wrap(log)
	if opts.Opener == nil {
		log.Error("restore: Supervise needs an opener")
		return 1
	}
	dir := opts.RunDir
	if dir == "" {
		dir = DefaultDir()
	}
	if err := ensureDir(dir); err != nil {
		log.Error("cannot prepare the run directory", "err", err)
		return 1
	}
	forceAfter := opts.ForceAfter
	if forceAfter <= 0 {
		forceAfter = 3
	}
	stoppedLimit := opts.StoppedLimit
	if stoppedLimit <= 0 {
		stoppedLimit = 30 * time.Second
	}
	path, args := opts.Path, opts.Args
	if path == "" {
		exe, err := os.Executable()
		if err != nil {
			log.Error("cannot find this executable to start the worker", "err", err)
			return 1
		}
		path = exe
	}
	if args == nil {
		args = os.Args[1:]
	}

	cmd := exec.Command(path, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), opts.Env...)
	cmd.Env = append(cmd.Env, WorkerEnv+"=1", DirEnv+"="+dir, supervisorPIDEnv+"="+strconv.Itoa(os.Getpid()))
	// If the supervisor itself is killed, the worker still restores: the
	// kernel sends it SIGTERM.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}

	// Notify before the child exists so no signal is lost in between; a
	// caught (not ignored) disposition is reset for the child by exec.
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, shutdownSignals()...)
	defer signal.Stop(sigs)

	waited, err := startAndWait(cmd)
	if err != nil {
		log.Error("cannot start the gputune worker", "path", path, "err", err)
		return 1
	}
	worker := cmd.Process
	forwarded := 0
	ctxDone := ctx.Done()
	var waitErr error
	watch := newStopWatch(worker.Pid, stoppedLimit)
	tick := time.NewTicker(watch.poll)
	defer tick.Stop()
wait:
	for {
		select {
		case <-tick.C:
			if watch.check() {
				log.Warn("worker stopped (SIGSTOP?) for too long; killing it and restoring the clocks here",
					"worker_pid", worker.Pid, "limit", stoppedLimit)
				_ = worker.Signal(syscall.SIGKILL)
			}
		case s := <-sigs:
			forwarded++
			if forwarded >= forceAfter {
				log.Warn("worker did not stop; killing it and restoring the clocks here", "worker_pid", worker.Pid, "signals", forwarded)
				_ = worker.Signal(syscall.SIGKILL)
				continue
			}
			_ = worker.Signal(s) // ESRCH: it is already exiting, Wait will say so
		case <-ctxDone:
			ctxDone = nil
			_ = worker.Signal(syscall.SIGTERM)
		case waitErr = <-waited:
			break wait
		}
	}

	code := exitStatus(cmd.ProcessState, waitErr)
	if code != 0 {
		log.Info("worker ended", "worker_pid", worker.Pid, "status", describeExit(cmd.ProcessState, waitErr))
	}
	if _, err := restoreAfter(ctx, dir, worker.Pid, opts.Opener, log); err != nil {
		log.Error("could not reset the clocks the worker left locked", "err", err)
		code = 3 // clocks may still be locked: the exit-status table in docs/restore.md
	}
	return code
}

// fatalByDefault are the signals whose default action ends a process and
// that are no request to stop: the supervisor catches them all (a caught
// signal's disposition is reset to the default for the worker by exec).
// SIGPIPE above all: stderr on a pipe whose reader left must not kill the
// process that still has to give the clocks back.
func fatalByDefault() []os.Signal {
	return []os.Signal{
		syscall.SIGPIPE, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGALRM, syscall.SIGVTALRM,
		syscall.SIGXCPU, syscall.SIGXFSZ, syscall.SIGIO, syscall.SIGPWR, syscall.SIGSTKFLT,
	}
}

// stopWatch notices a worker that stays stopped. It counts consecutive
// polls that find it stopped rather than measuring wall time, so a
// supervisor stopped together with its worker (^Z of the whole job) does
// not count its own sleep against the worker once both continue.
type stopWatch struct {
	pid     int
	poll    time.Duration
	limit   int // polls
	stopped int
}

func newStopWatch(pid int, limit time.Duration) *stopWatch {
	poll := min(limit/4, 250*time.Millisecond)
	return &stopWatch{pid: pid, poll: poll, limit: int(limit / poll)}
}

// check polls once; true when the worker has been stopped for the limit.
func (w *stopWatch) check() bool {
	state, err := procState(w.pid)
	if err != nil || state != 'T' {
		w.stopped = 0
		return false
	}
	w.stopped++
	return w.stopped >= w.limit
}

// startAndWait starts cmd and returns a channel that yields Wait's error.
// Start and Wait run on one locked OS thread: Pdeathsig fires when the
// forking thread exits, and Go may retire an unlocked thread at any time.
func startAndWait(cmd *exec.Cmd) (<-chan error, error) {
	started := make(chan error, 1)
	waited := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		waited <- cmd.Wait()
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return waited, nil
}

// exitStatus maps a finished worker to the supervisor's exit status.
func exitStatus(ps *os.ProcessState, waitErr error) int {
	if ps == nil {
		return 1
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok {
		if ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ws.ExitStatus()
	}
	if code := ps.ExitCode(); code >= 0 {
		return code
	}
	if waitErr != nil {
		return 1
	}
	return 0
}

func describeExit(ps *os.ProcessState, waitErr error) string {
	if ps == nil {
		return fmt.Sprintf("unknown (%v)", waitErr)
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return "killed by " + signalName(ws.Signal())
	}
	return "exit status " + strconv.Itoa(ps.ExitCode())
}
