package e2e

import (
	"bufio"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDemoOrderlyStopExitsZero: `gputune --demo --no-tui` stopped by
// SIGTERM, SIGINT or SIGHUP exits 0 after saying the clocks were given back,
// so `systemctl stop` and a pod deletion are not failures.
func TestDemoOrderlyStopExitsZero(t *testing.T) {
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			if testing.Short() {
				t.Skip("out-of-process test of the gputune binary")
			}
			p := startIn(t, demoEnv(), nil, demoArgs(t.TempDir(), "1h", "--speed", "1")...)
			waitFor(t, "the first decision", p, func() bool { return strings.Contains(p.Stdout.String(), "\n") })
			signal(t, p.pid(), sig)
			if code := p.exit(); code != 0 {
				t.Errorf("exit status %d after %s, want 0\n%s", code, sig, p.Stderr)
			}
			if !strings.Contains(p.Stderr.String(), "every clock given back") {
				t.Errorf("stderr does not say the clocks were given back:\n%s", p.Stderr)
			}
		})
	}
}

// TestDryRunLogsMetricsErrorOnceAndWhenItClears: a refused metrics URL is on
// stderr within 2 s, once however many scrapes fail, and its end is logged
// when the server comes up.
func TestDryRunLogsMetricsErrorOnceAndWhenItClears(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	// A port nothing listens on yet; the server starts on it later.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	url := "http://" + addr + "/metrics"
	p := r.start(nil, append(r.tuneArgs(url), "--dry-run")...)
	waitFor(t, "the metrics error on stderr", p, func() bool { return strings.Contains(p.Stderr.String(), "connection refused") })
	// The first failed scrape is logged: measured on the log's own clock,
	// from the loop's start line, so a slow machine starting the binary
	// does not count.
	started, failed := logTime(t, p.Stderr.String(), "scraping the inference server"), logTime(t, p.Stderr.String(), "connection refused")
	if took := failed.Sub(started); took > 2*time.Second {
		t.Errorf("the error reached the log %s after the loop started, want at most 2 s", took)
	}
	// Many cycles with the error in force: the JSON lines carry it each
	// cycle, the log once.
	waitFor(t, "five cycles reporting the error", p, func() bool { return countLines(p.Stdout.String(), `"error":"metrics:`) >= 5 })
	if n := countLines(p.Stderr.String(), "connection refused"); n != 1 {
		t.Errorf("the refused URL is logged %d times, want once:\n%s", n, p.Stderr)
	}

	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("port %s taken meanwhile: %v", addr, err)
	}
	vllm := &fakeVLLM{running: fakeRunning}
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: http.HandlerFunc(vllm.serve)}}
	srv.Start()
	t.Cleanup(srv.Close)
	waitFor(t, "the error's end on stderr", p, func() bool { return strings.Contains(p.Stderr.String(), "error cleared") })
	signal(t, p.pid(), syscall.SIGTERM)
	if code := p.exit(); code != 0 {
		t.Errorf("exit status %d, want 0\n%s", code, p.Stderr)
	}
}

// logTime is the time= of the first log line containing substr.
func logTime(t *testing.T, log, substr string) time.Time {
	t.Helper()
	for _, line := range strings.Split(log, "\n") {
		if !strings.Contains(line, substr) {
			continue
		}
		field, _, _ := strings.Cut(strings.TrimPrefix(line, "time="), " ")
		at, err := time.Parse(time.RFC3339Nano, field)
		if err != nil {
			t.Fatalf("no time= in %q: %v", line, err)
		}
		return at
	}
	t.Fatalf("no log line contains %q:\n%s", substr, log)
	return time.Time{}
}

func countLines(text, substr string) int {
	n := 0
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		if strings.Contains(sc.Text(), substr) {
			n++
		}
	}
	return n
}

// TestVersionFlag: --version prints the version and commit the linker
// stamped in (as the Dockerfile does), and without them still names both.
func TestVersionFlag(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds a binary")
	}
	code, stdout, stderr := run(t, demoEnv(), "--version")
	if code != 0 || !strings.HasPrefix(stdout, "gputune ") || !strings.Contains(stdout, "commit ") {
		t.Errorf("gputune --version: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	bin := filepath.Join(t.TempDir(), "gputune")
	const pkg = "github.com/gputune/gputune/internal/buildinfo"
	build := exec.CommandContext(t.Context(), "go", "build", "-o", bin,
		"-ldflags", "-X "+pkg+".version=v9.8.7 -X "+pkg+".revision=0123abcd", "github.com/gputune/gputune")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.CommandContext(t.Context(), bin, "--version").Output()
	if err != nil || !strings.HasPrefix(string(out), "gputune v9.8.7 (commit 0123abcd") {
		t.Errorf("stamped --version = %q, %v", out, err)
	}
}

// TestFailedResetExitsThree: when the GPU stops answering (the fake's call
// log replaced by a directory, so every NVML call fails), the read errors
// reach the log, the give-back fails in the worker and in the supervisor,
// and gputune exits 3: clocks may still be locked. `gputune reset` clears
// them once the GPU answers again.
func TestFailedResetExitsThree(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	tu := r.startTuner(nil, newFakeVLLM(t).url())
	saved := r.callLog + ".saved"
	if err := os.Rename(r.callLog, saved); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(r.callLog, 0o755); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the NVML read error in the log", tu.proc, func() bool {
		return strings.Contains(tu.Stderr.String(), "what=nvml")
	})
	signal(t, tu.pid(), syscall.SIGTERM)
	if code := tu.exit(); code != 3 {
		t.Errorf("exit status %d, want 3 (clocks may still be locked)\n%s", code, tu.Stderr)
	}
	if !strings.Contains(tu.Stderr.String(), "clocks may still be locked") {
		t.Errorf("stderr does not say the clocks may still be locked:\n%s", tu.Stderr)
	}
	if n := countLines(tu.Stderr.String(), "what=nvml"); n != 1 {
		t.Errorf("the NVML error is logged %d times, want once", n)
	}

	if err := os.Remove(r.callLog); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(saved, r.callLog); err != nil {
		t.Fatal(err)
	}
	if code, stdout, stderr := run(t, r.env(), "reset", "--gpu", "0"); code != 0 {
		t.Fatalf("gputune reset --gpu 0: exit %d\n%s%s", code, stdout, stderr)
	}
	calls := r.calls()
	r.assertRestored(calls[len(calls)-1].PID)
}

// TestProbeJSONSaysWhichGputune: probe --json names the binary's version
// and commit next to the GPU it saw.
func TestProbeJSONSaysWhichGputune(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	_, stdout, stderr := run(t, r.env(), "probe", "--json", "--metrics-url", newFakeVLLM(t).url())
	var rep struct {
		Version  string `json:"version"`
		Revision string `json:"revision"`
		GPU      struct {
			UUID string `json:"uuid"`
		} `json:"gpu"`
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("probe --json: %v\n%s%s", err, stdout, stderr)
	}
	if rep.Version == "" || rep.Revision == "" || rep.GPU.UUID == "" {
		t.Errorf("probe --json lacks version, revision or the GPU UUID: %+v", rep)
	}
}

// TestTakenListenPortIsBadConfiguration: a --listen port another exporter
// holds is exit 2 with a message naming --listen, so systemd's
// RestartPreventExitStatus=2 stops it from looping.
func TestTakenListenPortIsBadConfiguration(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("out-of-process test of the gputune binary")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	code, _, stderr := run(t, demoEnv(), demoArgs(t.TempDir(), "1m", "--listen", ln.Addr().String())...)
	if code != 2 || !strings.Contains(stderr, "--listen "+ln.Addr().String()) {
		t.Errorf("exit %d, want 2 with a message naming --listen:\n%s", code, stderr)
	}
}
