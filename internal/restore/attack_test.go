package restore

// Attacks on the restore path, out of process like e2e_test.go: each one
// ends by reading the fake GPU's call log.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gputune/gputune/internal/safefile"
	"github.com/gputune/gputune/internal/testkit"
	"github.com/gputune/gputune/nvgpu/recordgpu"
	"golang.org/x/sys/unix"
)

// The supervisor's stderr is a pipe whose reader leaves (`gputune 2>&1 |
// tee log` and tee exits), then the worker is SIGKILLed: the supervisor's
// "worker ended" line meets a closed pipe and must not stop its reset.
func TestClosedStderrThenKilledWorkerIsRestored(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	in := r.startWith(nil, pw, "-mem", "0")
	pw.Close()
	worker := 0
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		if m := readyLine.FindStringSubmatch(sc.Text()); m != nil {
			worker, _ = strconv.Atoi(m[1])
			break
		}
	}
	if worker == 0 {
		t.Fatalf("no ready line on stderr: %v", sc.Err())
	}
	pr.Close()
	in.signal(worker, syscall.SIGKILL)
	if code := in.exit(); code == 0 || code == 128+int(syscall.SIGPIPE) {
		t.Errorf("supervisor exit status %d: want the worker's abnormal end, not 0 and not death by SIGPIPE", code)
	}
	calls := r.calls()
	if st := recordgpu.Replay(calls)[recordgpu.UUID(0)]; st.Locked() {
		t.Fatalf("clock left locked after the supervisor lost its stderr: %+v\ncalls: %+v", st, calls)
	}
	last := calls[len(calls)-1]
	if last.Op != recordgpu.OpResetCore || last.PID != in.Cmd.Process.Pid {
		t.Fatalf("last call %+v, want reset_core by the supervisor (pid %d)", last, in.Cmd.Process.Pid)
	}
}

// A worker stopped with SIGSTOP cannot give anything back: the supervisor
// notices, kills it and resets.
func TestStoppedWorkerIsKilledAndRestored(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	in := r.start(nil, "-stopped-limit", "500ms")
	worker := in.ready()
	in.signal(worker, syscall.SIGSTOP)
	// Supervise returns the worker's raw status; the CLI maps it to the
	// exit-status table (an abnormal end after a reset is 1).
	if code := in.exit(); code != 128+int(syscall.SIGKILL) {
		t.Errorf("exit status %d, want the worker's kill (137)", code)
	}
	if !strings.Contains(in.Stderr.String(), "stopped") {
		t.Errorf("supervisor did not say why it killed the worker:\n%s", in.Stderr)
	}
	r.assertRestored(0, in.Cmd.Process.Pid)
}

// A run directory others can write to is refused before anything is
// touched, with exit status 1 and a message that says how to fix it.
func TestUnsafeRunDirIsRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		prepare func(t *testing.T, dir string)
		want    string
	}{
		{"world-writable", func(t *testing.T, dir string) { chmod(t, dir, 0o777) }, "writable by group or others"},
		{"group-writable", func(t *testing.T, dir string) { chmod(t, dir, 0o770) }, "writable by group or others"},
		{"sticky /tmp-like", func(t *testing.T, dir string) { chmod(t, dir, 0o1777) }, "writable by group or others"},
		{"foreign owner", func(t *testing.T, dir string) {
			if os.Geteuid() != 0 {
				t.Skip("needs root to give the directory away")
			}
			if err := os.Chown(dir, 65534, 65534); err != nil {
				t.Fatal(err)
			}
		}, "belongs to uid 65534"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newRig(t)
			if err := os.Mkdir(r.runDir, 0o700); err != nil {
				t.Fatal(err)
			}
			tt.prepare(t, r.runDir)
			in := r.start(nil)
			if code := in.exit(); code != 1 {
				t.Errorf("exit status %d, want 1", code)
			}
			if msg := in.Stderr.String(); !strings.Contains(msg, tt.want) || !strings.Contains(msg, r.runDir) {
				t.Errorf("message does not name the directory and the problem %q:\n%s", tt.want, msg)
			}
			if calls, err := recordgpu.ReadCalls(r.callLog); err == nil && len(calls) > 0 {
				t.Fatalf("the GPU was touched: %+v", calls)
			}
		})
	}
}

func chmod(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(path, mode|modeBits(mode)); err != nil {
		t.Fatal(err)
	}
}

// modeBits carries the sticky bit, which os.FileMode keeps apart.
func modeBits(mode os.FileMode) os.FileMode {
	if mode&0o1000 != 0 {
		return os.ModeSticky
	}
	return 0
}

// A dangling symlink named like the lock file would make root create its
// target; it is refused and the target never appears.
func TestDanglingLockSymlinkIsNeverFollowed(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	if err := os.Mkdir(r.runDir, 0o700); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(t.TempDir(), "created-by-root")
	if err := os.Symlink(target, lockPath(r.runDir, recordgpu.UUID(0))); err != nil {
		t.Fatal(err)
	}
	in := r.start(nil)
	if code := in.exit(); code == 0 {
		t.Errorf("exit status 0, want a refusal")
	}
	if !strings.Contains(in.Stderr.String(), "symbolic link") {
		t.Errorf("refusal does not say the lock file is a symlink:\n%s", in.Stderr)
	}
	if _, err := os.Lstat(target); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the symlink's target exists: %v", err)
	}
	if calls, err := recordgpu.ReadCalls(r.callLog); err == nil && len(calls) > 0 {
		t.Fatalf("the GPU was touched: %+v", calls)
	}
}

// plantOwner writes a state file naming pid and holds the GPU's lock from
// this test process, as a live owner would.
func plantOwner(t *testing.T, runDir string, st State) {
	t.Helper()
	if err := os.MkdirAll(runDir, 0o700); err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(st)
	if err := os.WriteFile(statePath(runDir, st.GPUUUID), data, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(lockPath(runDir, st.GPUUUID), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		t.Fatal(err)
	}
}

// --takeover against a state file that names a process that is not a
// gputune (planted, or a pid reused since) refuses and signals nothing.
func TestTakeoverRefusesAPidThatIsNotAGputune(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		stamp func(st *State, pid int)
	}{
		{"true start time of a foreign process", func(st *State, pid int) {
			st.StartTicks, _ = procStartTicks(pid)
			st.BootID = bootID()
		}},
		{"wrong start time (pid reused)", func(st *State, pid int) {
			st.StartTicks, _ = procStartTicks(pid)
			st.StartTicks++
		}},
		{"older state file without a start time", func(*State, int) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newRig(t)
			victim, exited := testkit.StartBystander(t)

			st := State{PID: victim, GPUIndex: 0, GPUUUID: recordgpu.UUID(0), CoreLockedMHz: 1500}
			tt.stamp(&st, victim)
			plantOwner(t, r.runDir, st)

			in := r.start(nil, "-takeover")
			if code := in.exit(); code != 3 {
				t.Errorf("exit status %d, want 3 (busy: refused)", code)
			}
			if !strings.Contains(in.Stderr.String(), "--takeover refused") {
				t.Errorf("refusal does not say why:\n%s", in.Stderr)
			}
			select {
			case <-exited:
				t.Fatal("the foreign process was signalled")
			case <-time.After(100 * time.Millisecond):
			}
			if calls, err := recordgpu.ReadCalls(r.callLog); err == nil && len(calls) > 0 {
				t.Fatalf("the GPU was touched: %+v", calls)
			}
		})
	}
}

// A FIFO under a state file's name would block a plain read forever; the
// supervisor's reset, `gputune reset` and Inspect all get past it.
func TestFIFOStateFileBlocksNothing(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "run")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	uuid := recordgpu.UUID(0)
	if err := syscall.Mkfifo(statePath(dir, uuid), 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		entries, err := Inspect(dir)
		if err != nil || len(entries) != 1 || !errors.Is(entries[0].Err, safefile.ErrNotRegular) {
			t.Errorf("Inspect = %+v, %v; want the FIFO reported as not a regular file", entries, err)
		}
		if _, err := restoreAfter(t.Context(), dir, 12345, nil, nil); err != nil {
			t.Errorf("restoreAfter: %v", err)
		}
	}()
	select {
	case <-done:
	case <-time.After(waitLimit):
		t.Fatal("blocked on a FIFO state file")
	}
}

// A state file too large to be real is refused unread.
func TestHugeStateFileIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.json")
	if err := os.WriteFile(path, make([]byte, maxStateBytes+1), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := readState(path); !errors.Is(err, safefile.ErrTooLarge) {
		t.Fatalf("readState = %v, want ErrTooLarge", err)
	}
}

// The owner's identity is recorded, and verifyOwner accepts the real owner.
func TestStateRecordsOwnerStartTime(t *testing.T) {
	var st State
	st.PID = os.Getpid()
	stampOwner(&st)
	if st.StartTicks == 0 || st.BootID == "" {
		t.Fatalf("no start time or boot id recorded: %+v", st)
	}
	// This test binary is not a worker, but it is its own executable.
	if err := verifyOwner(st); err != nil {
		t.Fatalf("verifyOwner(self) = %v", err)
	}
}

// A full disk (ENOSPC, injected) while the state file is rewritten: the lock
// is not made and the error says why; a reset still gives the clock back
// and reports success, since the clock really is back.
func TestFullDiskRefusesTheLockButNotTheReset(t *testing.T) {
	ctx := context.Background()
	spy := &spyController{}
	c, err := Acquire(ctx, t.TempDir(), testGPU, spy, AcquireOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.LockCoreClock(ctx, 1200); err != nil {
		t.Fatal(err)
	}
	c.write = func(string, State) error { return &fs.PathError{Op: "write", Path: "state", Err: syscall.ENOSPC} }
	err = c.LockCoreClock(ctx, 900)
	if !errors.Is(err, ErrNotRecorded) || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("lock on a full disk = %v, want ErrNotRecorded wrapping ENOSPC", err)
	}
	if err := c.ResetCoreClock(ctx); err != nil {
		t.Fatalf("reset on a full disk = %v, want nil: the clock is back", err)
	}
	want := []string{"lock_core 1200", "reset_core"}
	if got := spy.Calls(); !slices.Equal(got, want) {
		t.Fatalf("calls %v, want %v (the unrecorded lock never reached the driver)", got, want)
	}
	if err := c.Release(ctx); err != nil {
		t.Fatalf("Release = %v", err)
	}
}
