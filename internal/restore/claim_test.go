package restore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gputune/gputune/nvgpu"
)

// spyController records calls and can fail them; onLock runs inside a lock
// call so a test can look at the state file at that moment.
type spyController struct {
	mu      sync.Mutex
	calls   []string
	failOps map[string]error
	onLock  func(op string, mhz int)
	closed  bool
}

func (s *spyController) do(op string, mhz int) error {
	if s.onLock != nil && mhz != 0 {
		s.onLock(op, mhz)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if mhz != 0 {
		op = fmt.Sprintf("%s %d", op, mhz)
	}
	s.calls = append(s.calls, op)
	return s.failOps[strings.Fields(op)[0]]
}

func (s *spyController) LockCoreClock(_ context.Context, mhz int) error {
	return s.do("lock_core", mhz)
}
func (s *spyController) ResetCoreClock(context.Context) error          { return s.do("reset_core", 0) }
func (s *spyController) LockMemClock(_ context.Context, mhz int) error { return s.do("lock_mem", mhz) }
func (s *spyController) ResetMemClock(context.Context) error           { return s.do("reset_mem", 0) }
func (s *spyController) Close() error                                  { s.closed = true; return nil }

func (s *spyController) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

var testGPU = GPUID{Index: 0, UUID: "GPU-test-0"}

// deadPID returns the pid of a process that has exited and been reaped.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

func TestClaimWritesStateBeforeEachLockAndReleaseResetsThenRemoves(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	spy := &spyController{}
	spy.onLock = func(op string, mhz int) {
		st, ok, err := readState(statePath(dir, testGPU.UUID))
		if err != nil || !ok {
			t.Errorf("%s %d: no state file at lock time (%v)", op, mhz, err)
			return
		}
		recorded := st.CoreLockedMHz
		if op == "lock_mem" {
			recorded = st.MemLockedMHz
		}
		if recorded != mhz {
			t.Errorf("%s %d: state file says %d at lock time", op, mhz, recorded)
		}
	}
	c, err := Acquire(ctx, dir, testGPU, spy, AcquireOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st, ok, err := readState(statePath(dir, testGPU.UUID))
	if err != nil || !ok || st.PID != os.Getpid() || st.Locked() {
		t.Fatalf("state after Acquire = %+v, %v, %v; want this pid, nothing locked", st, ok, err)
	}
	for _, mhz := range []int{1200, 1350} {
		if err := c.LockCoreClock(ctx, mhz); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.LockMemClock(ctx, 1593); err != nil {
		t.Fatal(err)
	}

	if err := c.Release(ctx); err != nil {
		t.Fatal(err)
	}
	want := []string{"lock_core 1200", "lock_core 1350", "lock_mem 1593", "reset_core", "reset_mem"}
	if got := spy.Calls(); !slices.Equal(got, want) {
		t.Fatalf("calls = %q, want %q", got, want)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Fatalf("run directory not empty after Release: %v", left)
	}
	if err := c.Release(ctx); err != nil {
		t.Fatalf("second Release: %v", err)
	}
	if err := c.LockCoreClock(ctx, 1200); !errors.Is(err, ErrReleased) {
		t.Fatalf("lock after Release: %v, want ErrReleased", err)
	}
	if got := spy.Calls(); len(got) != len(want) {
		t.Fatalf("calls after Release: %q", got)
	}
}

func TestReleaseRunsOnCancelledContextAndKeepsStateWhenResetFails(t *testing.T) {
	dir := t.TempDir()
	spy := &spyController{failOps: map[string]error{"reset_core": nvgpu.ErrNoPermission}}
	c, err := Acquire(context.Background(), dir, testGPU, spy, AcquireOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.LockCoreClock(context.Background(), 1200); err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Release(cancelled); !errors.Is(err, nvgpu.ErrNoPermission) {
		t.Fatalf("Release with failing reset: %v, want ErrNoPermission", err)
	}
	if !slices.Contains(spy.Calls(), "reset_core") {
		t.Fatalf("no reset attempted on a cancelled context: %q", spy.Calls())
	}
	entries, err := Inspect(dir)
	if err != nil || len(entries) != 1 || !entries[0].Stale || entries[0].State.CoreLockedMHz != 1200 {
		t.Fatalf("Inspect after failed release = %+v, %v; want one stale entry at 1200 MHz", entries, err)
	}
}

func TestAcquireRefusesLiveOwnerAndNamesIt(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	owner := os.Getppid() // alive for the whole test
	if err := writeState(statePath(dir, testGPU.UUID), State{PID: owner, GPUUUID: testGPU.UUID, CoreLockedMHz: 1200}); err != nil {
		t.Fatal(err)
	}
	held, err := tryLock(lockPath(dir, testGPU.UUID)) // another open file description: flock conflicts
	if err != nil {
		t.Fatal(err)
	}
	defer held.release(false)

	spy := &spyController{}
	_, err = Acquire(context.Background(), dir, testGPU, spy, AcquireOptions{})
	var busy *BusyError
	if !errors.Is(err, ErrBusy) || !errors.As(err, &busy) || busy.PID != owner {
		t.Fatalf("Acquire on a held GPU: %v, want *BusyError naming pid %d", err, owner)
	}
	if !strings.Contains(err.Error(), fmt.Sprint(owner)) || !strings.Contains(err.Error(), "--takeover") {
		t.Errorf("message %q should name the pid and --takeover", err)
	}
	if len(spy.Calls()) != 0 {
		t.Fatalf("refused Acquire touched the GPU: %q", spy.Calls())
	}
}

func TestAcquireResetsStaleClocksFirst(t *testing.T) {
	tests := []struct {
		name  string
		stale State
		want  []string
	}{
		{"core and memory", State{CoreLockedMHz: 1200, MemLockedMHz: 1593}, []string{"reset_core", "reset_mem"}},
		{"core only", State{CoreLockedMHz: 900}, []string{"reset_core"}},
		{"claimed but never locked", State{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			stale := tt.stale
			stale.PID, stale.GPUUUID = deadPID(t), testGPU.UUID
			if err := writeState(statePath(dir, testGPU.UUID), stale); err != nil {
				t.Fatal(err)
			}
			spy := &spyController{}
			c, err := Acquire(context.Background(), dir, testGPU, spy, AcquireOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Release(context.Background())
			if got := spy.Calls(); !slices.Equal(got, tt.want) {
				t.Fatalf("calls = %q, want %q", got, tt.want)
			}
			if st := c.State(); st.PID != os.Getpid() || st.Locked() {
				t.Fatalf("new state %+v", st)
			}
		})
	}
}

func TestAcquireFailsWhenStaleResetFails(t *testing.T) {
	dir := t.TempDir()
	stale := State{PID: deadPID(t), GPUUUID: testGPU.UUID, CoreLockedMHz: 1200}
	if err := writeState(statePath(dir, testGPU.UUID), stale); err != nil {
		t.Fatal(err)
	}
	spy := &spyController{failOps: map[string]error{"reset_core": nvgpu.ErrNoPermission}}
	if _, err := Acquire(context.Background(), dir, testGPU, spy, AcquireOptions{}); !errors.Is(err, nvgpu.ErrNoPermission) {
		t.Fatalf("Acquire with failing stale reset: %v", err)
	}
	if st, ok, _ := readState(statePath(dir, testGPU.UUID)); !ok || st.PID != stale.PID {
		t.Fatalf("stale state must stay for a retry, got %+v %v", st, ok)
	}
}

func TestAcquireRejectsBadInput(t *testing.T) {
	tests := []struct {
		name string
		dir  string
		gpu  GPUID
		ctl  nvgpu.Controller
	}{
		{"no controller", t.TempDir(), testGPU, nil},
		{"empty uuid", t.TempDir(), GPUID{}, &spyController{}},
		{"uuid with slash", t.TempDir(), GPUID{UUID: "../x"}, &spyController{}},
		{"empty dir", "", testGPU, &spyController{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Acquire(context.Background(), tt.dir, tt.gpu, tt.ctl, AcquireOptions{}); err == nil {
				t.Fatal("Acquire succeeded")
			}
		})
	}
}

func TestInspectReportsWithoutTouching(t *testing.T) {
	dir := t.TempDir()
	live := GPUID{Index: 0, UUID: "GPU-live"}
	stale := GPUID{Index: 1, UUID: "GPU-stale"}
	spy := &spyController{}
	c, err := Acquire(context.Background(), dir, live, spy, AcquireOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Release(context.Background())
	if err := c.LockCoreClock(context.Background(), 1200); err != nil {
		t.Fatal(err)
	}
	if err := writeState(statePath(dir, stale.UUID), State{PID: deadPID(t), GPUIndex: 1, GPUUUID: stale.UUID, MemLockedMHz: 1593}); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadDir(dir)

	entries, err := Inspect(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Entry{}
	for _, e := range entries {
		got[e.UUID] = e
	}
	if e := got[live.UUID]; !e.Held || e.Stale || e.State.CoreLockedMHz != 1200 {
		t.Errorf("live entry %+v", e)
	}
	if e := got[stale.UUID]; e.Held || !e.Stale || e.State.MemLockedMHz != 1593 {
		t.Errorf("stale entry %+v", e)
	}
	after, _ := os.ReadDir(dir)
	if len(before) != len(after) {
		t.Errorf("Inspect changed the run directory: %v -> %v", before, after)
	}
	if got := spy.Calls(); !slices.Equal(got, []string{"lock_core 1200"}) {
		t.Errorf("calls = %q", got)
	}
	if entries, err := Inspect(filepath.Join(dir, "missing")); err != nil || len(entries) != 0 {
		t.Errorf("missing dir: %v %v", entries, err)
	}
}

func TestResetAll(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	stale := GPUID{Index: 0, UUID: "GPU-stale"}
	clean := GPUID{Index: 1, UUID: "GPU-clean"}
	busy := GPUID{Index: 2, UUID: "GPU-busy"}
	if err := writeState(statePath(dir, stale.UUID), State{PID: deadPID(t), GPUUUID: stale.UUID, CoreLockedMHz: 1200}); err != nil {
		t.Fatal(err)
	}
	owner, err := Acquire(ctx, dir, busy, &spyController{}, AcquireOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Release(ctx)
	// The live owner is this process; ResetAll must still refuse it.
	spies := map[string]*spyController{}
	open := func(_ context.Context, gpu GPUID) (nvgpu.Controller, error) {
		s := &spyController{}
		spies[gpu.UUID] = s
		return s, nil
	}
	results, err := ResetAll(ctx, dir, []GPUID{stale, clean, busy}, open, nil)
	if !errors.Is(err, ErrBusy) {
		t.Fatalf("ResetAll error = %v, want ErrBusy for the owned GPU", err)
	}
	if len(results) != 3 {
		t.Fatalf("results %+v", results)
	}
	if r := results[0]; !r.Found || r.Err != nil || r.Previous.CoreLockedMHz != 1200 {
		t.Errorf("stale result %+v", r)
	}
	if r := results[1]; r.Found || r.Err != nil {
		t.Errorf("clean result %+v", r)
	}
	if r := results[2]; !errors.Is(r.Err, ErrBusy) {
		t.Errorf("busy result %+v", r)
	}
	for _, g := range []GPUID{stale, clean} {
		s := spies[g.UUID]
		if s == nil || !slices.Equal(s.Calls(), []string{"reset_core", "reset_mem"}) || !s.closed {
			t.Errorf("%s: controller %+v, want both clocks reset and closed", g, s)
		}
	}
	if spies[busy.UUID] != nil {
		t.Errorf("busy GPU was opened")
	}
	if _, ok, _ := readState(statePath(dir, stale.UUID)); ok {
		t.Errorf("stale state file not cleared")
	}
}

func TestRestoreAfterOnlyTouchesTheDeadWorkersFiles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	worker := deadPID(t)
	mine := GPUID{Index: 0, UUID: "GPU-mine"}
	other := GPUID{Index: 1, UUID: "GPU-other"}
	if err := writeState(statePath(dir, mine.UUID), State{PID: worker, GPUUUID: mine.UUID, MemLockedMHz: 1593}); err != nil {
		t.Fatal(err)
	}
	if err := writeState(statePath(dir, other.UUID), State{PID: deadPID(t), GPUUUID: other.UUID, CoreLockedMHz: 1200}); err != nil {
		t.Fatal(err)
	}
	spies := map[string]*spyController{}
	open := func(_ context.Context, gpu GPUID) (nvgpu.Controller, error) {
		s := &spyController{}
		spies[gpu.UUID] = s
		return s, nil
	}
	restored, err := restoreAfter(ctx, dir, worker, open, slog.New(slog.DiscardHandler))
	if err != nil || len(restored) != 1 || restored[0].GPUUUID != mine.UUID {
		t.Fatalf("restoreAfter = %+v, %v", restored, err)
	}
	if s := spies[mine.UUID]; s == nil || !slices.Equal(s.Calls(), []string{"reset_mem"}) {
		t.Fatalf("worker's GPU: %+v, want only the memory clock reset", s)
	}
	if spies[other.UUID] != nil {
		t.Fatal("another process's GPU was touched")
	}
	if _, ok, _ := readState(statePath(dir, other.UUID)); !ok {
		t.Fatal("another process's state file was removed")
	}
}

func TestPidAliveTreatsZombiesAsDead(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	pid := cmd.Process.Pid
	if !pidAlive(pid) {
		t.Fatal("running child reported dead")
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	// Not reaped yet: a zombie until cmd.Wait.
	deadline := time.Now().Add(5 * time.Second)
	for pidAlive(pid) {
		if time.Now().After(deadline) {
			t.Fatal("killed, unreaped child still reported alive")
		}
		time.Sleep(time.Millisecond)
	}
	if pidAlive(0) || pidAlive(-1) {
		t.Fatal("non-positive pids reported alive")
	}
}
