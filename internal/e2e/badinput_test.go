package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Bad input exits 2 with a message naming what to fix, and touches no GPU.
func TestBadInputExits2AndSaysWhatToFix(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		args   []string
		config string // written to a file passed with --config
		want   []string
	}{
		{name: "unknown flag", args: []string{"--no-tui", "--bogus"}, want: []string{"-bogus"}},
		{name: "unknown policy", args: []string{"--no-tui", "--policy", "fastest"}, want: []string{`"fastest"`, "static:MHZ"}},
		{name: "static without a clock", args: []string{"--no-tui", "--policy", "static:abc"}, want: []string{"static:abc", "static:1500"}},
		{name: "static clock the GPU lacks", args: []string{"--no-tui", "--policy", "static:1201"}, want: []string{"static:1201", "1200 MHz"}},
		{name: "gpu not an index", args: []string{"--no-tui", "--gpu", "zero"}, want: []string{`"zero"`, "0,1 or all"}},
		{name: "negative gpu", args: []string{"--no-tui", "--gpu", "-1"}, want: []string{`"-1"`}},
		{name: "unknown config key", config: "[control]\nwarmup_window = 2\n", args: []string{"--no-tui"}, want: []string{"control.warmup_window", "tuner.toml"}},
		{name: "config value out of range", config: "[control]\nperiod = \"1ms\"\n", args: []string{"--no-tui"}, want: []string{"control.period", "50ms"}},
		{name: "probe gpu", args: []string{"probe", "--gpu", "-1"}, want: []string{"--gpu"}},
		{name: "reset gpu", args: []string{"reset", "--gpu", "first"}, want: []string{`"first"`}},
		{name: "unknown command", args: []string{"tune"}, want: []string{`"tune"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newRig(t)
			args := append([]string{"--metrics-url", newFakeVLLM(t).url(), "--data-dir", r.dataDir}, tt.args...)
			if tt.args[0] == "probe" || tt.args[0] == "reset" || tt.args[0] == "tune" {
				args = tt.args
			}
			if tt.config != "" {
				path := filepath.Join(t.TempDir(), "tuner.toml")
				if err := os.WriteFile(path, []byte(tt.config), 0o644); err != nil {
					t.Fatal(err)
				}
				args = append(args, "--config", path)
			}
			code, _, stderr := run(t, r.env(), args...)
			if code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("the message does not name %q:\n%s", w, stderr)
				}
			}
			if strings.Contains(stderr, "panic") {
				t.Errorf("panicked:\n%s", stderr)
			}
			r.assertNoSetterCalls()
			r.assertNoStateFile()
		})
	}
}

// `gputune probe` on a machine with no GPU driver and no server: exit 1,
// and each part says what is wrong.
func TestProbeWithoutGPUOrServer(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := run(t, demoEnv(), "probe", "--metrics-url", "http://127.0.0.1:1/metrics")
	if !strings.Contains(stdout, "no NVIDIA driver") {
		t.Skipf("this machine has an NVIDIA driver, the no-GPU case cannot be shown:\n%s", stdout)
	}
	if code != 1 {
		t.Errorf("exit %d, want 1\n%s", code, stderr)
	}
	for _, w := range []string{"gputune --demo", "http://127.0.0.1:1/metrics", "connection refused", "the GPU part failed", "the metrics part failed"} {
		if !strings.Contains(stdout, w) {
			t.Errorf("probe's report does not say %q:\n%s", w, stdout)
		}
	}
	if n := strings.Count(stdout, "gputune --demo"); n != 1 {
		t.Errorf("the no-driver hint appears %d times, want once:\n%s", n, stdout)
	}
}
