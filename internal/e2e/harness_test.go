package e2e

import (
	"encoding/json"
	"errors"
	"github.com/gputune/gputune/internal/testkit"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gputune/gputune/internal/restore"
	"github.com/gputune/gputune/nvgpu/recordgpu"
)

// rig is one test's fake GPU call log, run directory and data directory,
// shared by every gputune process the test starts, as on a real host.
type rig struct {
	t       *testing.T
	callLog string
	runDir  string
	dataDir string
}

func newRig(t *testing.T) *rig {
	t.Helper()
	if testing.Short() {
		t.Skip("out-of-process test of the gputune binary")
	}
	dir := t.TempDir()
	return &rig{t: t, callLog: filepath.Join(dir, "calls.log"), runDir: filepath.Join(dir, "run"), dataDir: filepath.Join(dir, "data")}
}

// env is the environment of a gputune process: this one's, minus any
// GPUTUNE_ variable, plus the fake GPU and the run directory.
func (r *rig) env() []string {
	return testkit.CleanEnv(nil, recordgpu.EnvVar+"="+r.callLog, restore.DirEnv+"="+r.runDir)
}

// proc is one gputune process (a supervisor and, through it, its worker).
type proc struct {
	*testkit.Process
}

// start runs gputune with args. stdout nil collects stdout in a buffer.
func (r *rig) start(stdout io.Writer, args ...string) *proc {
	r.t.Helper()
	return startIn(r.t, r.env(), stdout, args...)
}

// startIn runs the gputune binary in its own process group (testkit.Start).
func startIn(t *testing.T, env []string, stdout io.Writer, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(gputuneBin, args...)
	cmd.Env = env
	cmd.Dir = t.TempDir() // no ./tuner.toml from the repository sneaks in
	cmd.Stdout = stdout
	return &proc{testkit.Start(t, cmd)}
}

// run runs gputune to the end and returns its exit status, stdout and
// stderr.
func run(t *testing.T, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	p := startIn(t, env, nil, args...)
	code = p.exit()
	return code, p.Stdout.String(), p.Stderr.String()
}

// exit waits for the process to end and returns its exit status.
func (p *proc) exit() int { return p.Exit(waitLimit) }

// exited reports whether the process has ended.
func (p *proc) exited() bool { return p.Exited() }

func (p *proc) pid() int { return p.PID() }

func signal(t *testing.T, pid int, sig syscall.Signal) {
	t.Helper()
	if err := syscall.Kill(pid, sig); err != nil {
		t.Fatalf("kill %d %v: %v", pid, sig, err)
	}
}

// waitFor polls cond until it holds; it fails the test after waitLimit, or
// at once when p (if not nil) exits first, since cond can then never hold.
func waitFor(t *testing.T, what string, p *proc, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if p != nil && p.exited() {
			if cond() {
				return
			}
			t.Fatalf("waiting for %s: %v exited with status %d first; stderr:\n%s",
				what, p.Cmd.Args, p.Cmd.ProcessState.ExitCode(), p.Stderr)
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", waitLimit, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *rig) calls() []recordgpu.Call {
	r.t.Helper()
	calls, err := recordgpu.ReadCalls(r.callLog)
	if err != nil {
		r.t.Fatal(err)
	}
	return calls
}

// waitLocked waits until the fake GPU has its core clock locked at mhz by a
// call after the first `after` calls of the log, and returns the pid that
// locked it (the worker).
func (r *rig) waitLocked(p *proc, after, gpu, mhz int) int {
	r.t.Helper()
	var locker int
	waitFor(r.t, "a core clock lock", p, func() bool {
		calls := r.calls()
		if len(calls) <= after || recordgpu.Replay(calls)[recordgpu.UUID(gpu)].CoreMHz != mhz {
			return false
		}
		i := slices.IndexFunc(calls[after:], func(c recordgpu.Call) bool { return c.Op == recordgpu.OpLockCore && c.Err == "" })
		if i < 0 {
			return false
		}
		locker = calls[after+i].PID
		return true
	})
	return locker
}

// statePID reads the owner pid from GPU gpu's state file.
func (r *rig) statePID(gpu int) int {
	r.t.Helper()
	data, err := os.ReadFile(filepath.Join(r.runDir, recordgpu.UUID(gpu)+".json"))
	if err != nil {
		r.t.Fatalf("state file: %v", err)
	}
	var st restore.State
	if err := json.Unmarshal(data, &st); err != nil {
		r.t.Fatalf("state file: %v", err)
	}
	return st.PID
}

// assertRestored checks from the call log that nothing is locked on any
// GPU, that the last core lock was followed by a core reset from pid
// resetter, and that no state file is left in the run directory.
func (r *rig) assertRestored(resetter int) {
	r.t.Helper()
	calls := r.calls()
	for uuid, st := range recordgpu.Replay(calls) {
		if st.Locked() {
			r.t.Fatalf("%s still locked: %+v\ncalls:\n%s", uuid, st, formatCalls(calls))
		}
	}
	lastLock := -1
	for i, c := range calls {
		if c.Op == recordgpu.OpLockCore && c.Err == "" {
			lastLock = i
		}
	}
	if lastLock < 0 {
		r.t.Fatalf("no core clock was ever locked: the test proves nothing\ncalls:\n%s", formatCalls(calls))
	}
	if !slices.ContainsFunc(calls[lastLock+1:], func(c recordgpu.Call) bool {
		return c.Op == recordgpu.OpResetCore && c.PID == resetter && c.Err == ""
	}) {
		r.t.Fatalf("no core reset by pid %d after the last lock\ncalls:\n%s", resetter, formatCalls(calls))
	}
	r.assertNoStateFile()
}

func (r *rig) assertNoStateFile() {
	r.t.Helper()
	entries, err := os.ReadDir(r.runDir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		r.t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".json") {
			r.t.Fatalf("state file %s left in the run directory", e.Name())
		}
	}
}

// setterCalls are the calls that lock or reset a clock: every call the
// fake records is one.
func (r *rig) assertNoSetterCalls() {
	r.t.Helper()
	if calls := r.calls(); len(calls) != 0 {
		r.t.Fatalf("a read-only mode called %d clock setter(s):\n%s", len(calls), formatCalls(calls))
	}
}

func formatCalls(calls []recordgpu.Call) string {
	var b strings.Builder
	for _, c := range calls {
		line, _ := json.Marshal(c)
		b.Write(line)
		b.WriteByte('\n')
	}
	return b.String()
}
