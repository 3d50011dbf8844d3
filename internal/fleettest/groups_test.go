package fleettest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/gputune/gputune/nvgpu/recordgpu"
	"github.com/gputune/gputune/sim"
)

// TestTensorParallelGroupSharesOneClock runs the real binary on the two
// recordgpu fake GPUs configured as one tensor-parallel group, against a
// simulated vLLM server in real time. Every clock the loop sets must reach
// both GPUs together, the JSON lines must show one loop for the group, and
// both GPUs must be given back at the end.
func TestTensorParallelGroupSharesOneClock(t *testing.T) {
	bin := gputune(t)
	dir := t.TempDir()
	live, err := sim.StartLive(t.Context(), sim.Config{Workload: sim.Workload{Name: sim.WorkloadPoisson, Rate: 8, Seed: 1}},
		sim.LiveOptions{Speed: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()

	cfg := fmt.Sprintf("[gpu]\ndevices = \"all\"\ngroups = [[0, 1]]\nrun_dir = %q\n", filepath.Join(dir, "run"))
	cfgPath := filepath.Join(dir, "tuner.toml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	calls := filepath.Join(dir, "calls.log")
	cmd := exec.CommandContext(t.Context(), bin, "--no-tui", "--config", cfgPath, "--metrics-url", live.URL(),
		"--data-dir", filepath.Join(dir, "data"), "--duration", "5s")
	cmd.Env = cleanEnv(recordgpu.EnvVar + "=" + calls)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("gputune: %v\n%s", err, tail(stderr.String()))
	}

	wantUUID := recordgpu.UUID(0) + "+" + recordgpu.UUID(1)
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	lines := 0
	for sc.Scan() {
		var l struct {
			GPU  int    `json:"gpu"`
			UUID string `json:"gpu_uuid"`
		}
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("not a JSON line: %v", err)
		}
		if l.GPU != 0 || l.UUID != wantUUID {
			t.Fatalf("JSON line for GPU %d %s; want the group, GPU 0 %s", l.GPU, l.UUID, wantUUID)
		}
		lines++
	}
	if lines == 0 {
		t.Fatalf("no JSON lines\n%s", tail(stderr.String()))
	}

	recorded, err := recordgpu.ReadCalls(calls)
	if err != nil {
		t.Fatal(err)
	}
	// Each lock is issued to GPU 0 then GPU 1 in one fan-out, so the core
	// locks come in pairs with the same clock.
	var locks []recordgpu.Call
	for _, c := range recorded {
		if c.Op == recordgpu.OpLockCore && c.Err == "" {
			locks = append(locks, c)
		}
	}
	if len(locks) < 2 {
		t.Fatalf("%d core locks in %s: the loop never tuned the group\n%s", len(locks), 5*time.Second, tail(stderr.String()))
	}
	t.Logf("%d core locks over the two GPUs", len(locks))
	if len(locks)%2 != 0 {
		t.Errorf("%d core locks: not in pairs", len(locks))
	}
	for i := 0; i+1 < len(locks); i += 2 {
		a, b := locks[i], locks[i+1]
		if a.Index != 0 || b.Index != 1 || a.MHz != b.MHz {
			t.Errorf("locks %d and %d: GPU %d at %d MHz, GPU %d at %d MHz; want both GPUs at one clock", i, i+1, a.Index, a.MHz, b.Index, b.MHz)
		}
	}
	for uuid, c := range recordgpu.Replay(recorded) {
		if c.Locked() {
			t.Errorf("%s left locked at %+v", uuid, c)
		}
	}
}
