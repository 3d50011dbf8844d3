package e2e

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/gputune/gputune/nvgpu/recordgpu"
)

// staticMHz is the clock --policy static locks: deterministic, and locked
// on the first decision.
const staticMHz = 1200

// tuner is a live `gputune --no-tui` on the fake GPU against a fake vLLM.
type tuner struct {
	*proc
	worker int // the worker's pid, which locked the clock
}

// tuneArgs are a headless run on fake GPU 0 with a fast loop: 100 ms
// cycles and two warm-up windows. --duration is only a backstop.
func (r *rig) tuneArgs(metricsURL string, extra ...string) []string {
	r.t.Helper()
	cfg := filepath.Join(r.dataDir, "tuner.toml")
	if err := os.MkdirAll(r.dataDir, 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(cfg, []byte("[control]\nperiod = \"100ms\"\nwarmup_windows = 2\n[scrape]\ntimeout = \"75ms\"\n"), 0o644); err != nil {
		r.t.Fatal(err)
	}
	args := []string{"--no-tui", "--config", cfg, "--metrics-url", metricsURL,
		"--data-dir", r.dataDir, "--log-dir", filepath.Join(r.dataDir, "logs"),
		"--policy", "static:" + strconv.Itoa(staticMHz), "--duration", "2m"}
	return append(args, extra...)
}

// startTuner starts gputune and waits until its worker has locked the
// static clock.
func (r *rig) startTuner(stdout *os.File, metricsURL string) tuner {
	r.t.Helper()
	before := len(r.calls())
	var p *proc
	if stdout == nil {
		p = r.start(nil, r.tuneArgs(metricsURL)...)
	} else {
		p = r.start(stdout, r.tuneArgs(metricsURL)...)
	}
	worker := r.waitLocked(p, before, 0, staticMHz)
	if worker == p.pid() {
		r.t.Fatalf("the supervisor (pid %d) locked the clock itself: no worker", worker)
	}
	if owner := r.statePID(0); owner != worker {
		r.t.Fatalf("state file names pid %d, the lock came from pid %d", owner, worker)
	}
	return tuner{proc: p, worker: worker}
}

func TestShutdownSignalsRestore(t *testing.T) {
	t.Parallel()
	tests := []struct {
		sig      syscall.Signal
		toWorker bool // else to the supervisor, which forwards it
	}{
		{syscall.SIGINT, false},
		{syscall.SIGTERM, false},
		{syscall.SIGHUP, false},
		{syscall.SIGQUIT, false},
		{syscall.SIGTERM, true},
	}
	for _, tt := range tests {
		name := tt.sig.String() + " to supervisor"
		if tt.toWorker {
			name = tt.sig.String() + " to worker"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := newRig(t)
			vllm := newFakeVLLM(t)
			tu := r.startTuner(nil, vllm.url())
			target := tu.pid()
			if tt.toWorker {
				target = tu.worker
			}
			signal(t, target, tt.sig)
			if code := tu.exit(); code != 0 {
				t.Errorf("exit status %d, want 0 (an orderly stop with every clock given back)", code)
			}
			r.assertRestored(tu.worker)
			if !strings.Contains(tu.Stderr.String(), "every clock given back") {
				t.Errorf("the worker did not log that the clocks were given back:\n%s", tu.Stderr)
			}
		})
	}
}

func TestKilledWorkerIsRestoredBySupervisor(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	tu := r.startTuner(nil, newFakeVLLM(t).url())
	signal(t, tu.worker, syscall.SIGKILL)
	if code := tu.exit(); code != 1 {
		t.Errorf("exit status %d, want 1 (abnormal end of the worker, clocks given back)", code)
	}
	r.assertRestored(tu.pid())
	if !strings.Contains(tu.Stderr.String(), "supervisor reset them") {
		t.Errorf("the supervisor did not say it reset the clocks:\n%s", tu.Stderr)
	}
}

// TestClosedStdoutRestores is `gputune --no-tui | head -c N`: the reader
// goes away and the next write gets EPIPE/SIGPIPE.
func TestClosedStdoutRestores(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	tu := r.startTuner(pw, newFakeVLLM(t).url())
	pw.Close()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "{") {
		t.Fatalf("first stdout line %q, %v", line, err)
	}
	pr.Close()
	if code := tu.exit(); code != 0 {
		t.Errorf("exit status %d, want 0 (an orderly stop with every clock given back)", code)
	}
	r.assertRestored(tu.worker)
}

// TestKillEverythingThenRestart: SIGKILL reaches supervisor and worker at
// once, so nobody in that run can reset. The next start must.
func TestKillEverythingThenRestart(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	vllm := newFakeVLLM(t)
	first := r.startTuner(nil, vllm.url())
	signal(t, -first.pid(), syscall.SIGKILL)
	first.exit()
	waitFor(t, "the first worker to die", nil, func() bool { return syscall.Kill(first.worker, 0) != nil })
	if st := recordgpu.Replay(r.calls())[recordgpu.UUID(0)]; st.CoreMHz != staticMHz {
		t.Fatalf("after SIGKILL of everything the fake should still be locked at %d MHz, got %+v", staticMHz, st)
	}
	if owner := r.statePID(0); owner != first.worker {
		t.Fatalf("stale state file names pid %d, want %d", owner, first.worker)
	}

	second := r.startTuner(nil, vllm.url())
	msg := second.Stderr.String()
	if !strings.Contains(msg, "left locked") || !strings.Contains(msg, "dead_pid="+strconv.Itoa(first.worker)) {
		t.Errorf("the restart did not say it found and reset pid %d's stale clocks:\n%s", first.worker, msg)
	}
	calls := r.calls()
	resetAt := slices.IndexFunc(calls, func(c recordgpu.Call) bool { return c.PID == second.worker && c.Op == recordgpu.OpResetCore })
	lockAt := slices.IndexFunc(calls, func(c recordgpu.Call) bool { return c.PID == second.worker && c.Op == recordgpu.OpLockCore })
	if resetAt < 0 || resetAt > lockAt {
		t.Fatalf("want the stale reset before the new lock, both by pid %d\ncalls:\n%s", second.worker, formatCalls(calls))
	}
	signal(t, second.pid(), syscall.SIGINT)
	second.exit()
	r.assertRestored(second.worker)
}

func TestSecondInstanceIsRefused(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	vllm := newFakeVLLM(t)
	first := r.startTuner(nil, vllm.url())
	code, _, stderr := run(t, r.env(), r.tuneArgs(vllm.url())...)
	if code == 0 {
		t.Errorf("a second gputune on the same GPU exited 0")
	}
	if !strings.Contains(stderr, "pid "+strconv.Itoa(first.worker)) || !strings.Contains(stderr, "--takeover") {
		t.Errorf("the refusal does not name the owner pid %d and the way out:\n%s", first.worker, stderr)
	}
	for _, c := range r.calls() {
		if c.PID != first.worker {
			t.Fatalf("the refused instance touched the GPU: %+v", c)
		}
	}
	if st := recordgpu.Replay(r.calls())[recordgpu.UUID(0)]; st.CoreMHz != staticMHz {
		t.Fatalf("the first instance lost its clock: %+v", st)
	}
	signal(t, first.pid(), syscall.SIGTERM)
	first.exit()
	r.assertRestored(first.worker)
}

func TestResetCommandClearsStaleLock(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	first := r.startTuner(nil, newFakeVLLM(t).url())
	signal(t, -first.pid(), syscall.SIGKILL)
	first.exit()
	waitFor(t, "the worker to die", nil, func() bool { return syscall.Kill(first.worker, 0) != nil })

	code, stdout, stderr := run(t, r.env(), "reset", "--gpu", "0")
	if code != 0 {
		t.Fatalf("gputune reset --gpu 0: exit %d\n%s%s", code, stdout, stderr)
	}
	if want := "stale state from pid " + strconv.Itoa(first.worker) + " cleared"; !strings.Contains(stdout, want) {
		t.Errorf("reset output does not say %q:\n%s", want, stdout)
	}
	calls := r.calls()
	last := calls[len(calls)-1]
	if last.PID == first.worker {
		t.Fatalf("gputune reset made no call\ncalls:\n%s", formatCalls(calls))
	}
	r.assertRestored(last.PID)
}

// A panic in each kind of goroutine of the real binary still gives the
// clock back: a restore.Group goroutine and the session's own goroutine are
// recovered in the worker, which restores and exits non-zero; a goroutine
// started outside the group kills the worker, and the supervisor restores.
func TestPanicInEachGoroutineRestores(t *testing.T) {
	t.Parallel()
	tests := []struct {
		fault        string
		bySupervisor bool
	}{
		{"group", false},
		{"main", false},
		{"raw", true},
	}
	for _, tt := range tests {
		t.Run(tt.fault, func(t *testing.T) {
			t.Parallel()
			r := newRig(t)
			vllm := newFakeVLLM(t)
			env := append(r.env(), "GPUTUNE_TEST_PANIC="+tt.fault)
			p := startIn(t, env, nil, r.tuneArgs(vllm.url())...)
			// The panic follows the first lock at once: wait for the exit,
			// then read what the worker did from the call log.
			if code := p.exit(); code != 1 {
				t.Fatalf("exit status %d after an injected %s panic, want 1 (abnormal end, clocks given back)", code, tt.fault)
			}
			if !strings.Contains(p.Stderr.String(), "injected panic") {
				t.Errorf("stderr does not show the panic:\n%s", p.Stderr)
			}
			worker := -1
			for _, c := range r.calls() {
				if c.Op == recordgpu.OpLockCore && c.MHz == staticMHz {
					worker = c.PID
				}
			}
			resetter := worker
			if tt.bySupervisor {
				resetter = p.pid()
			}
			r.assertRestored(resetter)
		})
	}
}
