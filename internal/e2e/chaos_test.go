package e2e

// The chaos test: each attack of docs/restore.md's attack list run against
// the real binary, on the recording fake GPU and a fake vLLM that turns
// hostile mid-run. Every attack ends by checking that no clock is left
// locked and that no file outside the run, data and log directories
// changed.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gputune/gputune/internal/restore"
	"github.com/gputune/gputune/internal/testkit"
	"github.com/gputune/gputune/nvgpu/recordgpu"
	"golang.org/x/sys/unix"
)

// hostileBody would retitle the terminal and clear the screen if printed raw.
const hostileBody = "\x1b]0;owned\x07\x1b[2J\x1b[Hpwned"

// Behaviours of the chaos server.
const (
	serveNormal int32 = iota
	serveHostile500
	serveHTML
	serveNaN
	servePathological
	serveHang
)

// chaosServer is a fake vLLM whose behaviour the test switches mid-run.
type chaosServer struct {
	srv          *httptest.Server
	mode         atomic.Int32
	pathological []byte
	start        time.Time
}

func newChaosServer(t *testing.T) *chaosServer {
	t.Helper()
	c := &chaosServer{start: time.Now(), pathological: pathologicalExposition(15 << 20)}
	c.srv = httptest.NewServer(http.HandlerFunc(c.serve))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *chaosServer) url() string { return c.srv.URL + "/metrics" }

func (c *chaosServer) serve(w http.ResponseWriter, r *http.Request) {
	switch c.mode.Load() {
	case serveHostile500:
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprint(w, hostileBody)
	case serveHTML:
		fmt.Fprint(w, "<!DOCTYPE html><html><body>"+hostileBody+"</body></html>")
	case serveNaN:
		fmt.Fprint(w, strings.ReplaceAll(vllmExposition(time.Since(c.start).Seconds(), fakeRunning), " 0.3\n", " NaN\n"))
	case servePathological:
		_, _ = w.Write(c.pathological)
	case serveHang:
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	default:
		fmt.Fprint(w, vllmExposition(time.Since(c.start).Seconds(), fakeRunning))
	}
}

// pathologicalExposition is a vLLM exposition of about size bytes whose TTFT
// histogram has a bucket layout per series.
func pathologicalExposition(size int) []byte {
	var b bytes.Buffer
	b.WriteString("# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running{engine=\"0\",model_name=\"" + hostileBody + "\"} 3\n")
	b.WriteString("# TYPE vllm:time_to_first_token_seconds histogram\n")
	for s := 0; b.Len() < size; s++ {
		for i := range 20 {
			fmt.Fprintf(&b, "vllm:time_to_first_token_seconds_bucket{engine=\"%d\",le=\"%g\"} %d\n", s, float64(s)*1e-5+float64(i)*0.05, i)
		}
		fmt.Fprintf(&b, "vllm:time_to_first_token_seconds_bucket{engine=\"%d\",le=\"+Inf\"} 20\n", s)
	}
	return b.Bytes()
}

// chaosRig is a rig whose root directory (holding run/ and data/) is
// watched: nothing outside run/ and data/ may change.
type chaosRig struct {
	*rig
	root    string
	outside string // a directory of the attacker's: symlink targets live here
	before  map[string]string
}

func newChaosRig(t *testing.T) *chaosRig {
	t.Helper()
	r := newRig(t)
	c := &chaosRig{rig: r, root: filepath.Dir(r.runDir), outside: t.TempDir()}
	if err := os.WriteFile(filepath.Join(c.outside, "precious"), []byte("keep\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return c
}

// config writes the run's tuner.toml: a 100 ms loop whose watchdog bounds a
// stopped worker at 10 × 300 ms.
func (c *chaosRig) args(metricsURL string, extra ...string) []string {
	c.t.Helper()
	if err := os.MkdirAll(c.dataDir, 0o755); err != nil {
		c.t.Fatal(err)
	}
	cfg := filepath.Join(c.dataDir, "tuner.toml")
	text := "[control]\nperiod = \"100ms\"\nwarmup_windows = 2\nwatchdog = \"300ms\"\n[scrape]\ntimeout = \"75ms\"\n"
	if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
		c.t.Fatal(err)
	}
	args := []string{"--no-tui", "--config", cfg, "--metrics-url", metricsURL,
		"--data-dir", c.dataDir, "--log-dir", filepath.Join(c.dataDir, "logs"),
		"--policy", "static:" + strconv.Itoa(staticMHz), "--duration", "2m"}
	return append(args, extra...)
}

// snapshot records every file under the root and the attacker's directory
// except run/, data/ and the fake GPU's call log (the test's instrument).
func (c *chaosRig) snapshot() map[string]string {
	c.t.Helper()
	files := map[string]string{}
	for _, top := range []string{c.root, c.outside} {
		_ = filepath.WalkDir(top, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			if path == c.runDir || path == c.dataDir {
				return filepath.SkipDir
			}
			if path == c.callLog || path == top {
				return nil
			}
			fi, err := os.Lstat(path)
			if err != nil {
				return nil
			}
			files[path] = fmt.Sprintf("%v %d %d", fi.Mode(), fi.Size(), fi.ModTime().UnixNano())
			return nil
		})
	}
	return files
}

func (c *chaosRig) watch() { c.before = c.snapshot() }

// assertNothingOutsideChanged compares with the snapshot taken by watch.
func (c *chaosRig) assertNothingOutsideChanged() {
	c.t.Helper()
	after := c.snapshot()
	for path, was := range c.before {
		if now, ok := after[path]; !ok || now != was {
			c.t.Errorf("%s changed outside the run, data and log directories: %q -> %q", path, was, now)
		}
	}
	for path := range after {
		if _, ok := c.before[path]; !ok {
			c.t.Errorf("%s created outside the run, data and log directories", path)
		}
	}
}

// assertNothingLocked checks from the call log that no clock is locked.
func (c *chaosRig) assertNothingLocked() {
	c.t.Helper()
	calls, err := recordgpu.ReadCalls(c.callLog)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	if err != nil {
		c.t.Fatal(err)
	}
	for uuid, st := range recordgpu.Replay(calls) {
		if st.Locked() {
			c.t.Fatalf("%s still locked: %+v\ncalls:\n%s", uuid, st, formatCalls(calls))
		}
	}
}

func (c *chaosRig) assertUntouchedGPU() {
	c.t.Helper()
	if calls, err := recordgpu.ReadCalls(c.callLog); err == nil && len(calls) > 0 {
		c.t.Fatalf("the GPU was touched:\n%s", formatCalls(calls))
	}
}

func TestChaos(t *testing.T) {
	t.Parallel()
	attacks := []struct {
		name string
		run  func(t *testing.T, c *chaosRig)
	}{
		{"server turns hostile mid-run", func(t *testing.T, c *chaosRig) {
			srv := newChaosServer(t)
			p := c.start(nil, c.args(srv.url())...)
			worker := c.waitLocked(p, 0, 0, staticMHz)
			locks := len(c.calls())
			// Each broken behaviour for a while, past stale_after (3 s) in
			// all: the loop enters nodata and gives the clock back.
			for _, m := range []int32{serveHostile500, serveHTML, serveNaN, servePathological, serveHang} {
				srv.mode.Store(m)
				time.Sleep(800 * time.Millisecond)
			}
			waitFor(t, "the clock given back while metrics are broken", p, func() bool {
				return !recordgpu.Replay(c.calls())[recordgpu.UUID(0)].Locked()
			})
			srv.mode.Store(serveNormal)
			c.waitLocked(p, locks, 0, staticMHz) // and taken again once they return
			signal(t, p.pid(), syscall.SIGTERM)
			p.exit()
			c.assertRestored(worker)
			if strings.ContainsAny(p.Stderr.String()+p.Stdout.String(), "\x1b\x07") {
				t.Errorf("a control character from the server reached stdout or stderr")
			}
		}},
		{"stderr pipe closed, then the worker killed", func(t *testing.T, c *chaosRig) {
			srv := newChaosServer(t)
			pr, pw, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(gputuneBin, c.args(srv.url())...)
			cmd.Env, cmd.Dir, cmd.Stderr = c.env(), t.TempDir(), pw
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			pw.Close()
			done := make(chan struct{})
			go func() { _ = cmd.Wait(); close(done) }()
			t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); <-done })
			go func() { _, _ = bufio.NewReader(pr).ReadString('\n') }() // read a little, as tee would
			var worker int
			waitFor(t, "the worker's lock", nil, func() bool {
				calls, _ := recordgpu.ReadCalls(c.callLog)
				if len(calls) > 0 && calls[0].Op == recordgpu.OpLockCore {
					worker = calls[0].PID
					return true
				}
				return false
			})
			pr.Close() // the reader leaves
			signal(t, worker, syscall.SIGKILL)
			select {
			case <-done:
			case <-time.After(waitLimit):
				t.Fatal("supervisor did not exit")
			}
			if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				t.Fatalf("supervisor died of %v", ws.Signal())
			}
			c.assertRestored(cmd.Process.Pid)
		}},
		{"worker stopped with SIGSTOP", func(t *testing.T, c *chaosRig) {
			srv := newChaosServer(t)
			p := c.start(nil, c.args(srv.url())...)
			worker := c.waitLocked(p, 0, 0, staticMHz)
			signal(t, worker, syscall.SIGSTOP)
			p.exit() // the supervisor kills it after 10 × watchdog = 3 s
			if !strings.Contains(p.Stderr.String(), "stopped") {
				t.Errorf("the supervisor did not say why it killed the worker")
			}
			c.assertRestored(p.pid())
		}},
		{"--takeover of a planted state file naming another process", func(t *testing.T, c *chaosRig) {
			victim, exited := testkit.StartBystander(t)
			if err := os.MkdirAll(c.runDir, 0o700); err != nil {
				t.Fatal(err)
			}
			st, _ := json.Marshal(restore.State{PID: victim, GPUUUID: recordgpu.UUID(0), CoreLockedMHz: 1500})
			if err := os.WriteFile(filepath.Join(c.runDir, recordgpu.UUID(0)+".json"), st, 0o600); err != nil {
				t.Fatal(err)
			}
			lk, err := os.OpenFile(filepath.Join(c.runDir, recordgpu.UUID(0)+".lock"), os.O_CREATE|os.O_RDWR, 0o600)
			if err != nil {
				t.Fatal(err)
			}
			defer lk.Close()
			if err := unix.Flock(int(lk.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
				t.Fatal(err)
			}
			c.watch()
			code, _, stderr := run(t, c.env(), c.args(newChaosServer(t).url(), "--takeover")...)
			if code == 0 || !strings.Contains(stderr, "--takeover refused") {
				t.Errorf("exit %d, want a refusal that says why:\n%s", code, stderr)
			}
			select {
			case <-exited:
				t.Fatal("the planted pid was signalled")
			case <-time.After(100 * time.Millisecond):
			}
			c.assertUntouchedGPU()
		}},
		{"world-writable run directory", func(t *testing.T, c *chaosRig) {
			if err := os.MkdirAll(c.runDir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(c.runDir, 0o777); err != nil {
				t.Fatal(err)
			}
			c.watch()
			code, _, stderr := run(t, c.env(), c.args(newChaosServer(t).url())...)
			if code != 1 || !strings.Contains(stderr, "writable by group or others") {
				t.Errorf("exit %d, want 1 and the reason:\n%s", code, stderr)
			}
			c.assertUntouchedGPU()
		}},
		{"dangling lock-file symlink", func(t *testing.T, c *chaosRig) {
			if err := os.MkdirAll(c.runDir, 0o700); err != nil {
				t.Fatal(err)
			}
			target := filepath.Join(c.outside, "created-by-root")
			if err := os.Symlink(target, filepath.Join(c.runDir, recordgpu.UUID(0)+".lock")); err != nil {
				t.Fatal(err)
			}
			c.watch()
			code, _, stderr := run(t, c.env(), c.args(newChaosServer(t).url())...)
			if code == 0 || !strings.Contains(stderr, "symbolic link") {
				t.Errorf("exit %d, want a refusal naming the symlink:\n%s", code, stderr)
			}
			c.assertUntouchedGPU()
		}},
		{"FIFO named like a state file", func(t *testing.T, c *chaosRig) {
			if err := os.MkdirAll(c.runDir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := syscall.Mkfifo(filepath.Join(c.runDir, recordgpu.UUID(0)+".json"), 0o600); err != nil {
				t.Fatal(err)
			}
			c.watch()
			code, _, stderr := run(t, c.env(), c.args(newChaosServer(t).url())...)
			if code == 0 || !strings.Contains(stderr, "FIFO") {
				t.Errorf("exit %d, want a refusal naming the FIFO:\n%s", code, stderr)
			}
			c.assertUntouchedGPU()
		}},
	}
	for _, a := range attacks {
		t.Run(a.name, func(t *testing.T) {
			t.Parallel()
			c := newChaosRig(t)
			c.watch()
			a.run(t, c)
			c.assertNothingLocked()
			c.assertNothingOutsideChanged()
		})
	}
}

// The owner check does not stop a real takeover: a live gputune worker is
// verified (its start time and GPUTUNE_WORKER=1), asked to stop, gives its
// clock back, and the new instance locks.
func TestTakeoverOfALiveGputuneStillWorks(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	srv := newFakeVLLM(t)
	first := r.startTuner(nil, srv.url())
	before := len(r.calls())
	second := r.start(nil, r.tuneArgs(srv.url(), "--takeover")...)
	// Asked to stop by the takeover, it gives its clock back: an orderly
	// stop, exit status 0 in the README's table.
	if code := first.exit(); code != 0 {
		t.Errorf("the taken-over instance exited %d; want 0, an orderly stop", code)
	}
	secondWorker := r.waitLocked(second, before, 0, staticMHz)
	calls := r.calls()
	if !slices.ContainsFunc(calls[before:], func(c recordgpu.Call) bool {
		return c.PID == first.worker && c.Op == recordgpu.OpResetCore
	}) {
		t.Fatalf("the first worker did not give its clock back before the takeover\ncalls:\n%s", formatCalls(calls))
	}
	signal(t, second.pid(), syscall.SIGTERM)
	second.exit()
	r.assertRestored(secondWorker)
}
