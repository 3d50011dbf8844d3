package restore

// Out-of-process tests: testdata/worker wires Supervise, NotifyContext, Group
// and Acquire exactly as gputune's main does, on the recordgpu fake. Each
// test ends one way and then reads the fake's call log to check that every
// clock locked was reset, and by whom.

import (
	"bufio"
	"fmt"
	"github.com/gputune/gputune/internal/testkit"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gputune/gputune/nvgpu/recordgpu"
)

// waitLimit bounds every wait on another process; the happy path takes
// milliseconds.
const waitLimit = 15 * time.Second

// workerBinary builds testdata/worker once per test binary.
var workerBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "restore-worker-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "worker")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, "./testdata/worker")...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build testdata/worker: %v\n%s", err, out)
	}
	return bin, nil
})

func TestMain(m *testing.M) {
	code := m.Run()
	if bin, err := workerBinary(); err == nil {
		os.RemoveAll(filepath.Dir(bin))
	}
	os.Exit(code)
}

// rig is one test's fake GPU call log and run directory.
type rig struct {
	t       *testing.T
	bin     string
	callLog string
	runDir  string
}

func newRig(t *testing.T) *rig {
	t.Helper()
	if testing.Short() {
		t.Skip("out-of-process restore test")
	}
	bin, err := workerBinary()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	return &rig{t: t, bin: bin, callLog: filepath.Join(dir, "calls.log"), runDir: filepath.Join(dir, "run")}
}

// instance is one supervisor process (and, through it, its worker).
type instance struct {
	*testkit.Process
	t *testing.T
}

func (r *rig) start(stdout *os.File, args ...string) *instance {
	r.t.Helper()
	return r.startWith(stdout, nil, args...)
}

// startWith is start with stderr on a file of the test's (a pipe it may
// close) instead of a buffer; nil keeps the buffer.
func (r *rig) startWith(stdout, stderr *os.File, args ...string) *instance {
	r.t.Helper()
	cmd := exec.Command(r.bin, args...)
	cmd.Env = testkit.CleanEnv(nil, recordgpu.EnvVar+"="+r.callLog, DirEnv+"="+r.runDir)
	cmd.Stdout = stdout
	if stderr != nil {
		cmd.Stderr = stderr
	}
	return &instance{Process: testkit.Start(r.t, cmd), t: r.t}
}

var readyLine = regexp.MustCompile(`worker ready pid=(\d+)`)

// waitFor polls cond until it holds or waitLimit passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// ready waits until the worker has locked its clocks and returns its pid.
func (in *instance) ready() int {
	in.t.Helper()
	var pid int
	waitFor(in.t, "worker ready", func() bool {
		if m := readyLine.FindStringSubmatch(in.Stderr.String()); m != nil {
			pid, _ = strconv.Atoi(m[1])
			return true
		}
		if in.Exited() {
			// Its stderr is complete once Wait returned: no ready line.
			in.t.Fatalf("exited before ready:\n%s", in.Stderr)
		}
		return false
	})
	return pid
}

// exit waits for the supervisor to exit and returns its status.
func (in *instance) exit() int { return in.Exit(waitLimit) }

func (in *instance) signal(pid int, sig syscall.Signal) {
	in.t.Helper()
	if err := syscall.Kill(pid, sig); err != nil {
		in.t.Fatalf("kill %d %v: %v", pid, sig, err)
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

// assertRestored checks that the GPU ends with nothing locked, that the
// last lock of each clock was followed by a reset from pid resetter, and
// that no state file is left.
func (r *rig) assertRestored(gpu int, resetter int) {
	r.t.Helper()
	calls := r.calls()
	uuid := recordgpu.UUID(gpu)
	if st := recordgpu.Replay(calls)[uuid]; st.Locked() {
		r.t.Fatalf("clocks still locked: %+v\ncalls: %+v", st, calls)
	}
	for _, pair := range [][2]string{{recordgpu.OpLockCore, recordgpu.OpResetCore}, {recordgpu.OpLockMem, recordgpu.OpResetMem}} {
		lastLock := -1
		for i, c := range calls {
			if c.UUID == uuid && c.Op == pair[0] {
				lastLock = i
			}
		}
		if lastLock < 0 {
			r.t.Fatalf("no %s ever: the test proves nothing\ncalls: %+v", pair[0], calls)
		}
		if !slices.ContainsFunc(calls[lastLock+1:], func(c recordgpu.Call) bool {
			return c.UUID == uuid && c.Op == pair[1] && c.PID == resetter
		}) {
			r.t.Fatalf("no %s by pid %d after the last %s\ncalls: %+v", pair[1], resetter, pair[0], calls)
		}
	}
	if uuids, err := listStates(r.runDir); err != nil || len(uuids) != 0 {
		r.t.Fatalf("state files left: %v %v", uuids, err)
	}
}

func TestShutdownSignalsRestoreInTheWorker(t *testing.T) {
	t.Parallel()
	tests := []struct {
		sig syscall.Signal
		// to: "supervisor" (forwarded), "worker" (kill <worker pid>) or
		// "group" (both, as a terminal's Ctrl-C or hang-up does).
		to string
	}{
		{syscall.SIGINT, "supervisor"},
		{syscall.SIGINT, "group"},
		{syscall.SIGTERM, "supervisor"},
		{syscall.SIGTERM, "worker"},
		{syscall.SIGHUP, "supervisor"},
		{syscall.SIGHUP, "group"},
		{syscall.SIGQUIT, "supervisor"},
		{syscall.SIGQUIT, "worker"},
	}
	for _, tt := range tests {
		t.Run(signalName(tt.sig)+" to "+tt.to, func(t *testing.T) {
			t.Parallel()
			r := newRig(t)
			in := r.start(nil)
			worker := in.ready()
			switch tt.to {
			case "supervisor":
				in.signal(in.Cmd.Process.Pid, tt.sig)
			case "worker":
				in.signal(worker, tt.sig)
			case "group":
				in.signal(-in.Cmd.Process.Pid, tt.sig)
			}
			if code := in.exit(); code != 128+int(tt.sig) {
				t.Errorf("exit status %d, want %d", code, 128+int(tt.sig))
			}
			r.assertRestored(0, worker)
		})
	}
}

func TestClosedStdoutRestoresInTheWorker(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	in := r.start(pw, "-mode", "print")
	pw.Close()
	worker := in.ready()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil || line != "tick\n" {
		t.Fatalf("first stdout line %q, %v", line, err)
	}
	pr.Close() // like `gputune --no-tui | head -1`
	if code := in.exit(); code != 128+int(syscall.SIGPIPE) {
		t.Errorf("exit status %d, want %d (SIGPIPE)", code, 128+int(syscall.SIGPIPE))
	}
	r.assertRestored(0, worker)
}

func TestAbnormalWorkerEndsAreRestored(t *testing.T) {
	t.Parallel()
	tests := []struct {
		mode string
		want int
		// bySupervisor: nothing in the worker could run, so the supervisor
		// resets; otherwise the worker restored itself.
		bySupervisor bool
	}{
		{"panic-main", 70, false},
		{"panic-group", 70, false},
		{"panic-raw", 2, true},
		{"exit", 7, true},
		{"fatal", 2, true},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			t.Parallel()
			r := newRig(t)
			in := r.start(nil, "-mode", tt.mode)
			worker := in.ready()
			if code := in.exit(); code != tt.want {
				t.Errorf("exit status %d, want %d", code, tt.want)
			}
			resetter := worker
			if tt.bySupervisor {
				resetter = in.Cmd.Process.Pid
			}
			r.assertRestored(0, resetter)
		})
	}
}

func TestKilledWorkerIsRestoredBySupervisor(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	in := r.start(nil)
	worker := in.ready()
	in.signal(worker, syscall.SIGKILL)
	if code := in.exit(); code != 128+int(syscall.SIGKILL) {
		t.Errorf("exit status %d, want 137", code)
	}
	r.assertRestored(0, in.Cmd.Process.Pid)
}

func TestKilledSupervisorMakesWorkerRestore(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	in := r.start(nil)
	worker := in.ready()
	in.signal(in.Cmd.Process.Pid, syscall.SIGKILL) // Pdeathsig sends the worker SIGTERM
	waitFor(t, "orphaned worker to restore and exit", func() bool {
		st := recordgpu.Replay(r.calls())[recordgpu.UUID(0)]
		return !st.Locked() && !pidAlive(worker)
	})
	r.assertRestored(0, worker)
}

func TestKillEverythingThenRestartResetsStaleClocks(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	first := r.start(nil, "-core", "1500")
	firstWorker := first.ready()
	first.signal(-first.Cmd.Process.Pid, syscall.SIGKILL)
	first.exit()
	waitFor(t, "first worker gone", func() bool { return !pidAlive(firstWorker) })
	if st := recordgpu.Replay(r.calls())[recordgpu.UUID(0)]; st.CoreMHz != 1500 {
		t.Fatalf("after SIGKILL of everything the fake should still be locked at 1500 MHz, got %+v", st)
	}
	entries, err := Inspect(r.runDir)
	if err != nil || len(entries) != 1 || !entries[0].Stale || entries[0].State.PID != firstWorker {
		t.Fatalf("Inspect = %+v, %v; want one stale entry from pid %d", entries, err, firstWorker)
	}

	second := r.start(nil, "-core", "1200")
	secondWorker := second.ready()
	if !strings.Contains(second.Stderr.String(), "left locked") {
		t.Errorf("restart did not say it found stale clocks:\n%s", second.Stderr)
	}
	// The stale reset came before the new lock.
	calls := r.calls()
	resetAt := slices.IndexFunc(calls, func(c recordgpu.Call) bool { return c.PID == secondWorker && c.Op == recordgpu.OpResetCore })
	lockAt := slices.IndexFunc(calls, func(c recordgpu.Call) bool { return c.PID == secondWorker && c.Op == recordgpu.OpLockCore })
	if resetAt < 0 || lockAt < 0 || resetAt > lockAt {
		t.Fatalf("want a stale reset before the new lock by pid %d\ncalls: %+v", secondWorker, calls)
	}
	second.signal(second.Cmd.Process.Pid, syscall.SIGTERM)
	second.exit()
	r.assertRestored(0, secondWorker)
}

func TestSecondInstanceIsRefused(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	first := r.start(nil)
	firstWorker := first.ready()
	second := r.start(nil, "-core", "900")
	if code := second.exit(); code != 3 {
		t.Errorf("second instance exit status %d, want 3 (busy)", code)
	}
	if msg := second.Stderr.String(); !strings.Contains(msg, "gputune pid "+strconv.Itoa(firstWorker)) {
		t.Errorf("refusal does not name pid %d:\n%s", firstWorker, msg)
	}
	for _, c := range r.calls() {
		if c.PID != firstWorker {
			t.Fatalf("the refused instance touched the GPU: %+v", c)
		}
	}
	first.signal(first.Cmd.Process.Pid, syscall.SIGTERM)
	first.exit()
	r.assertRestored(0, firstWorker)
}

func TestTakeover(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	first := r.start(nil, "-core", "1500")
	firstWorker := first.ready()
	second := r.start(nil, "-core", "900", "-takeover")
	secondWorker := second.ready()
	if code := first.exit(); code != 128+int(syscall.SIGTERM) {
		t.Errorf("taken-over instance exit status %d, want 143", code)
	}
	calls := r.calls()
	firstReset := slices.IndexFunc(calls, func(c recordgpu.Call) bool { return c.PID == firstWorker && c.Op == recordgpu.OpResetCore })
	secondLock := slices.IndexFunc(calls, func(c recordgpu.Call) bool { return c.PID == secondWorker && c.Op == recordgpu.OpLockCore })
	if firstReset < 0 || secondLock < 0 || firstReset > secondLock {
		t.Fatalf("want the first instance's reset before the second's lock\ncalls: %+v", calls)
	}
	if st := recordgpu.Replay(calls)[recordgpu.UUID(0)]; st.CoreMHz != 900 {
		t.Fatalf("after takeover the core clock is %+v, want 900", st)
	}
	second.signal(second.Cmd.Process.Pid, syscall.SIGINT)
	second.exit()
	r.assertRestored(0, secondWorker)
}

func TestTwoGPUsAreIndependent(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	gpu0 := r.start(nil, "-gpu", "0")
	w0 := gpu0.ready()
	gpu1 := r.start(nil, "-gpu", "1")
	w1 := gpu1.ready()
	gpu1.signal(w1, syscall.SIGKILL)
	gpu1.exit()
	if st := recordgpu.Replay(r.calls())[recordgpu.UUID(0)]; st.CoreMHz != 1200 {
		t.Fatalf("GPU 0 disturbed by GPU 1's restore: %+v", st)
	}
	gpu0.signal(gpu0.Cmd.Process.Pid, syscall.SIGTERM)
	gpu0.exit()
	r.assertRestored(0, w0)
	r.assertRestored(1, gpu1.Cmd.Process.Pid)
}

func TestRepeatedSignalsForceAStuckWorker(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	in := r.start(nil, "-mode", "stuck")
	in.ready()
	// Signals sent faster than they are handled may coalesce, so keep
	// sending until the supervisor gives up on the worker.
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(waitLimit)
wait:
	for {
		select {
		case <-in.Done():
			break wait
		case <-tick.C:
			_ = syscall.Kill(in.Cmd.Process.Pid, syscall.SIGTERM)
		case <-deadline:
			t.Fatalf("supervisor never forced the stuck worker:\n%s", in.Stderr)
		}
	}
	if code := in.exit(); code != 128+int(syscall.SIGKILL) {
		t.Errorf("exit status %d, want 137", code)
	}
	r.assertRestored(0, in.Cmd.Process.Pid)
}
