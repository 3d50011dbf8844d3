package testkit

import (
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Process is a child process of a test (gputune, or a test binary standing
// in for its worker) in its own process group, so that a test can signal
// "everything" at once and cleanup never leaks a worker.
type Process struct {
	t   testing.TB
	Cmd *exec.Cmd
	// Stdout and Stderr collect what the process writes, unless the
	// caller gave the command its own writer (then they stay empty).
	Stdout, Stderr *SyncBuffer
	done           chan struct{}
}

// Start starts cmd. At the test's end the process group is killed and
// waited for; a data race on its stderr fails the test, and a failed test
// logs its stderr.
func Start(t testing.TB, cmd *exec.Cmd) *Process {
	t.Helper()
	p := &Process{t: t, Cmd: cmd, Stdout: &SyncBuffer{}, Stderr: &SyncBuffer{}, done: make(chan struct{})}
	if cmd.Stdout == nil {
		cmd.Stdout = p.Stdout
	}
	if cmd.Stderr == nil {
		cmd.Stderr = p.Stderr
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
		if strings.Contains(p.Stderr.String(), "WARNING: DATA RACE") {
			t.Errorf("data race in %v:\n%s", cmd.Args, p.Stderr)
		} else if t.Failed() {
			t.Logf("stderr of %v:\n%s", cmd.Args, p.Stderr)
		}
	})
	return p
}

// Done is closed when the process has ended (and its output is complete).
func (p *Process) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has ended.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Exit waits at most limit for the process to end and returns its exit
// status; past limit the test fails.
func (p *Process) Exit(limit time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(limit):
		p.t.Fatalf("%v did not exit within %s; stderr:\n%s", p.Cmd.Args, limit, p.Stderr)
	}
	return p.Cmd.ProcessState.ExitCode()
}

// PID is the process's id (its group's too).
func (p *Process) PID() int { return p.Cmd.Process.Pid }

// StartBystander starts a process that is not gputune (a sleep), for tests
// that plant its pid where gputune might signal it. exited closes if it
// ends; the test's cleanup kills it.
func StartBystander(t testing.TB) (pid int, exited <-chan struct{}) {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-done })
	return cmd.Process.Pid, done
}
