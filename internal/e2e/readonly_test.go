package e2e

import (
	"encoding/json"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/gputune/gputune/nvgpu/recordgpu"
)

// Read-only modes get no controller: with the recording fake as the GPU,
// the call log must stay empty whatever they do.
func TestReadOnlyModesNeverCallSetters(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args func(r *rig, metricsURL string) []string
		// check looks at a successful run's output.
		check func(t *testing.T, stdout, stderr string)
	}{
		{
			name: "probe",
			args: func(_ *rig, u string) []string { return []string{"probe", "--metrics-url", u} },
			check: func(t *testing.T, stdout, _ string) {
				if !strings.Contains(stdout, recordgpu.UUID(0)) {
					t.Errorf("probe does not show the fake GPU:\n%s", stdout)
				}
			},
		},
		{
			name: "dry-run",
			args: func(r *rig, u string) []string {
				return append(r.tuneArgs(u), "--dry-run", "--duration", "1500ms")
			},
			check: func(t *testing.T, stdout, _ string) {
				lines := decodeLines(t, stdout)
				if len(lines) == 0 {
					t.Fatal("--dry-run wrote no decisions")
				}
				decided := false
				for _, l := range lines {
					if l.Actuation != "readonly" {
						t.Fatalf("--dry-run decision with actuation %q, want readonly", l.Actuation)
					}
					// The static policy decides from the first window on.
					// (freq_mhz is what was locked, so it stays 0 here.)
					decided = decided || l.Mode == "exploit"
				}
				if !decided {
					t.Errorf("--dry-run never left warm-up: the loop did not run far enough to prove anything")
				}
			},
		},
		{
			name: "demo",
			args: func(r *rig, _ string) []string {
				return []string{"--demo", "--no-tui", "--duration", "1m", "--speed", "60", "--data-dir", r.dataDir}
			},
			check: func(t *testing.T, stdout, _ string) {
				locked := false
				for _, l := range decodeLines(t, stdout) {
					locked = locked || l.FreqMHz != 0
				}
				if !locked {
					t.Errorf("the demo never commanded a clock: the test proves nothing")
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newRig(t)
			code, stdout, stderr := run(t, r.env(), tt.args(r, newFakeVLLM(t).url())...)
			if code != 0 {
				t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
			}
			r.assertNoSetterCalls()
			tt.check(t, stdout, stderr)
		})
	}
}

// A stale lock left by a killed gputune is reported by the read-only modes,
// never reset: resetting is a write.
func TestReadOnlyModesReportStaleLockWithoutResetting(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	vllm := newFakeVLLM(t)
	tu := r.startTuner(nil, vllm.url())
	signal(t, -tu.pid(), syscall.SIGKILL)
	tu.exit()
	waitFor(t, "the worker to die", nil, func() bool { return syscall.Kill(tu.worker, 0) != nil })
	before := len(r.calls())

	code, stdout, stderr := run(t, r.env(), "probe", "--metrics-url", vllm.url())
	if code != 0 {
		t.Errorf("probe: exit %d\n%s%s", code, stdout, stderr)
	}
	if want := "stale lock from pid " + strconv.Itoa(tu.worker); !strings.Contains(stdout, want) || !strings.Contains(stdout, "gputune reset") {
		t.Errorf("probe does not report %q with the fix:\n%s", want, stdout)
	}
	code, stdout, stderr = run(t, r.env(), append(r.tuneArgs(vllm.url()), "--dry-run", "--duration", "500ms")...)
	if code != 0 {
		t.Errorf("--dry-run: exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "stale clock lock") {
		t.Errorf("--dry-run does not report the stale lock:\n%s", stderr)
	}
	if calls := r.calls(); len(calls) != before {
		t.Fatalf("a read-only mode touched the GPU:\n%s", formatCalls(calls[before:]))
	}
	if owner := r.statePID(0); owner != tu.worker {
		t.Fatalf("the stale state file changed: owner %d, want %d", owner, tu.worker)
	}
}

// decision is the part of a headless JSON line the tests read.
type decision struct {
	Time      string             `json:"time"`
	Round     int                `json:"round"`
	Mode      string             `json:"mode"`
	Actuation string             `json:"actuation"`
	FreqMHz   int                `json:"freq_mhz"`
	HeldMHz   *int               `json:"held_mhz"`
	SMMHz     int                `json:"sm_clock_mhz"`
	PowerW    *float64           `json:"power_w"`
	TPOTTailS *float64           `json:"tpot_p90_s"`
	Features  map[string]float64 `json:"features"`
}

// decodeLines decodes every stdout line as one JSON object.
func decodeLines(t *testing.T, stdout string) []decision {
	t.Helper()
	var out []decision
	for i, line := range strings.Split(strings.TrimSuffix(stdout, "\n"), "\n") {
		if line == "" {
			continue
		}
		var d decision
		if err := json.Unmarshal([]byte(line), &d); err != nil {
			t.Fatalf("stdout line %d is not one JSON object: %v\n%s", i+1, err, line)
		}
		out = append(out, d)
	}
	return out
}
